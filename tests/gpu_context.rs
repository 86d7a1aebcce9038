//! GPU context tests. They run on lavapipe in CI (WGPU_BACKEND=vulkan) and FAIL, never
//! skip, when no adapter is found: a silently skipped GPU test hides a broken CI image.

use std::sync::LazyLock;

use rayseg::gpu::{GpuContext, GpuError, GpuOptions, SELF_CHECK_DIM};

/// One device per test binary (like wgpu's `execute_gpu_inner`): creating devices on
/// lavapipe is slow and tests run in parallel threads.
static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    let _ = env_logger::builder().is_test(true).try_init();
    match GpuContext::new(&GpuOptions::from_env()) {
        Ok(ctx) => ctx,
        Err(e) => panic!("creating the GPU context failed (GPU tests never skip): {e}"),
    }
});

/// CPU reference of the self-check pattern, written independently of the library.
/// Mirrors `pattern` in shaders/selfcheck.wgsl.
fn reference(x: u32, y: u32, z: u32) -> u32 {
    0xA500_0000 | (z << 16) | (y << 8) | x
}

#[test]
fn backend_honours_wgpu_backend_env() {
    let info = &CTX.adapter_info;
    eprintln!(
        "adapter: {:?} backend {:?} type {:?} driver {:?} {:?}",
        info.name, info.backend, info.device_type, info.driver, info.driver_info
    );
    if let Some(backends) = wgpu::Backends::from_env() {
        assert!(
            backends.contains(info.backend.into()),
            "WGPU_BACKEND={backends:?} but got backend {:?}",
            info.backend
        );
        if !backends.contains(wgpu::Backends::GL) {
            assert_ne!(info.backend, wgpu::Backend::Gl);
        }
    }
}

#[test]
fn self_check_texture_matches_cpu_reference_exactly() {
    let readback = match CTX.run_self_check() {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let n = SELF_CHECK_DIM;
    assert_eq!(readback.dim, n);
    assert_eq!(readback.texture.len(), (n * n * n) as usize);
    assert_eq!(readback.buffer.len(), (n * n * n) as usize);
    let mut i = 0;
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                let want = reference(x, y, z);
                assert_eq!(
                    readback.texture[i], want,
                    "texel ({x},{y},{z}): got {:#010x}, want {want:#010x}",
                    readback.texture[i]
                );
                assert_eq!(
                    readback.buffer[i],
                    want.wrapping_mul(0x9E37_79B1),
                    "buffer ({x},{y},{z})"
                );
                assert_eq!(rayseg::gpu::self_check_pattern(x, y, z), want);
                i += 1;
            }
        }
    }
}

#[test]
fn device_uses_adapter_limits() {
    let adapter = CTX.adapter.limits();
    let device = CTX.device.limits();
    assert_eq!(
        device.max_texture_dimension_3d,
        adapter.max_texture_dimension_3d
    );
    assert_eq!(
        device.max_storage_buffer_binding_size,
        adapter.max_storage_buffer_binding_size
    );
    assert_eq!(
        CTX.limits.max_texture_dimension_3d,
        adapter.max_texture_dimension_3d
    );
    // Sanity: the adapter limit is at least WebGPU's default, so we did not get less.
    assert!(device.max_texture_dimension_3d >= wgpu::Limits::default().max_texture_dimension_3d);
}

#[test]
fn device_has_wanted_features_when_available() {
    let available = CTX.adapter.features();
    let got = CTX.device.features();
    for f in [
        wgpu::Features::TEXTURE_ADAPTER_SPECIFIC_FORMAT_FEATURES,
        wgpu::Features::TIMESTAMP_QUERY,
    ] {
        assert_eq!(available.contains(f), got.contains(f), "{f:?}");
    }
}

#[test]
fn unknown_adapter_name_lists_available_adapters() {
    // Force CTX first so its adapter name is known, then enumerate again.
    let expected_name = CTX.adapter_info.name.clone();
    let options = GpuOptions {
        adapter_name: Some("no-such-adapter-7f3a".into()),
        ..GpuOptions::from_env()
    };
    match GpuContext::new(&options) {
        Err(GpuError::AdapterNotFound { wanted, available }) => {
            assert_eq!(wanted, "no-such-adapter-7f3a");
            assert!(!available.is_empty());
            let message = GpuError::AdapterNotFound {
                wanted,
                available: available.clone(),
            }
            .to_string();
            assert!(message.contains(&expected_name), "{message}");
            assert!(message.contains("backend"), "{message}");
        }
        Err(other) => panic!("expected AdapterNotFound, got: {other}"),
        Ok(ctx) => panic!("nonsense name matched adapter {:?}", ctx.adapter_info.name),
    }
}

#[test]
fn adapter_override_is_case_insensitive() {
    let name = CTX.adapter_info.name.to_uppercase();
    let options = GpuOptions {
        adapter_name: Some(name),
        ..GpuOptions::from_env()
    };
    // Enumeration only would be enough, but this also proves a second device works.
    match GpuContext::new(&options) {
        Ok(ctx) => assert_eq!(ctx.adapter_info.name, CTX.adapter_info.name),
        Err(e) => panic!("{e}"),
    }
}
