//! `rayseg render`: a raymarched 3-D view to PNG.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use rayseg::annotate::labels::LabelSet;
use rayseg::annotate::mesh::{MeshOptions, label_surface};
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};
use rayseg::render::labels::default_label_color;
use rayseg::render::raymarch::{
    Camera, ClipBox, Raymarcher, RenderMode, RenderSettings, StandardView, TransferPreset,
};
use rayseg::render::surfaces::{SurfaceClip, SurfaceDraw, SurfaceRenderer, SurfaceTargets};
use rayseg::volume::{Modality, Volume};

use super::SourceArgs;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModeArg {
    Mip,
    Minip,
    Avg,
    Dvr,
    Iso,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ViewArg {
    Anterior,
    Posterior,
    Left,
    Right,
    Superior,
    Inferior,
}

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Rendering mode.
    #[arg(long, value_enum, default_value = "mip")]
    mode: ModeArg,
    /// DVR transfer function (ct-bone, ct-soft-tissue, ct-lung, ct-angio, mr-default);
    /// for mip/minip/avg the CT names pick a window.
    #[arg(long)]
    preset: Option<String>,
    /// Window CENTER,WIDTH for mip/minip/avg (default: the volume's [min, max]).
    #[arg(long, allow_hyphen_values = true, value_name = "CENTER,WIDTH")]
    window: Option<String>,
    /// Isosurface value (default 300 for CT, else the middle of the value range).
    #[arg(long, allow_hyphen_values = true)]
    threshold: Option<f64>,
    /// Standard view; orthographic views show the patient's right on the image left
    /// from anterior, superior up.
    #[arg(long, value_enum, default_value = "anterior")]
    view: ViewArg,
    /// Azimuth in degrees about the superior axis (0 = anterior, 90 = from the patient's
    /// left); overrides --view.
    #[arg(long, allow_hyphen_values = true)]
    azimuth: Option<f64>,
    /// Elevation in degrees towards superior; overrides --view.
    #[arg(long, allow_hyphen_values = true)]
    elevation: Option<f64>,
    /// Perspective instead of orthographic projection.
    #[arg(long)]
    perspective: bool,
    /// Output size WxH (scaled to fit, aspect kept); default one pixel per voxel.
    #[arg(long, value_name = "WxH")]
    size: Option<String>,
    /// Label map on the image's grid, drawn in colour.
    #[arg(long, value_name = "MASK")]
    labels: Option<PathBuf>,
    /// Label opacity per voxel step, 0–1.
    #[arg(long, default_value_t = 0.5)]
    label_opacity: f32,
    /// Draw each label as a smooth shaded surface (opaque, in its colour), the
    /// volume in front composited over it, instead of as coloured voxels.
    #[arg(long, requires = "labels")]
    surfaces: bool,
    /// Clip box in voxel indices, inclusive: I0:I1,J0:J1,K0:K1.
    #[arg(long, value_name = "I0:I1,J0:J1,K0:K1")]
    clip: Option<String>,
    /// Start every ray at the same phase (deterministic, shows wood-grain in DVR).
    #[arg(long)]
    no_jitter: bool,
    /// Disable empty-space skipping (for comparisons).
    #[arg(long)]
    no_skip: bool,
    /// Disable early ray termination (for comparisons).
    #[arg(long)]
    no_early_stop: bool,
    /// Draw standard-view DVR like any other ray, not by column rays (for comparisons).
    #[arg(long)]
    no_column_rays: bool,
    /// Magnification of the fitted view (> 1 zooms in; 0.75 leaves the anterior
    /// ch2better brain covering about 40 % of a square image).
    #[arg(long, default_value_t = 1.0)]
    zoom: f64,
    /// Render the frame N times (timing): with RAYSEG_TIMINGS, stderr gets a
    /// `render_frames {json}` line with the first frame (shader JIT, first use) and
    /// the median of the others (the warm frame an interactive viewer sees).
    #[arg(long, default_value_t = 1, value_name = "N")]
    repeat: u32,
    /// Output PNG.
    #[arg(short, long)]
    output: PathBuf,
}

/// "C,W" → (centre, width), width ≥ 1.
pub fn parse_window(s: &str) -> anyhow::Result<(f64, f64)> {
    let (c, w) = s
        .split_once(',')
        .with_context(|| format!("--window {s:?}: expected CENTER,WIDTH"))?;
    let c: f64 = c
        .trim()
        .parse()
        .with_context(|| format!("--window centre {c:?}"))?;
    let w: f64 = w
        .trim()
        .parse()
        .with_context(|| format!("--window width {w:?}"))?;
    if !c.is_finite() || !w.is_finite() || w < 1.0 {
        bail!("--window {s:?}: centre must be finite and width at least 1");
    }
    Ok((c, w))
}

