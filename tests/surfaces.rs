//! Label surfaces: the mesh pass (shaders/mesh.wgsl) against its CPU definition
//! (rayseg::render::surfaces::reference), and the raymarch stopping at the
//! surface layer (the SURFACES variants) against the CPU raymarch references fed
//! the same layer. Needs a GPU adapter (lavapipe in CI, WGPU_BACKEND=vulkan);
//! fails loudly without one.
//!
//! Tolerances, mesh pass (colour premultiplied, 0..1), over pixels off every
//! surface's edges (coverage or ray-distance jumps in the 3 × 3 neighbourhood
//! of any one surface drawn alone): mean absolute error < 1/255, at most 0.5 %
//! of pixels with a channel beyond 8/255, no coverage differences, ray distance
//! within 0.01 mm. Raymarch over a layer: as tests/raymarch.rs's DVR check, at
//! most 0.5 % of pixels beyond 2/255.

use std::sync::LazyLock;

use glam::{DMat4, DVec3, DVec4, Vec3};
use rayseg::annotate::mesh::SurfaceMesh;
use rayseg::gpu::readback::read_texture_3d;
use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::render::image::{RgbaImage, compare_images};
use rayseg::render::raymarch::reference::{
    SurfaceInput, dvr_with_surfaces, project_on_planes_with_surfaces,
};
use rayseg::render::raymarch::{
    Camera, ClipBox, PreparedVolume, RayFrame, RaymarchParams, Raymarcher, RenderMode,
    RenderSettings, TransferPreset,
};
use rayseg::render::surfaces::reference::{SurfaceImage, render as cpu_surfaces};
use rayseg::render::surfaces::{
    NO_SURFACE_T_MM, SurfaceClip, SurfaceDraw, SurfaceRenderer, SurfaceTargets,
};
use rayseg::volume::{Modality, Volume, VoxelData};

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    GpuContext::new(&GpuOptions::from_env())
        .expect("surface tests need a GPU adapter (CI: lavapipe, WGPU_BACKEND=vulkan)")
});
static SR: LazyLock<SurfaceRenderer> =
    LazyLock::new(|| SurfaceRenderer::new(&CTX.device).expect("surface pipelines"));
static RM: LazyLock<Raymarcher> =
    LazyLock::new(|| Raymarcher::new(&CTX.device).expect("raymarch pipelines"));

