//! Headless wgpu context: adapter selection, device creation, self-check.

use crate::gpu::error::GpuError;
use crate::gpu::selfcheck::{SelfCheckReadback, run_self_check};

/// Which adapter to use. `Default` = every backend, best adapter by type.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Case-insensitive substring of the adapter name (e.g. "llvmpipe", "nvidia").
    pub adapter_name: Option<String>,
    /// Backends to enumerate; `None` = all.
    pub backends: Option<wgpu::Backends>,
}

impl GpuOptions {
    /// `RAYSEG_ADAPTER` (name substring) and wgpu's standard `WGPU_BACKEND`
    /// (comma list such as "vulkan" or "vulkan,gl").
    pub fn from_env() -> Self {
        let adapter_name = std::env::var("RAYSEG_ADAPTER")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        Self {
            adapter_name,
            backends: wgpu::Backends::from_env(),
        }
    }
}

/// A device ready for rayseg's passes. Fields are public so the app and passes can
/// borrow what they need; `instance` is `None` when built [`from_parts`](Self::from_parts).
#[derive(Debug)]
pub struct GpuContext {
    pub instance: Option<wgpu::Instance>,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
    pub features: wgpu::Features,
    pub limits: wgpu::Limits,
}

/// Features rayseg requests: those of the wanted set that `adapter` offers.
/// - `TEXTURE_ADAPTER_SPECIFIC_FORMAT_FEATURES`: r8uint read_write storage textures.
/// - `TIMESTAMP_QUERY` (+ inside encoders/passes): benchmarks only.
/// - `MAPPABLE_PRIMARY_BUFFERS` on CPU adapters only (lavapipe): all memory is
///   host memory there, so uploads can write storage buffers in place instead
///   of through a staging copy (35 MB of memcpy for ch2better's packed image).
pub fn required_features(adapter: &wgpu::Adapter) -> wgpu::Features {
    use wgpu::Features as F;
    let available = adapter.features();
    let mut wanted = F::TEXTURE_ADAPTER_SPECIFIC_FORMAT_FEATURES;
    if adapter.get_info().device_type == wgpu::DeviceType::Cpu {
        wanted |= F::MAPPABLE_PRIMARY_BUFFERS;
    }
    if available.contains(F::TIMESTAMP_QUERY) {
        // The "inside" variants are only valid together with TIMESTAMP_QUERY.
        wanted |= F::TIMESTAMP_QUERY
            | F::TIMESTAMP_QUERY_INSIDE_ENCODERS
            | F::TIMESTAMP_QUERY_INSIDE_PASSES;
    }
    available & wanted
}

/// Limits rayseg requests: the adapter's own, since volumes need the largest 3-D
/// textures and storage buffers the hardware allows (wgpu's defaults are far lower).
pub fn required_limits(adapter: &wgpu::Adapter) -> wgpu::Limits {
    adapter.limits()
}

/// One-line description used in logs and error messages.
pub fn adapter_summary(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{:?} (backend {:?}, type {:?}, driver {:?} {:?})",
        info.name, info.backend, info.device_type, info.driver, info.driver_info
    )
}

/// Lower is better. Non-GL first: wgpu's GL backend drops compute writes to 3-D
/// storage textures, so a working software Vulkan beats GL on real hardware.
fn rank(info: &wgpu::AdapterInfo) -> (bool, u8) {
    let by_type = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    (info.backend == wgpu::Backend::Gl, by_type)
}