fn parse_size(s: &str) -> anyhow::Result<(u32, u32)> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .with_context(|| format!("--size {s:?}: expected WxH"))?;
    let (w, h): (u32, u32) = (w.trim().parse()?, h.trim().parse()?);
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        bail!("--size {s:?}: each side must be 1..=16384");
    }
    Ok((w, h))
}

fn parse_clip(s: &str, shape: [usize; 3]) -> anyhow::Result<ClipBox> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() != 3 {
        bail!("--clip {s:?}: expected I0:I1,J0:J1,K0:K1");
    }
    let mut clip = ClipBox {
        min: [0.0; 3],
        max: [0.0; 3],
    };
    for (axis, part) in parts.iter().enumerate() {
        let (a, b) = part
            .split_once(':')
            .with_context(|| format!("--clip {s:?}: axis {axis} needs LO:HI"))?;
        let (a, b): (f64, f64) = (a.trim().parse()?, b.trim().parse()?);
        if a > b || b < 0.0 || a > shape[axis] as f64 - 1.0 {
            bail!(
                "--clip {s:?}: axis {axis} range {a}:{b} is empty or outside 0..{}",
                shape[axis]
            );
        }
        clip.min[axis] = a;
        clip.max[axis] = b;
    }
    Ok(clip)
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let mut phases = super::timing::Phases::start();
    let volume = args.source.load()?;
    phases.mark("load");
    let mode = match args.mode {
        ModeArg::Mip => RenderMode::Mip,
        ModeArg::Minip => RenderMode::MinIp,
        ModeArg::Avg => RenderMode::Average,
        ModeArg::Dvr => RenderMode::Dvr,
        ModeArg::Iso => RenderMode::Iso,
    };
    let mut settings = RenderSettings::new(mode);
    let preset = match &args.preset {
        Some(name) => Some(TransferPreset::from_name(name).with_context(|| {
            format!(
                "--preset {name:?}: expected one of {}",
                TransferPreset::ALL.map(|p| p.name()).join(", ")
            )
        })?),
        None => None,
    };
    let default_preset = if volume.modality == Modality::Mr {
        TransferPreset::MrDefault
    } else {
        TransferPreset::CtBone
    };
    settings.transfer = preset.unwrap_or(default_preset).build(volume.value_range());
    settings.window = match &args.window {
        Some(w) => Some(parse_window(w)?),
        None => preset.and_then(|p| p.window()),
    };
    let (lo, hi) = volume.value_range();
    settings.threshold = args
        .threshold
        .unwrap_or(if volume.modality == Modality::Ct {
            300.0
        } else {
            (lo + hi) / 2.0
        });
    settings.jitter &= !args.no_jitter;
    settings.empty_space_skipping = !args.no_skip;
    settings.early_termination = !args.no_early_stop;
    settings.column_rays = !args.no_column_rays;
    settings.label_opacity = args.label_opacity.clamp(0.0, 1.0);
    if let Some(c) = &args.clip {
        settings.clip_vox = Some(parse_clip(c, volume.shape)?);
    }

    let (labels, label_set) = match &args.labels {
        Some(path) => {
            let file = super::load_label_map(path, &volume)?;
            (Some(file.labels), file.label_set)
        }
        None => (None, None),
    };
    // Surfaces replace the voxels' colours.
    settings.draw_labels = !args.surfaces;

    let view = match args.view {
        ViewArg::Anterior => StandardView::Anterior,
        ViewArg::Posterior => StandardView::Posterior,
        ViewArg::Left => StandardView::Left,
        ViewArg::Right => StandardView::Right,
        ViewArg::Superior => StandardView::Superior,
        ViewArg::Inferior => StandardView::Inferior,
    };
    let (mut az, mut el) = view.angles_deg();
    if args.azimuth.is_some() || args.elevation.is_some() {
        (az, el) = (args.azimuth.unwrap_or(0.0), args.elevation.unwrap_or(0.0));
    }
    let mut camera = Camera::fit(&volume, az, el);
    camera.perspective = args.perspective;
    if !(args.zoom.is_finite() && args.zoom > 0.0) {
        bail!("--zoom {}: must be a positive number", args.zoom);
    }
    camera.zoom(args.zoom);
    let frame = match &args.size {
        Some(s) => {
            let (w, h) = parse_size(s)?;
            camera.ray_frame(w, h, true)
        }
        None => {
            let [w, h] = camera.natural_size(&volume);
            camera.ray_frame(w, h, args.perspective)
        }
    };

    phases.mark("setup");
    let ctx = GpuContext::new(&GpuOptions::from_env())?;
    phases.mark("gpu_init");
    eprintln!("render: GPU adapter {}", adapter_summary(&ctx.adapter_info));
    let raymarcher = Raymarcher::new(&ctx.device)?;
    let prepared =
        raymarcher.prepare_volume(&ctx.device, &ctx.queue, &volume, labels.as_deref())?;
    let surfaces = match (&labels, args.surfaces) {
        (Some(labels), true) => Some(draw_surfaces(
            &ctx,
            &volume,
            labels,
            label_set.as_ref(),
            &frame,
            settings.clip_vox.as_ref(),
        )?),
        _ => None,
    };
    let layer = surfaces.as_ref().map(SurfaceTargets::layer);
    let render = || {
        raymarcher.render_to_image_with_surfaces(
            &ctx.device,
            &ctx.queue,
            &prepared,
            &frame,
            &settings,
            layer.as_ref(),
        )
    };
    phases.mark("prepare");
    let first = std::time::Instant::now();
    let image = render()?;
    let first_ms = first.elapsed().as_secs_f64() * 1e3;
    phases.mark("first_frame");
    // Later frames show the steady-state cost (pipelines JIT-compiled, caches warm).
    let timing = std::env::var_os("RAYSEG_TIMINGS").is_some();
    let warm_count = if timing {
        args.repeat.max(2) - 1
    } else {
        args.repeat.saturating_sub(1)
    };
    let mut warm_ms = Vec::new();
    let cpu_before = process_cpu_ms();
    for _ in 0..warm_count {
        let t = std::time::Instant::now();
        render()?;
        warm_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    // CPU time of all threads (lavapipe's included) per warm frame: less sensitive than
    // wall time to other processes competing for the cores.
    let warm_cpu_ms = match (cpu_before, process_cpu_ms()) {
        (Some(a), Some(b)) if warm_count > 0 => Some((b - a) / f64::from(warm_count)),
        _ => None,
    };
    if warm_count > 0 {
        phases.mark("frame");
    }
    if timing {
        let mut sorted = warm_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        eprintln!(
            "render_frames {}",
            serde_json::json!({
                "first_frame_ms": first_ms,
                "warm_median_ms": median,
                "warm_ms": warm_ms,
                "warm_cpu_ms": warm_cpu_ms,
            })
        );
    }
    image.save_png(&args.output)?;
    phases.mark("save");
    phases.report();
    eprintln!(
        "render: wrote {} ({}x{}, {:?})",
        args.output.display(),
        image.width,
        image.height,
        mode
    );
    Ok(())
}

