#![no_main]
//! Any bytes given to the MetaImage reader must give a volume or an error: never
//! a panic, a hang or an allocation the input cannot justify. A detached
//! data file named in the header is looked up beside a path that does not
//! exist, so only attached data is read.

use libfuzzer_sys::fuzz_target;
use rayseg::volume::{LoadOptions, metaimage::load_metaimage_bytes};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = load_metaimage_bytes(data, Path::new("/nonexistent/fuzz.mha"), &LoadOptions::default());
});