/// A sphere of `radius_mm` about `centre` (RAS mm): an icosahedron subdivided
/// `levels` times, counter-clockwise seen from outside, unit normals.
fn icosphere(centre: DVec3, radius_mm: f64, levels: u32) -> SurfaceMesh {
    let t = (1.0 + 5f64.sqrt()) / 2.0;
    let mut points: Vec<DVec3> = [
        (-1.0, t, 0.0),
        (1.0, t, 0.0),
        (-1.0, -t, 0.0),
        (1.0, -t, 0.0),
        (0.0, -1.0, t),
        (0.0, 1.0, t),
        (0.0, -1.0, -t),
        (0.0, 1.0, -t),
        (t, 0.0, -1.0),
        (t, 0.0, 1.0),
        (-t, 0.0, -1.0),
        (-t, 0.0, 1.0),
    ]
    .iter()
    .map(|&(x, y, z)| DVec3::new(x, y, z).normalize())
    .collect();
    let mut tris: Vec<[u32; 3]> = vec![
        [0, 11, 5],
        [0, 5, 1],
        [0, 1, 7],
        [0, 7, 10],
        [0, 10, 11],
        [1, 5, 9],
        [5, 11, 4],
        [11, 10, 2],
        [10, 7, 6],
        [7, 1, 8],
        [3, 9, 4],
        [3, 4, 2],
        [3, 2, 6],
        [3, 6, 8],
        [3, 8, 9],
        [4, 9, 5],
        [2, 4, 11],
        [6, 2, 10],
        [8, 6, 7],
        [9, 8, 1],
    ];
    for _ in 0..levels {
        let mut mid = std::collections::HashMap::new();
        let mut midpoint = |a: u32, b: u32, points: &mut Vec<DVec3>| {
            *mid.entry((a.min(b), a.max(b))).or_insert_with(|| {
                points.push(((points[a as usize] + points[b as usize]) / 2.0).normalize());
                points.len() as u32 - 1
            })
        };
        let mut next = Vec::with_capacity(tris.len() * 4);
        for [a, b, c] in tris {
            let ab = midpoint(a, b, &mut points);
            let bc = midpoint(b, c, &mut points);
            let ca = midpoint(c, a, &mut points);
            next.extend([[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]);
        }
        tris = next;
    }
    // Counter-clockwise seen from outside, whatever the table's winding.
    for t in &mut tris {
        let [a, b, c] = t.map(|i| points[i as usize]);
        if (b - a).cross(c - a).dot(a + b + c) < 0.0 {
            t.swap(1, 2);
        }
    }
    let f = |v: DVec3| [v.x as f32, v.y as f32, v.z as f32];
    SurfaceMesh {
        positions_ras_mm: points.iter().map(|&p| f(centre + p * radius_mm)).collect(),
        normals: points.iter().map(|&p| f(p)).collect(),
        triangles: tris,
    }
}

/// A CT-like test volume: soft tissue in air, a denser ball and bone, on an
/// anisotropic grid (as tests/raymarch.rs's synthetic CT).
fn synthetic_ct() -> Volume {
    let shape = [40usize, 36, 32];
    let mut data = vec![-1000i16; shape.iter().product()];
    for k in 0..shape[2] {
        for j in 0..shape[1] {
            for i in 0..shape[0] {
                let p = DVec3::new(i as f64, j as f64, k as f64);
                let e = (p - DVec3::new(19.5, 17.5, 15.5)) / DVec3::new(17.0, 15.0, 14.0);
                let mut v = -1000;
                if e.length() < 1.0 {
                    v = 40;
                }
                if (p - DVec3::new(13.0, 14.0, 12.0)).length() < 6.0 {
                    v = 80;
                }
                if (p - DVec3::new(26.0, 21.0, 19.0)).length() < 5.5 {
                    v = 1200;
                }
                data[i + shape[0] * (j + shape[1] * k)] = v;
            }
        }
    }
    let affine = DMat4::from_cols(
        DVec4::new(1.0, 0.0, 0.0, 0.0),
        DVec4::new(0.0, 1.1, 0.0, 0.0),
        DVec4::new(0.0, 0.0, 1.3, 0.0),
        DVec4::new(-20.0, -20.0, -20.0, 1.0),
    );
    Volume::new(shape, VoxelData::I16(data), affine, Modality::Ct).expect("volume")
}

/// f16 (IEEE binary16) bits to f32.
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

/// The GPU surface layer of `draws` (submitted).
fn gpu_targets(
    frame: &RayFrame,
    clip: Option<&SurfaceClip>,
    draws: &[(&SurfaceMesh, [f32; 4])],
) -> SurfaceTargets {
    let (device, queue) = (&CTX.device, &CTX.queue);
    let meshes: Vec<_> = draws
        .iter()
        .map(|(m, _)| SR.upload(device, m, "test").expect("upload").expect("mesh"))
        .collect();
    let list: Vec<SurfaceDraw> = meshes
        .iter()
        .zip(draws)
        .map(|(mesh, (_, rgba))| SurfaceDraw { mesh, rgba: *rgba })
        .collect();
    let mut targets = SR
        .targets(device, frame.width, frame.height)
        .expect("targets");
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("tests::surfaces_encoder"),
    });
    SR.encode(
        device,
        queue,
        &mut encoder,
        &mut targets,
        frame,
        clip,
        &list,
    )
    .expect("encode");
    queue.submit([encoder.finish()]);
    targets
}

/// A surface layer read back: (premultiplied RGBA, ray distance), row by row.
fn read_layer(targets: &SurfaceTargets) -> (Vec<[f32; 4]>, Vec<f32>) {
    let (device, queue) = (&CTX.device, &CTX.queue);
    let rgba = read_texture_3d(device, queue, &targets.rgba).expect("read colour");
    let t = read_texture_3d(device, queue, &targets.ray_t_mm).expect("read ray t");
    let rgba = rgba
        .chunks_exact(8)
        .map(|p| std::array::from_fn(|c| f16_to_f32(u16::from_le_bytes([p[2 * c], p[2 * c + 1]]))))
        .collect();
    let t = t
        .chunks_exact(4)
        .map(|p| f32::from_le_bytes([p[0], p[1], p[2], p[3]]))
        .collect();
    (rgba, t)
}

/// The GPU surface layer of `draws`, read back.
fn gpu_layer(
    frame: &RayFrame,
    clip: Option<&SurfaceClip>,
    draws: &[(&SurfaceMesh, [f32; 4])],
) -> (Vec<[f32; 4]>, Vec<f32>) {
    read_layer(&gpu_targets(frame, clip, draws))
}

