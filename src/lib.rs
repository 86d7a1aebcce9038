//! rayseg: a headless core for loading, rendering and annotating CT/MR volumes.
//! The app and the CLI are thin layers over these modules.

pub mod annotate;
pub mod app;
pub mod atomic_file;
pub mod cohort;
pub mod gpu;
pub mod prefault;
pub mod register;
pub mod render;
pub mod shader_variants;
pub mod volume;
