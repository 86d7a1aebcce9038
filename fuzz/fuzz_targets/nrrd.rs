#![no_main]
//! Any bytes given to the NRRD reader must give a volume or an error: never
//! a panic, a hang or an allocation the input cannot justify. A detached
//! data file named in the header is looked up beside a path that does not
//! exist, so only attached data is read.

use libfuzzer_sys::fuzz_target;
use rayseg::volume::{LoadOptions, nrrd::load_nrrd_bytes};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = load_nrrd_bytes(data, Path::new("/nonexistent/fuzz.nrrd"), &LoadOptions::default());
});