/// Pixels on any one surface's edge: where its coverage, or its nearest ray
/// distance by more than `jump_mm`, changes within the 3 × 3 neighbourhood.
fn edge_mask(
    frame: &RayFrame,
    clip: Option<&SurfaceClip>,
    draws: &[(&SurfaceMesh, [f32; 4])],
    jump_mm: f32,
) -> Vec<bool> {
    let (w, h) = (frame.width as i64, frame.height as i64);
    let mut edge = vec![false; (w * h) as usize];
    for d in draws {
        let alone = cpu_surfaces(frame, clip, std::slice::from_ref(d));
        for y in 0..h {
            for x in 0..w {
                let at = (y * w + x) as usize;
                let (c, t) = (alone.nearest[at].is_some(), alone.ray_t_mm[at]);
                for (dx, dy) in (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (dx, dy))) {
                    let (nx, ny) = (x + dx, y + dy);
                    if !(0..w).contains(&nx) || !(0..h).contains(&ny) {
                        continue;
                    }
                    let n = (ny * w + nx) as usize;
                    let (cn, tn) = (alone.nearest[n].is_some(), alone.ray_t_mm[n]);
                    if cn != c || (c && (t - tn).abs() > jump_mm) {
                        edge[at] = true;
                    }
                }
            }
        }
    }
    edge
}

/// Compares the GPU layer with the CPU one off the edges; `Err` says how they differ.
fn compare_layers(
    name: &str,
    gpu: &(Vec<[f32; 4]>, Vec<f32>),
    cpu: &SurfaceImage,
    edge: &[bool],
) -> Result<String, String> {
    let (mut sum, mut channels, mut beyond, mut pixels) = (0.0f64, 0usize, 0usize, 0usize);
    let (mut coverage, mut t_max) = (0usize, 0.0f32);
    for (at, _) in edge.iter().enumerate().filter(|(_, e)| !**e) {
        pixels += 1;
        let (g, c) = (gpu.0[at], cpu.rgba[at]);
        let d: Vec<f32> = (0..4).map(|i| (g[i] - c[i]).abs()).collect();
        sum += d.iter().map(|&x| f64::from(x)).sum::<f64>();
        channels += 4;
        if d.iter().any(|&x| x > 8.0 / 255.0) {
            beyond += 1;
        }
        let (tg, tc) = (gpu.1[at], cpu.ray_t_mm[at]);
        let (hg, hc) = (tg < NO_SURFACE_T_MM, tc < NO_SURFACE_T_MM);
        if hg != hc {
            coverage += 1;
        } else if hg {
            t_max = t_max.max((tg - tc).abs());
        }
    }
    let mean = sum / channels.max(1) as f64;
    let covered = cpu.nearest.iter().filter(|n| n.is_some()).count();
    let report = format!(
        "{name}: {pixels} pixels off edges ({covered} covered), mean |d| {:.3}/255, \
         {beyond} beyond 8/255, {coverage} coverage differences, ray t max |d| {t_max:.5} mm",
        mean * 255.0
    );
    if covered < 100 {
        return Err(format!("{report}: too few covered pixels to compare"));
    }
    let ok = mean < 1.0 / 255.0 && beyond * 200 <= pixels && coverage == 0 && t_max < 0.01;
    if ok { Ok(report) } else { Err(report) }
}

/// A translucent sphere around an opaque one and a translucent one beside it:
/// the mesh pass on the GPU against its CPU definition, orthographic (standard
/// and oblique) and perspective, with and without a clip box that opens them.
#[test]
fn mesh_pass_matches_cpu_reference() {
    let volume = synthetic_ct();
    let outer = icosphere(DVec3::new(-1.0, -1.5, 0.5), 14.0, 3);
    let inner = icosphere(DVec3::new(-6.0, -4.0, -3.0), 5.0, 3);
    let beside = icosphere(DVec3::new(9.0, 6.0, 4.0), 6.0, 2);
    let draws = [
        (&outer, [0.9, 0.7, 0.4, 0.45]),
        (&inner, [0.2, 0.8, 0.3, 1.0]),
        (&beside, [0.3, 0.5, 1.0, 0.6]),
    ];
    let clip = SurfaceClip::new(
        &ClipBox {
            min: [0.0, 0.0, 0.0],
            max: [39.0, 36.0 * 0.55, 31.0],
        },
        volume.ras_from_voxel,
    );
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (az, el, perspective) in [(0.0, 0.0, false), (35.0, 25.0, false), (-50.0, -20.0, true)] {
        for clip in [None, Some(&clip)] {
            let mut camera = Camera::fit(&volume, az, el);
            camera.perspective = perspective;
            camera.zoom(1.3);
            let frame = camera.ray_frame(72, 64, true);
            let gpu = gpu_layer(&frame, clip, &draws);
            let cpu = cpu_surfaces(&frame, clip, &draws);
            let edge = edge_mask(&frame, clip, &draws, 2.0);
            let name = format!(
                "az {az} el {el} persp {perspective} clip {}",
                clip.is_some()
            );
            match compare_layers(&name, &gpu, &cpu, &edge) {
                Ok(r) => reports.push(r),
                Err(r) => failures.push(r),
            }
        }
    }
    eprintln!("{}", reports.join("\n"));
    assert!(
        failures.is_empty(),
        "GPU mesh pass != CPU reference:\n{}",
        failures.join("\n")
    );
}

