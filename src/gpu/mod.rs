//! GPU context and passes (wgpu).
//!
//! [`GpuContext::new`] picks an adapter, creates a device with the adapter's own limits
//! and runs a write-and-read-back self-check before anything else touches the GPU.

mod context;
mod error;
pub mod label_texture;
pub mod readback;
pub(crate) mod selfcheck;
pub mod shader;
pub mod volume_texture;

pub use context::{GpuContext, GpuOptions, adapter_summary, required_features, required_limits};
pub use error::GpuError;
pub(crate) use error::capture_errors;
pub use selfcheck::{
    SELF_CHECK_DIM, SelfCheckReadback, run_self_check, self_check_buffer_value, self_check_pattern,
};
