//! GPU rendering passes (compute shaders; label surfaces are rasterised) and their
//! CPU references.
//! Each pass owns its pipelines, created once; per-frame data is passed in.

pub mod image;
pub mod labels;
pub mod mpr;
pub mod raymarch;
pub mod surfaces;
pub mod window;