/// Picks the adapter: the best-ranked one whose name contains `wanted` (if given).
fn select_adapter(
    adapters: Vec<wgpu::Adapter>,
    wanted: Option<&str>,
    backends: wgpu::Backends,
) -> Result<wgpu::Adapter, GpuError> {
    if adapters.is_empty() {
        return Err(GpuError::NoAdapter {
            backends: format!("{backends:?}"),
        });
    }
    let mut candidates: Vec<(wgpu::AdapterInfo, wgpu::Adapter)> =
        adapters.into_iter().map(|a| (a.get_info(), a)).collect();
    candidates.sort_by_key(|(info, _)| rank(info));
    let available: Vec<String> = candidates
        .iter()
        .map(|(info, _)| adapter_summary(info))
        .collect();
    for line in &available {
        log::debug!("found GPU adapter {line}");
    }
    let chosen = match wanted {
        None => candidates.into_iter().next(),
        Some(w) => {
            let w = w.to_lowercase();
            candidates
                .into_iter()
                .find(|(info, _)| info.name.to_lowercase().contains(&w))
        }
    };
    match chosen {
        Some((_, adapter)) => Ok(adapter),
        None => Err(GpuError::AdapterNotFound {
            wanted: wanted.unwrap_or_default().to_owned(),
            available,
        }),
    }
}

impl GpuContext {
    /// Creates the context and runs the self-check; blocks (pollster).
    pub fn new(options: &GpuOptions) -> Result<Self, GpuError> {
        pollster::block_on(Self::new_async(options))
    }

    /// Async variant of [`new`](Self::new).
    pub async fn new_async(options: &GpuOptions) -> Result<Self, GpuError> {
        let backends = options.backends.unwrap_or(wgpu::Backends::all());
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle().with_env()
        });
        let adapters = instance.enumerate_adapters(backends).await;
        let adapter = select_adapter(adapters, options.adapter_name.as_deref(), backends)?;
        let info = adapter.get_info();
        log::info!("using GPU adapter {}", adapter_summary(&info));

        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("rayseg::device"),
                required_features: required_features(&adapter),
                required_limits: required_limits(&adapter),
                ..Default::default()
            })
            .await
            .map_err(|source| GpuError::RequestDevice {
                adapter: info.name.clone(),
                source,
            })?;

        let mut ctx = Self::from_parts(adapter, device, queue);
        ctx.instance = Some(instance);
        ctx.run_self_check()?;
        log::info!("GPU self-check passed on {:?}", ctx.adapter_info.name);
        Ok(ctx)
    }

    /// Wraps a device created elsewhere (e.g. by eframe, which should request
    /// [`required_features`] and [`required_limits`]). Does not run the self-check:
    /// call [`run_self_check`](Self::run_self_check) before trusting the device.
    pub fn from_parts(adapter: wgpu::Adapter, device: wgpu::Device, queue: wgpu::Queue) -> Self {
        Self {
            instance: None,
            adapter_info: adapter.get_info(),
            features: device.features(),
            limits: device.limits(),
            adapter,
            device,
            queue,
        }
    }

    /// Runs the write-and-read-back self-check on this device.
    pub fn run_self_check(&self) -> Result<SelfCheckReadback, GpuError> {
        run_self_check(&self.device, &self.queue, &self.adapter_info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(device_type: wgpu::DeviceType, backend: wgpu::Backend) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo::new(device_type, backend)
    }

    #[test]
    fn ranking_prefers_discrete_then_non_gl() {
        use wgpu::{Backend, DeviceType as T};
        let mut infos = [
            info(T::Cpu, Backend::Vulkan),
            info(T::IntegratedGpu, Backend::Vulkan),
            info(T::DiscreteGpu, Backend::Gl),
            info(T::VirtualGpu, Backend::Vulkan),
            info(T::DiscreteGpu, Backend::Vulkan),
        ];
        infos.sort_by_key(rank);
        let order: Vec<_> = infos.iter().map(|i| (i.device_type, i.backend)).collect();
        assert_eq!(
            order,
            [
                (T::DiscreteGpu, Backend::Vulkan),
                (T::IntegratedGpu, Backend::Vulkan),
                (T::VirtualGpu, Backend::Vulkan),
                (T::Cpu, Backend::Vulkan),
                (T::DiscreteGpu, Backend::Gl),
            ]
        );
    }

    #[test]
    fn no_adapter_error_says_what_to_install() {
        let err = select_adapter(Vec::new(), None, wgpu::Backends::VULKAN)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("apt-get install mesa-vulkan-drivers libvulkan1"),
            "{err}"
        );
    }
}
