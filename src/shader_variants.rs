//! Every shader variant the crate builds (see [`crate::gpu::shader`]), for
//! tests/shader_validation.rs, which validates each one off-device with naga.
//! Each pass lists its own variants next to the code that picks them.

use crate::gpu::shader::Variant;

/// Every variant of every shader, each once.
pub fn all() -> Vec<Variant> {
    let mut all: Vec<Variant> = std::iter::once(crate::gpu::selfcheck::shader_variant())
        .chain(crate::render::mpr::shader_variants())
        .chain(crate::render::raymarch::shader_variants())
        .chain(crate::render::surfaces::shader_variants())
        .chain(crate::annotate::brush::shader_variants())
        .chain(crate::annotate::grow::shader_variants())
        .collect();
    let mut seen = std::collections::HashSet::new();
    all.retain(|v| seen.insert(v.name()));
    all
}
