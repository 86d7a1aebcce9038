//! GPU memory per voxel of what the app keeps for an open 16-bit image with its
//! labels (issue 6: at most 3 bytes per voxel): the image texture, the label
//! texture the brush writes in place, and the empty-space-skipping bricks (one grid
//! per major view axis drawn; all three here, the most a session builds).
//! Sizes are read back from the wgpu resources themselves.

use std::sync::LazyLock;

use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::render::raymarch::{Camera, Raymarcher, RenderMode, RenderSettings, StandardView};
use rayseg::volume::phantom::{PhantomSpec, ct_phantom};

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    GpuContext::new(&GpuOptions::from_env())
        .expect("GPU memory test needs a GPU adapter (CI: lavapipe, WGPU_BACKEND=vulkan)")
});

fn texture_bytes(t: &wgpu::Texture) -> u64 {
    let s = t.size();
    let texel = t
        .format()
        .block_copy_size(None)
        .expect("uncompressed single-aspect format");
    u64::from(s.width) * u64::from(s.height) * u64::from(s.depth_or_array_layers) * u64::from(texel)
}

#[test]
fn open_16_bit_image_with_labels_fits_in_3_bytes_per_voxel() {
    let spec = PhantomSpec {
        shape: [96, 80, 64],
        spacing_mm: [2.0; 3],
        seed: 3,
        noise_sd_hu: 10.0,
        supersample: 1,
    };
    let (volume, _) = ct_phantom(&spec).expect("phantom");
    let voxels = volume.voxel_count() as f64;
    let labels = vec![0u8; volume.voxel_count()];
    let rm = Raymarcher::new(&CTX.device).expect("pipelines");
    // As the app prepares it: labels writable in place by the brush.
    let prepared = rm
        .prepare_volume_with(
            &CTX.device,
            &CTX.queue,
            &volume,
            Some(&labels),
            wgpu::TextureUsages::STORAGE_BINDING,
        )
        .expect("prepare");
    assert_eq!(
        prepared.image.texture.format(),
        wgpu::TextureFormat::R16Sint,
        "integer CT in HU is stored in 16 bits"
    );
    let image = texture_bytes(&prepared.image.texture) as f64;
    let label = texture_bytes(&prepared.labels.texture) as f64;
    assert_eq!(
        prepared.brick_bytes(),
        0,
        "brick grids are built when drawn"
    );
    for view in [
        StandardView::Anterior,
        StandardView::Left,
        StandardView::Superior,
    ] {
        let (az, el) = view.angles_deg();
        let frame = Camera::fit(&volume, az, el).ray_frame(16, 16, false);
        rm.render_to_image(
            &CTX.device,
            &CTX.queue,
            &prepared,
            &frame,
            &RenderSettings::new(RenderMode::Mip),
        )
        .expect("render");
    }
    let bricks = prepared.brick_bytes() as f64;
    let per_voxel = (image + label + bricks) / voxels;
    eprintln!(
        "per voxel: image {:.3} B, labels {:.3} B, bricks {:.4} B, total {per_voxel:.3} B",
        image / voxels,
        label / voxels,
        bricks / voxels
    );
    assert_eq!(image / voxels, 2.0);
    assert_eq!(label / voxels, 1.0);
    // Image + labels: 3 B; the brick grids 8 B per 256 voxels each.
    assert!(
        bricks / voxels <= 3.0 * 8.0 / 256.0 + 0.01,
        "bricks {bricks}"
    );
    assert!(per_voxel <= 3.1, "{per_voxel:.3} B per voxel");
}
