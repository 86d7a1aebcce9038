#![no_main]
//! Any bytes given to the NIfTI reader must give a volume or an error: never
//! a panic, a hang or an allocation the input cannot justify.

use libfuzzer_sys::fuzz_target;
use rayseg::volume::{LoadOptions, nifti::load_nifti_bytes};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = load_nifti_bytes(data, Path::new("fuzz.nii"), &LoadOptions::default());
});
