//! The image on the GPU: a 512×512×1000 CT loads and reads back right, u8 images
//! are stored as voxel pairs, and a grid beyond the adapter's 3-D texture limit
//! is refused with both numbers.

use glam::DMat4;
use rayseg::gpu::readback::read_texture_3d;
use rayseg::gpu::volume_texture::{VolumeFormat, VolumeTexture};
use rayseg::gpu::{GpuContext, GpuError, GpuOptions};
use rayseg::render::labels::LabelTexture;
use rayseg::render::mpr::{
    Convention, MprRenderer, SliceGeometry, SliceParams, SlicePlane, SlicePosition, render_cpu,
};
use rayseg::render::window::Window;
use rayseg::volume::{Modality, Volume, VoxelData};

fn context() -> GpuContext {
    GpuContext::new(&GpuOptions::from_env()).expect("a GPU adapter is required (lavapipe works)")
}

#[test]
fn a_512x512x1000_ct_loads_and_its_last_slice_is_exact() {
    let ctx = context();
    let shape = [512usize, 512, 1000];
    // HU-like values that differ per slice, row and column.
    let data: Vec<i16> = (0..shape.iter().product::<usize>())
        .map(|n| ((n % 512) as i16 - 256) * 3 + ((n / (512 * 512)) % 97) as i16 - 1000)
        .collect();
    let volume = Volume::new(
        shape,
        VoxelData::I16(data),
        DMat4::from_scale(glam::DVec3::new(0.7, 0.7, 0.8)),
        Modality::Ct,
    )
    .unwrap();
    let texture = VolumeTexture::upload(&ctx.device, &ctx.queue, &volume).expect("upload");
    assert_eq!(texture.format, VolumeFormat::I16);
    assert_eq!(texture.gpu_bytes(), 512 * 512 * 1000 * 2);
    let labels = LabelTexture::empty(&ctx.device, &ctx.queue).unwrap();
    let geometry = SliceGeometry::new(
        volume.shape,
        volume.ras_from_voxel,
        SlicePlane::Axial,
        SlicePosition::Index(999),
        Convention::Radiological,
    )
    .unwrap();
    let params = SliceParams::new(geometry, Window::new(-900.0, 1600.0));
    let mpr = MprRenderer::new(&ctx.device).unwrap();
    let gpu = mpr
        .render_to_image(&ctx.device, &ctx.queue, &texture, &labels, &params)
        .unwrap();
    assert_eq!(gpu, render_cpu(&volume, None, &params));
}

/// Texel (i, j, k) of a u8 image holds voxel i and voxel i + 1, the last column
/// twice; its axial slices through MPR equal the CPU reference.
#[test]
fn u8_images_upload_as_voxel_pairs() {
    let ctx = context();
    let shape = [37usize, 5, 3];
    let values: Vec<u8> = (0..shape.iter().product::<usize>())
        .map(|n| (n * 7 % 251) as u8)
        .collect();
    let volume = Volume::new(
        shape,
        VoxelData::U8(values.clone()),
        DMat4::IDENTITY,
        Modality::Mr,
    )
    .unwrap();
    let texture = VolumeTexture::upload(&ctx.device, &ctx.queue, &volume).expect("upload");
    assert_eq!(texture.format, VolumeFormat::U8Pair);
    assert_eq!(texture.gpu_bytes(), 37 * 5 * 3 * 2);
    let texels = read_texture_3d(&ctx.device, &ctx.queue, &texture.texture).expect("readback");
    for (n, pair) in texels.chunks_exact(2).enumerate() {
        let i = n % shape[0];
        let next = if i + 1 < shape[0] { n + 1 } else { n };
        assert_eq!(pair, [values[n], values[next]], "texel {n} (i = {i})");
    }
    let labels = LabelTexture::empty(&ctx.device, &ctx.queue).unwrap();
    let mpr = MprRenderer::new(&ctx.device).unwrap();
    for k in 0..3 {
        let geometry = SliceGeometry::new(
            volume.shape,
            volume.ras_from_voxel,
            SlicePlane::Axial,
            SlicePosition::Index(k),
            Convention::Radiological,
        )
        .unwrap();
        let params = SliceParams::new(geometry, Window::new(120.0, 200.0));
        let gpu = mpr
            .render_to_image(&ctx.device, &ctx.queue, &texture, &labels, &params)
            .unwrap();
        assert_eq!(gpu, render_cpu(&volume, None, &params), "slice {k}");
    }
}

#[test]
fn a_grid_beyond_the_texture_limit_is_refused_with_both_numbers() {
    let ctx = context();
    let max = ctx.device.limits().max_texture_dimension_3d as usize;
    let volume = Volume::new(
        [max + 1, 1, 1],
        VoxelData::U8(vec![0; max + 1]),
        DMat4::IDENTITY,
        Modality::Unknown,
    )
    .unwrap();
    let err = match VolumeTexture::upload(&ctx.device, &ctx.queue, &volume) {
        Err(e) => e,
        Ok(_) => panic!("a {}-voxel-wide grid must be refused", max + 1),
    };
    assert!(matches!(err, GpuError::VolumeTooLarge { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(&(max + 1).to_string()) && msg.contains(&max.to_string()),
        "{msg}"
    );
}