/// Every label's surface (as the app's 3-D view builds it), drawn for `frame`.
fn draw_surfaces(
    ctx: &GpuContext,
    volume: &Volume,
    labels: &[u8],
    label_set: Option<&LabelSet>,
    frame: &rayseg::render::raymarch::RayFrame,
    clip: Option<&ClipBox>,
) -> anyhow::Result<SurfaceTargets> {
    let mut present = [false; 256];
    for &l in labels {
        present[usize::from(l)] = true;
    }
    let renderer = SurfaceRenderer::new(&ctx.device)?;
    let mut meshes = Vec::new();
    for label in (1..=255u8).filter(|&l| present[usize::from(l)]) {
        let mesh = label_surface(
            labels,
            volume.shape,
            volume.ras_from_voxel,
            label,
            &MeshOptions::default(),
        );
        let name = format!("label_{label}");
        if let Some(gpu) = renderer.upload(&ctx.device, &mesh, &name)? {
            let rgb = label_set
                .and_then(|s| s.get(label))
                .map_or_else(|| default_label_color(label), |l| l.color);
            let [r, g, b] = rgb.map(|c| f32::from(c) / 255.0);
            meshes.push((gpu, [r, g, b, 1.0]));
        }
    }
    let draws: Vec<SurfaceDraw> = meshes
        .iter()
        .map(|(mesh, rgba)| SurfaceDraw { mesh, rgba: *rgba })
        .collect();
    let mut targets = renderer.targets(&ctx.device, frame.width, frame.height)?;
    let clip = clip.map(|c| SurfaceClip::new(c, volume.ras_from_voxel));
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("render::surfaces_encoder"),
        });
    renderer.encode(
        &ctx.device,
        &ctx.queue,
        &mut encoder,
        &mut targets,
        frame,
        clip.as_ref(),
        &draws,
    )?;
    ctx.queue.submit([encoder.finish()]);
    Ok(targets)
}

/// User + system CPU time of this process, all threads (Linux /proc; `None` elsewhere).
fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and
    // 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 10.0)
}