/// Opaque surfaces hide what lies behind them, translucent ones in front blend
/// over them (the draw order), and the headlight makes a sphere brightest at its
/// centre and darker towards its rim (smooth shading, not flat).
#[test]
fn mesh_pass_occludes_blends_and_shades() {
    let volume = synthetic_ct();
    let camera = Camera::fit(&volume, 0.0, 0.0);
    let ball = icosphere(camera.target_ras, 10.0, 3);
    // Odd, so that the middle pixel's ray passes through the ball's centre.
    let frame = camera.ray_frame(65, 65, true);
    let centre = 32 * 65 + 32;
    let colour = [1.0, 0.5, 0.25, 1.0];
    let (rgba, t) = gpu_layer(&frame, None, &[(&ball, colour)]);
    // Facing the headlight: (0.3 + 0.7) · colour + 0.25 specular, clamped.
    let expect = [1.0, 0.75, 0.5, 1.0];
    for c in 0..4 {
        assert!(
            (rgba[centre][c] - expect[c]).abs() < 0.01,
            "{:?}",
            rgba[centre]
        );
    }
    // Front of the ball: 10 mm before its centre along the ray.
    let t_centre = frame.ray_t_mm(camera.target_ras) as f32;
    assert!(
        (t[centre] - (t_centre - 10.0)).abs() < 0.05,
        "{}",
        t[centre]
    );
    // Darker towards the rim, monotonically along a row.
    let row: Vec<f32> = (32..65).map(|x| rgba[32 * 65 + x][1]).collect();
    let covered: Vec<f32> = row.into_iter().filter(|&g| g > 0.0).collect();
    assert!(covered.len() > 8);
    assert!(
        covered.windows(2).all(|p| p[1] <= p[0] + 1e-3),
        "{covered:?}"
    );
    assert!(covered.last().copied().unwrap_or(1.0) < 0.5 * covered[0]);

    // A translucent ball in front of an opaque one: its far side, then its near
    // side, over the opaque one, whichever order they are given in.
    let front = icosphere(camera.target_ras - 25.0 * frame.forward_ras, 4.0, 3);
    let half = [0.0, 0.0, 1.0, 0.5];
    let (a, _) = gpu_layer(&frame, None, &[(&front, half), (&ball, colour)]);
    let (b, _) = gpu_layer(&frame, None, &[(&ball, colour), (&front, half)]);
    assert_eq!(a[centre], b[centre]);
    // Facing either way: blue + 0.25 specular = (0.25, 0.25, 1), premultiplied by 0.5.
    let layer = [0.125, 0.125, 0.5, 0.5];
    let over = |top: [f32; 4], under: [f32; 4]| {
        std::array::from_fn::<f32, 4, _>(|c| top[c] + (1.0 - top[3]) * under[c])
    };
    let expect = over(layer, over(layer, rgba[centre]));
    for c in 0..4 {
        assert!(
            (a[centre][c] - expect[c]).abs() < 0.01,
            "{:?} vs {expect:?}",
            a[centre]
        );
    }
    // An opaque ball hides a translucent one behind it.
    let hidden = icosphere(camera.target_ras + 25.0 * frame.forward_ras, 4.0, 2);
    let (d, _) = gpu_layer(&frame, None, &[(&hidden, half), (&ball, colour)]);
    assert_eq!(d[centre], rgba[centre]);
}

fn prepare(volume: &Volume) -> PreparedVolume {
    RM.prepare_volume(&CTX.device, &CTX.queue, volume, None)
        .expect("prepare volume")
}

