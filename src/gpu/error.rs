//! Errors of the GPU layer, and capture of wgpu's asynchronous device errors.

use thiserror::Error;

/// Hint printed whenever we cannot get a usable adapter.
const INSTALL_HINT: &str = "On headless Linux/CI install Mesa's software Vulkan driver (lavapipe): \
     `apt-get install mesa-vulkan-drivers libvulkan1`, then run with WGPU_BACKEND=vulkan";

#[derive(Debug, Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter found (backends: {backends}); rayseg needs a Vulkan, Metal or DX12 \
         adapter. {INSTALL_HINT}"
    )]
    NoAdapter { backends: String },

    #[error(
        "no GPU adapter matches RAYSEG_ADAPTER/adapter_name {wanted:?}; available adapters:\n{}",
        list(available)
    )]
    AdapterNotFound {
        wanted: String,
        /// One line per adapter: name, backend, device type, driver.
        available: Vec<String>,
    },

    #[error("requesting a device from adapter {adapter:?} failed: {source}")]
    RequestDevice {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },

    #[error(
        "GPU self-check failed on adapter {adapter:?} (backend {backend}): {detail}. \
         This adapter/driver drops or corrupts compute-shader writes to 3-D storage \
         textures (wgpu's GL backend is known to), so rayseg would render garbage. \
         Use a Vulkan adapter instead, e.g. WGPU_BACKEND=vulkan with Mesa's lavapipe \
         (`apt-get install mesa-vulkan-drivers libvulkan1`), or choose another adapter \
         with RAYSEG_ADAPTER=<name substring>"
    )]
    SelfCheckFailed {
        adapter: String,
        backend: String,
        detail: String,
    },

    #[error("GPU readback failed: {0}")]
    Readback(String),

    #[error(
        "volume of {}x{}x{} voxels exceeds this adapter's max_texture_dimension_3d of {max_texture_dimension_3d}",
        shape[0], shape[1], shape[2]
    )]
    VolumeTooLarge {
        shape: [usize; 3],
        max_texture_dimension_3d: u32,
    },

    #[error("GPU upload failed: {0}")]
    Upload(String),

    #[error(transparent)]
    Shader(#[from] crate::gpu::shader::ShaderError),
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return format!("  (none. {INSTALL_HINT})");
    }
    items
        .iter()
        .map(|s| format!("  - {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `f` inside validation, out-of-memory and internal error scopes, so wgpu errors
/// come back as values instead of reaching the (panicking) uncaptured-error handler.
pub(crate) fn capture_errors<T>(
    device: &wgpu::Device,
    f: impl FnOnce() -> T,
) -> (T, Option<wgpu::Error>) {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let value = f();
    // Scopes must be popped in reverse order; on native the futures are ready at once.
    let errors = [
        pollster::block_on(validation.pop()),
        pollster::block_on(internal.pop()),
        pollster::block_on(oom.pop()),
    ];
    (value, errors.into_iter().flatten().next())
}
