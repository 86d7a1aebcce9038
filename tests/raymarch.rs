//! Raymarching on the GPU: CPU reference for axis-aligned projections, golden images
//! for DVR / isosurface / labels, skipping and termination invariance, and the CLI.
//! Needs a GPU adapter (lavapipe in CI); fails loudly without one.

mod common;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use glam::{DMat4, DVec3, DVec4};
use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::render::image::{RgbaImage, compare_images};
use rayseg::render::raymarch::reference::{
    dvr as dvr_reference, project_axis_aligned, project_on_planes,
};
use rayseg::render::raymarch::{
    BrickLayout, Camera, PreparedVolume, RaymarchParams, Raymarcher, RenderMode, RenderSettings,
    StandardView, TransferPreset, draws_column_rays,
};
use rayseg::render::window::window_for_range;
use rayseg::volume::{Modality, Volume, VoxelData};

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    GpuContext::new(&GpuOptions::from_env())
        .expect("raymarch tests need a GPU adapter (CI: lavapipe, WGPU_BACKEND=vulkan)")
});
static RM: LazyLock<Raymarcher> =
    LazyLock::new(|| Raymarcher::new(&CTX.device).expect("raymarch pipelines"));

fn prepare(volume: &Volume, labels: Option<&[u8]>) -> PreparedVolume {
    RM.prepare_volume(&CTX.device, &CTX.queue, volume, labels)
        .expect("prepare volume")
}

/// Natural-size orthographic render of a standard view.
fn render_view(
    volume: &Volume,
    prepared: &PreparedVolume,
    view: StandardView,
    settings: &RenderSettings,
) -> RgbaImage {
    let (az, el) = view.angles_deg();
    let camera = Camera::fit(volume, az, el);
    let [w, h] = camera.natural_size(volume);
    let frame = camera.ray_frame(w, h, false);
    RM.render_to_image(&CTX.device, &CTX.queue, prepared, &frame, settings)
        .expect("render")
}

/// Deterministic pseudo-random values (xorshift), no extra dependency.
fn random_values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn diag_affine(spacing: [f64; 3], flip: [bool; 3], origin: [f64; 3]) -> DMat4 {
    let s = |a: usize| if flip[a] { -spacing[a] } else { spacing[a] };
    DMat4::from_cols(
        DVec4::new(s(0), 0.0, 0.0, 0.0),
        DVec4::new(0.0, s(1), 0.0, 0.0),
        DVec4::new(0.0, 0.0, s(2), 0.0),
        DVec4::new(origin[0], origin[1], origin[2], 1.0),
    )
}