/// DVR and MIP over a surface layer on the GPU (the SURFACES variants) against
/// the CPU references given the same layer; and the layer matters: a surface
/// inside translucent tissue shows through it, tinted by what lies in front.
#[test]
fn raymarch_composites_the_volume_over_surfaces() {
    let volume = synthetic_ct();
    let prepared = prepare(&volume);
    let tumour = icosphere(DVec3::new(-7.0, -4.6, -4.4), 5.5, 3);
    let organ = icosphere(DVec3::new(-0.5, -1.0, 0.0), 13.0, 3);
    let draws = [
        (&tumour, [0.9, 0.2, 0.2, 1.0]),
        (&organ, [0.3, 0.6, 0.9, 0.35]),
    ];
    let (device, queue) = (&CTX.device, &CTX.queue);
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (az, el, perspective) in [(0.0, 0.0, false), (30.0, 20.0, false), (40.0, -30.0, true)] {
        let mut camera = Camera::fit(&volume, az, el);
        camera.perspective = perspective;
        camera.zoom(1.2);
        let frame = camera.ray_frame(48, 40, true);
        let targets = gpu_targets(&frame, None, &draws);
        let (rgba, ray_t) = read_layer(&targets);
        let layer = SurfaceInput {
            rgba: &rgba,
            ray_t_mm: &ray_t,
        };
        for mode in [RenderMode::Dvr, RenderMode::Mip] {
            let mut settings = RenderSettings::new(mode);
            settings.transfer = TransferPreset::CtSoftTissue.build((-1000.0, 1200.0));
            settings.jitter = false;
            settings.early_termination = false;
            settings.draw_labels = false;
            let gpu = RM
                .render_to_image_with_surfaces(
                    device,
                    queue,
                    &prepared,
                    &frame,
                    &settings,
                    Some(&targets.layer()),
                )
                .expect("render");
            let params = RaymarchParams::new(&prepared, &frame, &settings);
            let cpu = match mode {
                RenderMode::Dvr => {
                    dvr_with_surfaces(&volume, &params, &settings.transfer, Some(&layer))
                }
                _ => project_on_planes_with_surfaces(&volume, &params, mode, Some(&layer)),
            }
            .expect("reference");
            let over2 = diff_count(&gpu, &cpu, 2);
            let name =
                format!("{mode:?} az {az} el {el} persp {perspective}: {over2} beyond 2/255");
            match compare_images(&gpu, &cpu, 2, gpu.pixels.len() / 200) {
                Ok(()) => reports.push(name),
                Err(e) => failures.push(format!("{name}: {e}")),
            }
            if mode == RenderMode::Dvr && !perspective && az == 0.0 {
                check_depth_aware(&frame, &gpu, &rgba, &ray_t, &prepared, &settings);
            }
        }
    }
    eprintln!("{}", reports.join("\n"));
    assert!(
        failures.is_empty(),
        "GPU raymarch over surfaces != CPU reference:\n{}",
        failures.join("\n")
    );
}

fn diff_count(a: &RgbaImage, b: &RgbaImage, tolerance: u8) -> usize {
    a.pixels
        .iter()
        .zip(&b.pixels)
        .filter(|(x, y)| (0..3).any(|c| x[c].abs_diff(y[c]) > tolerance))
        .count()
}

/// Where the layer shows the opaque tumour through the translucent organ, the
/// result is neither the layer alone nor the volume alone: tissue in front of
/// the surfaces is composited over them, and they hide what lies behind.
fn check_depth_aware(
    frame: &RayFrame,
    with: &RgbaImage,
    rgba: &[[f32; 4]],
    ray_t: &[f32],
    prepared: &PreparedVolume,
    settings: &RenderSettings,
) {
    let alone = RM
        .render_to_image(&CTX.device, &CTX.queue, prepared, frame, settings)
        .expect("render");
    let tumour_px: Vec<usize> = (0..rgba.len())
        .filter(|&i| rgba[i][3] > 0.99 && ray_t[i] < NO_SURFACE_T_MM)
        .collect();
    assert!(tumour_px.len() > 20, "the tumour is in view");
    let mut tinted = 0;
    for &i in &tumour_px {
        let layer = Vec3::new(rgba[i][0], rgba[i][1], rgba[i][2]) * 255.0;
        let got = Vec3::new(
            f32::from(with.pixels[i][0]),
            f32::from(with.pixels[i][1]),
            f32::from(with.pixels[i][2]),
        );
        let volume_only = Vec3::new(
            f32::from(alone.pixels[i][0]),
            f32::from(alone.pixels[i][1]),
            f32::from(alone.pixels[i][2]),
        );
        if (got - layer).abs().max_element() > 3.0 && (got - volume_only).abs().max_element() > 3.0
        {
            tinted += 1;
        }
    }
    assert!(
        tinted * 2 > tumour_px.len(),
        "only {tinted} of {} tumour pixels show tissue over the surface",
        tumour_px.len()
    );
}