fn check_against_reference(volume: &Volume, name: &str) {
    let prepared = prepare(volume, None);
    let (lo, hi) = volume.value_range();
    let mut failures = Vec::new();
    for mode in [RenderMode::Mip, RenderMode::MinIp, RenderMode::Average] {
        for view in StandardView::ALL {
            let settings = RenderSettings::new(mode);
            let gpu = render_view(volume, &prepared, view, &settings);
            let cpu = project_axis_aligned(volume, view, mode, window_for_range(lo, hi))
                .expect("axis-aligned volume");
            if let Err(e) = compare_images(&gpu, &cpu, 1, 0) {
                failures.push(format!("{name} {mode:?} {}: {e}", view.name()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "GPU != CPU reference:\n{}",
        failures.join("\n")
    );
}

#[test]
fn projections_match_cpu_reference_on_orientation_phantom() {
    check_against_reference(&common::orientation_phantom(false), "phantom");
    check_against_reference(&common::orientation_phantom(true), "phantom flipped");
}

#[test]
fn projections_match_cpu_reference_on_random_volumes() {
    let shape = [9usize, 11, 13];
    let n = shape.iter().product();
    let values = random_values(n, 0x5eed);
    // f32 values exercise the r32float pipeline; integers the r16sint one.
    let float = VoxelData::F32(
        values
            .iter()
            .map(|v| (v * 2000.0 - 1000.0) as f32)
            .collect(),
    );
    let int = VoxelData::I16(
        values
            .iter()
            .map(|v| (v * 3000.0 - 1000.0) as i16)
            .collect(),
    );
    let affine = diag_affine([0.8, 1.3, 2.1], [true, false, true], [10.0, -20.0, 30.0]);
    for (data, name) in [(float, "random f32"), (int, "random i16")] {
        let volume = Volume::new(shape, data, affine, Modality::Ct).expect("volume");
        check_against_reference(&volume, name);
    }
}

/// Oblique and perspective projections against the CPU reference that samples the
/// same voxel planes. At most 0.2 % of pixels may differ by more than one grey level
/// (a sample landing on the other side of a plane or box face by float rounding).
#[test]
fn oblique_and_perspective_projections_match_cpu_reference() {
    let (ct, _) = synthetic_ct();
    let shape = [23usize, 19, 17];
    let values = random_values(shape.iter().product(), 0xb1a5);
    let noise = VoxelData::I16(values.iter().map(|v| (v * 2000.0 - 500.0) as i16).collect());
    // An oblique, anisotropic grid: the major axis of a ray is not a RAS axis.
    let rotated = DMat4::from_rotation_z(0.4)
        * DMat4::from_rotation_x(-0.3)
        * diag_affine([0.9, 1.2, 1.7], [false, true, false], [5.0, -3.0, 8.0]);
    let noisy = Volume::new(shape, noise, rotated, Modality::Ct).expect("volume");
    let mut failures = Vec::new();
    for (volume, name) in [(&ct, "ct phantom"), (&noisy, "oblique noise")] {
        let prepared = prepare(volume, None);
        for (az, el, perspective) in [
            (30.0, 20.0, false),
            (-115.0, 55.0, false),
            (70.0, -25.0, true),
        ] {
            let mut camera = Camera::fit(volume, az, el);
            camera.perspective = perspective;
            camera.zoom(0.9);
            let frame = camera.ray_frame(48, 40, true);
            for mode in [RenderMode::Mip, RenderMode::MinIp, RenderMode::Average] {
                for skipping in [true, false] {
                    let mut settings = RenderSettings::new(mode);
                    settings.empty_space_skipping = skipping;
                    let gpu = RM
                        .render_to_image(&CTX.device, &CTX.queue, &prepared, &frame, &settings)
                        .expect("render");
                    let params = RaymarchParams::new(&prepared, &frame, &settings);
                    let cpu = project_on_planes(volume, &params, mode).expect("projection");
                    let allowed = (48 * 40) / 500;
                    if let Err(e) = compare_images(&gpu, &cpu, 1, allowed) {
                        failures.push(format!(
                            "{name} az {az} el {el} persp {perspective} {mode:?} skip {skipping}: {e}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "GPU != CPU reference:\n{}",
        failures.join("\n")
    );
}

/// Pipelines are built on first use; every specialisation (mode, labels, image
/// format, PAIR_X) must still compile, not only those the other tests draw with.
#[test]
fn every_raymarch_pipeline_compiles() {
    let count = RM.compile_all(&CTX.device).expect("raymarch pipelines");
    // (5 modes × labels) + column DVR for i16, f32 and u8 pairs, plus for u8 pairs
    // 3 projections × labels and column DVR with PAIR_X; then each but the column
    // ones again over a surface layer (SURFACES).
    assert_eq!(count, 2 * (3 * 11 + 6 + 1) - 3 - 1);
}

/// A u8 image is stored as voxel pairs (two voxels per fetch) and rendered by its own
/// pipelines; every mode, with and without labels, from axis-aligned, oblique
/// (major axis i or not) and perspective cameras, gives the same pixels as the
/// same values stored as i16.
#[test]
fn u8_pair_images_render_exactly_like_i16() {
    let (ct, labels) = synthetic_ct();
    let bytes: Vec<u8> = (0..ct.data.len())
        // A ramp along i keeps the faces non-zero, where the pair edge cases are.
        .map(|n| {
            let ramp = (n % ct.shape[0]) as f64 * 4.0 + 20.0;
            ((ct.data.get_f64(n).unwrap_or(0.0) + 1000.0) / 9.0 + ramp).clamp(0.0, 255.0) as u8
        })
        .collect();
    let as_u8 = Volume::new(
        ct.shape,
        VoxelData::U8(bytes.clone()),
        ct.ras_from_voxel,
        Modality::Mr,
    )
    .expect("volume");
    let as_i16 = Volume::new(
        ct.shape,
        VoxelData::I16(bytes.iter().map(|&b| i16::from(b)).collect()),
        ct.ras_from_voxel,
        Modality::Mr,
    )
    .expect("volume");
    let mut failures = Vec::new();
    for with_labels in [false, true] {
        let l = with_labels.then_some(labels.as_slice());
        let (pu8, pi16) = (prepare(&as_u8, l), prepare(&as_i16, l));
        let cameras = [
            (0.0, 0.0, false),
            (90.0, 0.0, false),
            (0.0, 90.0, false),
            (30.0, 20.0, false),
            (80.0, 10.0, false),
            (40.0, -30.0, true),
        ];
        for (az, el, perspective) in cameras {
            let mut camera = Camera::fit(&as_u8, az, el);
            camera.perspective = perspective;
            let frame = camera.ray_frame(40, 36, true);
            for mode in [
                RenderMode::Mip,
                RenderMode::MinIp,
                RenderMode::Average,
                RenderMode::Dvr,
                RenderMode::Iso,
            ] {
                let mut settings = RenderSettings::new(mode);
                settings.transfer = TransferPreset::MrDefault.build(as_u8.value_range());
                settings.threshold = 110.0;
                let render = |p: &PreparedVolume| {
                    RM.render_to_image(&CTX.device, &CTX.queue, p, &frame, &settings)
                        .expect("render")
                };
                if let Err(e) = compare_images(&render(&pu8), &render(&pi16), 0, 0) {
                    failures.push(format!(
                        "labels {with_labels} az {az} el {el} persp {perspective} {mode:?}: {e}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "u8 pairs != i16:\n{}",
        failures.join("\n")
    );
}

/// Column rays (standard views of axis-aligned volumes) give the general DVR's
/// image: both interpolate the same voxels linearly, in another order. i16 and u8
/// pair images, flipped axes (planes walked downwards), anisotropic spacing,
/// jittered starts (samples anywhere between planes), with and without skipping
/// and early termination.
#[test]
fn column_rays_match_the_general_dvr() {
    let (ct, _) = synthetic_ct();
    let flipped = Volume::new(
        ct.shape,
        ct.data.clone(),
        diag_affine([1.3, 1.0, 1.1], [true, false, true], [5.0, -20.0, 9.0]),
        Modality::Ct,
    )
    .expect("volume");
    let as_u8 = ct_as_u8(&ct);
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, volume) in [
        ("i16", &ct),
        ("i16 flipped", &flipped),
        ("u8 pairs", &as_u8),
    ] {
        let prepared = prepare(volume, None);
        let range = volume.value_range();
        let presets = if volume.data.get_f64(0).unwrap_or(0.0) < 0.0 {
            [TransferPreset::CtBone, TransferPreset::CtSoftTissue]
                .map(|p| p.build((-1000.0, 1200.0)))
        } else {
            [TransferPreset::MrDefault, TransferPreset::MrDefault].map(|p| p.build(range))
        };
        for view in StandardView::ALL {
            let (az, el) = view.angles_deg();
            let mut camera = Camera::fit(volume, az, el);
            camera.zoom(1.3);
            let frame = camera.ray_frame(44, 40, false);
            for (transfer, jitter, fast) in [
                (&presets[0], false, true),
                (&presets[1], true, true),
                (&presets[0], true, false),
            ] {
                let mut settings = RenderSettings::new(RenderMode::Dvr);
                settings.transfer = transfer.clone();
                settings.jitter = jitter;
                settings.empty_space_skipping = fast;
                settings.early_termination = fast;
                assert!(
                    draws_column_rays(&prepared, &frame, &settings),
                    "{name} {view:?}"
                );
                let mut general = settings.clone();
                general.column_rays = false;
                assert!(!draws_column_rays(&prepared, &frame, &general));
                let render = |s: &RenderSettings| {
                    RM.render_to_image(&CTX.device, &CTX.queue, &prepared, &frame, s)
                        .expect("render")
                };
                let (column, reference) = (render(&settings), render(&general));
                assert!(
                    reference.pixels.iter().filter(|p| p[0] > 20).count() > 100,
                    "{name} {view:?}: too little drawn for the test to mean anything"
                );
                // Float order only: one grey level, a few pixels two (silhouettes).
                if let Err(e) = compare_images(&column, &reference, 1, 0)
                    .and_then(|()| compare_images(&column, &reference, 0, column.pixels.len() / 4))
                {
                    failures.push(format!("{name} {view:?} jitter {jitter} fast {fast}: {e}"));
                }
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 3 * 6 * 3);
    assert!(
        failures.is_empty(),
        "column != general:\n{}",
        failures.join("\n")
    );
    // Oblique and perspective cameras take the general path.
    let prepared = prepare(&ct, None);
    let settings = RenderSettings::new(RenderMode::Dvr);
    let camera = Camera::fit(&ct, 30.0, 20.0);
    assert!(!draws_column_rays(
        &prepared,
        &camera.ray_frame(8, 8, false),
        &settings
    ));
    let mut camera = Camera::fit(&ct, 0.0, 0.0);
    camera.perspective = true;
    assert!(!draws_column_rays(
        &prepared,
        &camera.ray_frame(8, 8, false),
        &settings
    ));
}

/// With a label texture bound but `draw_labels` off (the app: nothing labelled
/// or every label hidden), a frame is the image alone: the same pixels as without
/// labels, by the same pipelines (column rays for standard-view DVR).
#[test]
fn labels_not_drawn_render_the_image_alone() {
    let (ct, labels) = synthetic_ct();
    let plain = prepare(&ct, None);
    let masked = prepare(&ct, Some(&labels));
    let (az, el) = StandardView::Anterior.angles_deg();
    for (az, el) in [(az, el), (30.0, 20.0)] {
        let frame = Camera::fit(&ct, az, el).ray_frame(40, 36, true);
        for mode in [RenderMode::Mip, RenderMode::Dvr] {
            let mut settings = RenderSettings::new(mode);
            settings.jitter = false;
            settings.draw_labels = false;
            let render = |p: &PreparedVolume, s: &RenderSettings| {
                RM.render_to_image(&CTX.device, &CTX.queue, p, &frame, s)
                    .expect("render")
            };
            let (alone, with_labels_off) = (render(&plain, &settings), render(&masked, &settings));
            compare_images(&with_labels_off, &alone, 0, 0)
                .unwrap_or_else(|e| panic!("az {az} {mode:?}: {e}"));
            assert_eq!(
                draws_column_rays(&masked, &frame, &settings),
                draws_column_rays(&plain, &frame, &settings)
            );
            settings.draw_labels = true;
            let drawn = render(&masked, &settings);
            assert!(
                compare_images(&drawn, &alone, 0, 0).is_err(),
                "az {az} {mode:?}: the labels should show when drawn"
            );
        }
    }
    let frame = Camera::fit(&ct, 0.0, 0.0).ray_frame(8, 8, false);
    let mut settings = RenderSettings::new(RenderMode::Dvr);
    assert!(!draws_column_rays(&masked, &frame, &settings));
    settings.draw_labels = false;
    assert!(draws_column_rays(&masked, &frame, &settings));
}

/// Shaded DVR on the GPU, general and column paths, against the plain CPU
/// definition (reference::dvr): i16 and u8-pair images, standard views (column
/// rays and not), oblique and perspective cameras, with empty-space skipping (which
/// must not change the image). Early termination is off: it stops at 99 % opacity.
#[test]
fn dvr_matches_cpu_reference() {
    let (ct, _) = synthetic_ct();
    let as_u8 = ct_as_u8(&ct);
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (name, volume) in [("i16", &ct), ("u8 pairs", &as_u8)] {
        let prepared = prepare(volume, None);
        let transfer = if name == "i16" {
            TransferPreset::CtSoftTissue.build((-1000.0, 1200.0))
        } else {
            TransferPreset::MrDefault.build(volume.value_range())
        };
        for (az, el, perspective) in [
            (0.0, 0.0, false),
            (90.0, 0.0, false),
            (30.0, 20.0, false),
            (40.0, -30.0, true),
        ] {
            let mut camera = Camera::fit(volume, az, el);
            camera.perspective = perspective;
            camera.zoom(1.2);
            let frame = camera.ray_frame(40, 36, true);
            for column_rays in [true, false] {
                let mut settings = RenderSettings::new(RenderMode::Dvr);
                settings.transfer = transfer.clone();
                settings.jitter = false;
                settings.early_termination = false;
                settings.column_rays = column_rays;
                let gpu = RM
                    .render_to_image(&CTX.device, &CTX.queue, &prepared, &frame, &settings)
                    .expect("render");
                let params = RaymarchParams::new(&prepared, &frame, &settings);
                let cpu = dvr_reference(volume, &params, &settings.transfer).expect("reference");
                let diff = gpu
                    .pixels
                    .iter()
                    .zip(&cpu.pixels)
                    .map(|(a, b)| (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0))
                    .collect::<Vec<_>>();
                let over1 = diff.iter().filter(|&&d| d > 1).count();
                report.push(format!(
                    "{name} az {az} el {el} persp {perspective} column {}: max {} >1: {over1}",
                    draws_column_rays(&prepared, &frame, &settings),
                    diff.iter().max().unwrap_or(&0)
                ));
                assert!(cpu.pixels.iter().filter(|p| p[0] > 20).count() > 100);
                if let Err(e) = compare_images(&gpu, &cpu, 2, gpu.pixels.len() / 200) {
                    failures.push(format!("{}: {e}", report.last().unwrap_or(&String::new())));
                }
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "GPU DVR != CPU reference:\n{}",
        failures.join("\n")
    );
}

/// f16 (IEEE binary16) bits to f32, for reading the brick grid back.
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f32.powi(-24),
        31 if frac == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + frac / 1024.0) * 2f32.powi(e - 15),
    }
}

/// The brick grid (f16 texels, bricks long along the view axis) bounds every
/// voxel a sample in the brick can read: each brick's stored min/max enclose the
/// true ones over the brick widened by one voxel on every side (what a trilinear
/// sample in the brick reads), within one f16 step, exactly
/// where f16 holds the value (u8 images); label max exact. Values span the i16
/// range, beyond f16's exact integers.
#[test]
fn brick_grid_bounds_its_voxels() {
    let shape = [37usize, 29, 41];
    let n = shape.iter().product::<usize>();
    let r = random_values(n, 11);
    let data: Vec<i16> = r.iter().map(|x| (x * 65535.0 - 32768.0) as i16).collect();
    let labels: Vec<u8> = random_values(n, 12)
        .iter()
        .map(|x| (x * 9.0) as u8)
        .collect();
    let bytes: Vec<u8> = r.iter().map(|x| (x * 255.0) as u8).collect();
    let affine = diag_affine([1.0, 1.2, 0.9], [false; 3], [0.0; 3]);
    let i16_volume =
        Volume::new(shape, VoxelData::I16(data), affine, Modality::Ct).expect("volume");
    let u8_volume = Volume::new(shape, VoxelData::U8(bytes), affine, Modality::Mr).expect("volume");
    for volume in [&i16_volume, &u8_volume] {
        let prepared = prepare(volume, Some(&labels));
        // The three column grids, and the cubes of an oblique view.
        for (axis, view) in [
            (Some(0), Some(StandardView::Left)),
            (Some(1), Some(StandardView::Anterior)),
            (Some(2), Some(StandardView::Superior)),
            (None, None),
        ] {
            let layout = axis.map_or(BrickLayout::Cube, BrickLayout::Column);
            let mip = RenderSettings::new(RenderMode::Mip);
            match view {
                Some(view) => {
                    render_view(volume, &prepared, view, &mip);
                }
                None => {
                    render_oblique(volume, &prepared, &mip);
                }
            }
            let grid = prepared
                .brick_grid(layout)
                .expect("grid built by the render");
            let texels =
                rayseg::gpu::readback::read_texture_3d(&CTX.device, &CTX.queue, &grid.texture)
                    .expect("read bricks");
            let [gx, gy, gz] = grid.grid.map(|g| g as usize);
            let edge = grid.edge.map(|e| e as usize);
            assert_eq!(edge, layout.edges().map(|e| e as usize));
            assert_eq!(
                edge.iter().max(),
                Some(&if axis.is_some() { 16 } else { 8 })
            );
            assert_eq!(texels.len(), gx * gy * gz * 8);
            for b in 0..gx * gy * gz {
                let bi = [b % gx, (b / gx) % gy, b / (gx * gy)];
                let h = |c: usize| {
                    f16_to_f32(u16::from_le_bytes([
                        texels[b * 8 + 2 * c],
                        texels[b * 8 + 2 * c + 1],
                    ]))
                };
                let (lo, hi, lab) = (h(0), h(1), h(2));
                let (mut vmin, mut vmax, mut lmax) = (f32::MAX, f32::MIN, 0u8);
                let range = |a: usize| {
                    (bi[a] * edge[a]).saturating_sub(1)..=((bi[a] + 1) * edge[a]).min(shape[a] - 1)
                };
                for k in range(2) {
                    for j in range(1) {
                        for i in range(0) {
                            let idx = i + shape[0] * (j + shape[1] * k);
                            let v = volume.data.get_f64(idx).expect("voxel") as f32;
                            vmin = vmin.min(v);
                            vmax = vmax.max(v);
                            lmax = lmax.max(labels[idx]);
                        }
                    }
                }
                // One f16 step: 2^-10 relative, and at most 32 at the i16 extremes.
                let step = |v: f32| (v.abs() / 1024.0).max(1e-3);
                assert!(
                    lo <= vmin && vmin - lo <= step(vmin),
                    "{layout:?} brick {bi:?}: min {lo} vs {vmin}"
                );
                assert!(
                    hi >= vmax && hi - vmax <= step(vmax),
                    "{layout:?} brick {bi:?}: max {hi} vs {vmax}"
                );
                if matches!(volume.data, VoxelData::U8(_)) {
                    assert_eq!((lo, hi), (vmin, vmax), "u8 bounds are exact");
                }
                assert_eq!(lab, f32::from(lmax));
            }
        }
    }
}

/// The CT phantom's values mapped to 0..255 as a u8 image (voxel pairs on the GPU).
fn ct_as_u8(ct: &Volume) -> Volume {
    let bytes: Vec<u8> = (0..ct.data.len())
        .map(|n| ((ct.data.get_f64(n).unwrap_or(0.0) + 1000.0) / 9.0).clamp(0.0, 255.0) as u8)
        .collect();
    Volume::new(
        ct.shape,
        VoxelData::U8(bytes),
        ct.ras_from_voxel,
        Modality::Mr,
    )
    .expect("volume")
}

/// CT-like phantom in HU: air, a soft-tissue ellipsoid (40), a denser sphere (80), a
/// bone sphere (1200) and a contrast cylinder (350) along k.
fn synthetic_ct() -> (Volume, Vec<u8>) {
    let shape = [40usize, 36, 32];
    let mut data = vec![-1000i16; shape.iter().product()];
    let mut labels = vec![0u8; data.len()];
    for k in 0..shape[2] {
        for j in 0..shape[1] {
            for i in 0..shape[0] {
                let p = DVec3::new(i as f64, j as f64, k as f64);
                let idx = i + shape[0] * (j + shape[1] * k);
                let c = DVec3::new(19.5, 17.5, 15.5);
                let e = (p - c) / DVec3::new(17.0, 15.0, 14.0);
                let mut v = -1000;
                if e.length() < 1.0 {
                    v = 40;
                }
                if (p - DVec3::new(13.0, 14.0, 12.0)).length() < 6.0 {
                    v = 80;
                    labels[idx] = 1;
                }
                if (p - DVec3::new(26.0, 21.0, 19.0)).length() < 5.5 {
                    v = 1200;
                }
                let r = ((i as f64 - 24.0).powi(2) + (j as f64 - 10.0).powi(2)).sqrt();
                if r < 3.0 && (4..28).contains(&k) {
                    v = 350;
                    labels[idx] = 2;
                }
                data[idx] = v;
            }
        }
    }
    let affine = diag_affine([1.0, 1.1, 1.3], [false; 3], [-20.0, -20.0, -20.0]);
    let volume = Volume::new(shape, VoxelData::I16(data), affine, Modality::Ct).expect("volume");
    (volume, labels)
}

fn render_oblique(
    volume: &Volume,
    prepared: &PreparedVolume,
    settings: &RenderSettings,
) -> RgbaImage {
    let mut camera = Camera::fit(volume, 30.0, 20.0);
    camera.zoom(0.9);
    let frame = camera.ray_frame(64, 64, true);
    RM.render_to_image(&CTX.device, &CTX.queue, prepared, &frame, settings)
        .expect("render")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Per-channel tolerance 3 absorbs float differences (FMA, pow, bisection order)
/// between drivers inside smooth regions; at most 8 of 4096 pixels may differ more,
/// enough for a few flipped silhouette pixels but far below any real change (egui's
/// advice: more than ~10 failing pixels hides real regressions).
const CHANNEL_TOLERANCE: u8 = 3;
const MAX_FAILING: usize = 8;

fn check_golden(name: &str, actual: &RgbaImage) {
    let path = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("RAYSEG_UPDATE_GOLDEN").is_some() {
        actual.save_png(&path).expect("write golden");
        return;
    }
    let expected = RgbaImage::load_png(&path).unwrap_or_else(|e| {
        panic!("{e}; generate goldens with RAYSEG_UPDATE_GOLDEN=1 and inspect them")
    });
    if let Err(e) = compare_images(actual, &expected, CHANNEL_TOLERANCE, MAX_FAILING) {
        let actual_path = golden_dir().join(format!("{name}.actual.png"));
        let diff_path = golden_dir().join(format!("{name}.difference.png"));
        actual.save_png(&actual_path).expect("write actual");
        if (actual.width, actual.height) == (expected.width, expected.height) {
            let mut diff = actual.clone();
            for (d, (a, b)) in diff
                .pixels
                .iter_mut()
                .zip(actual.pixels.iter().zip(&expected.pixels))
            {
                let m = (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0);
                *d = if m > CHANNEL_TOLERANCE {
                    [255, 0, 255, 255]
                } else {
                    [m * 40, m * 40, m * 40, 255]
                };
            }
            diff.save_png(&diff_path).expect("write difference");
        }
        panic!(
            "golden {name}: {e}; see {} and {}",
            actual_path.display(),
            diff_path.display()
        );
    }
}

fn dvr_settings() -> RenderSettings {
    let mut s = RenderSettings::new(RenderMode::Dvr);
    s.transfer = TransferPreset::CtBone.build((-1000.0, 1200.0));
    s.jitter = false;
    s
}

fn iso_settings() -> RenderSettings {
    let mut s = RenderSettings::new(RenderMode::Iso);
    s.threshold = 200.0;
    s.jitter = false;
    s
}

#[test]
fn golden_dvr_iso_and_labels() {
    let (volume, labels) = synthetic_ct();
    let plain = prepare(&volume, None);
    let masked = prepare(&volume, Some(&labels));
    check_golden(
        "dvr_ct_bone",
        &render_oblique(&volume, &plain, &dvr_settings()),
    );
    check_golden("iso_200", &render_oblique(&volume, &plain, &iso_settings()));
    let mut soft = dvr_settings();
    soft.transfer = TransferPreset::CtSoftTissue.build((-1000.0, 1200.0));
    check_golden(
        "dvr_ct_soft_tissue",
        &render_oblique(&volume, &plain, &soft),
    );
    check_golden(
        "dvr_labels",
        &render_oblique(&volume, &masked, &dvr_settings()),
    );
    check_golden(
        "mip_labels",
        &render_oblique(&volume, &masked, &RenderSettings::new(RenderMode::Mip)),
    );
}

#[test]
fn skipping_and_early_termination_do_not_change_the_image() {
    let (volume, labels) = synthetic_ct();
    let plain = prepare(&volume, None);
    let masked = prepare(&volume, Some(&labels));
    let mut mip = RenderSettings::new(RenderMode::Mip);
    mip.window = Some((300.0, 1500.0));
    let mut minip = RenderSettings::new(RenderMode::MinIp);
    minip.clip_vox = Some(rayseg::render::raymarch::ClipBox {
        min: [5.0, 5.0, 5.0],
        max: [35.0, 30.0, 25.0],
    });
    for (name, settings, prepared) in [
        ("dvr", dvr_settings(), &plain),
        ("dvr labels", dvr_settings(), &masked),
        ("iso", iso_settings(), &plain),
        ("mip", mip, &plain),
        ("minip clipped", minip, &plain),
    ] {
        let mut slow = settings.clone();
        slow.empty_space_skipping = false;
        slow.early_termination = false;
        let fast = render_oblique(&volume, prepared, &settings);
        let reference = render_oblique(&volume, prepared, &slow);
        // Early termination stops at alpha 0.99: at most 1% of 255 ≈ 3 levels.
        compare_images(&fast, &reference, 3, 0).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut skip_only = settings.clone();
        skip_only.early_termination = false;
        let skipped = render_oblique(&volume, prepared, &skip_only);
        compare_images(&skipped, &reference, 1, 0)
            .unwrap_or_else(|e| panic!("{name} skipping: {e}"));
        assert!(
            reference.pixels.iter().any(|p| p[0] > 20),
            "{name}: image is black, the test would prove nothing"
        );
    }
}

#[test]
fn clip_box_removes_the_clipped_part() {
    let volume = common::orientation_phantom(false);
    let prepared = prepare(&volume, None);
    let mut settings = RenderSettings::new(RenderMode::Mip);
    // Keep i ≥ 20 (i runs towards patient right): the marker (patient left) goes.
    settings.clip_vox = Some(rayseg::render::raymarch::ClipBox {
        min: [20.0, 0.0, 0.0],
        max: [39.0, 47.0, 55.0],
    });
    let img = render_view(&volume, &prepared, StandardView::Anterior, &settings);
    assert!(
        img.pixels.iter().all(|p| p[0] < 255),
        "marker survived the clip"
    );
    // Anterior view: patient right (kept) is on the image left.
    assert!(img.get(10, 28).expect("pixel")[0] > 0);
    assert_eq!(img.get(30, 28).expect("pixel")[0], 0);
}

#[test]
fn perspective_and_jitter_render_something_sane() {
    let (volume, _) = synthetic_ct();
    let prepared = prepare(&volume, None);
    let mut camera = Camera::fit(&volume, 30.0, 20.0);
    camera.perspective = true;
    let frame = camera.ray_frame(48, 40, true);
    let settings = RenderSettings::new(RenderMode::Dvr); // jitter on
    let img = RM
        .render_to_image(&CTX.device, &CTX.queue, &prepared, &frame, &settings)
        .expect("render");
    assert_eq!((img.width, img.height), (48, 40));
    let lit = img.pixels.iter().filter(|p| p[0] > 30).count();
    assert!(lit > 50, "perspective DVR shows too little: {lit} pixels");
    assert!(
        img.get(0, 0).expect("corner")[..3] == [0, 0, 0],
        "corner should be background"
    );
}

#[test]
fn camera_orbit_zoom_pan_reset() {
    let volume = common::orientation_phantom(false);
    let mut camera = Camera::fit(&volume, 0.0, 0.0);
    let home = camera.clone();
    camera.orbit(200.0, 120.0);
    assert_eq!(camera.azimuth_deg, -160.0);
    assert_eq!(camera.elevation_deg, 90.0);
    camera.zoom(2.0);
    camera.pan(5.0, -3.0);
    let f = camera.ray_frame(40, 56, false);
    assert!(
        (f.right_per_px_ras.length() - 0.5).abs() < 1e-9,
        "zoom 2 halves the pixel size"
    );
    camera.reset();
    assert_eq!(camera, home);
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(args)
        .output()
        .expect("run rayseg")
}

#[test]
fn cli_renders_png_with_negative_window_centre() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = common::data_dir().join("nifti/dipy/aniso_vox.nii.gz");
    let out = dir.path().join("left.png");
    let o = cli(&[
        "render",
        input.to_str().expect("utf-8 path"),
        "--mode",
        "mip",
        "--window",
        "-600,1500",
        "--view",
        "left",
        "--no-jitter",
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(
        o.status.success(),
        "rayseg render failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("adapter"),
        "adapter not logged"
    );
    let img = RgbaImage::load_png(&out).expect("PNG");
    // An oblique 58×58×24 grid: one pixel per voxel of the best-aligned axes, so a bit
    // more than 58×24 to hold the tilted box.
    let volume = rayseg::volume::load(&input, &Default::default()).expect("load");
    let expected = Camera::fit(&volume, 90.0, 0.0).natural_size(&volume);
    assert_eq!([img.width, img.height], expected);
    assert!((58..80).contains(&img.width) && (24..60).contains(&img.height));
    assert!(img.pixels.iter().any(|p| p[0] > 128));

    let out = dir.path().join("dvr.png");
    let o = cli(&[
        "render",
        input.to_str().expect("utf-8 path"),
        "--mode",
        "dvr",
        "--preset",
        "mr-default",
        "--size",
        "64x48",
        "--azimuth",
        "-30",
        "--elevation",
        "15",
        "--perspective",
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = RgbaImage::load_png(&out).expect("PNG");
    assert_eq!((img.width, img.height), (64, 48));

    let o = cli(&[
        "render",
        input.to_str().expect("utf-8"),
        "--window",
        "40",
        "-o",
        "x.png",
    ]);
    assert!(
        !o.status.success(),
        "a window without width must be refused"
    );
}
