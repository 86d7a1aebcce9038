//! `rayseg slice`: one windowed MPR slice to PNG.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use glam::DVec3;
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::render::labels::LabelTexture;
use rayseg::render::mpr::{
    Convention, LabelMode, MprRenderer, SlabMode, SliceGeometry, SliceParams, SlicePlane,
    SlicePosition,
};
use rayseg::render::window::{CtPreset, Lut, Window, default_window};

use super::SourceArgs;

#[derive(Args)]
pub struct SliceArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// axial, coronal or sagittal.
    #[arg(long, default_value = "axial", value_parser = parse_plane)]
    pub plane: SlicePlane,
    /// Voxel slice index along the voxel axis most aligned with the plane normal.
    #[arg(long, conflicts_with = "mm")]
    pub index: Option<usize>,
    /// Plane position in RAS mm along the normal (z axial, y coronal, x sagittal).
    #[arg(long, allow_hyphen_values = true)]
    pub mm: Option<f64>,
    /// Window as CENTER,WIDTH (e.g. -600,1500). Default: soft tissue for CT,
    /// 1st–99th percentile for other modalities.
    #[arg(long, allow_hyphen_values = true, value_parser = parse_window, conflicts_with = "preset")]
    pub window: Option<Window>,
    /// CT preset: brain, subdural, stroke, soft-tissue, liver, mediastinum, lung, bone.
    #[arg(long, value_parser = parse_preset)]
    pub preset: Option<CtPreset>,
    /// Colour table: grey, inverted, hot, cool, bone.
    #[arg(long, default_value = "grey", value_parser = parse_lut)]
    pub lut: Lut,
    /// Label map on the image's grid (NIfTI, NRRD, MetaImage or DICOM), drawn
    /// over the slice.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Label opacity 0..=1 (default 0.5 filled, 1 with --outline).
    #[arg(long)]
    pub opacity: Option<f32>,
    /// Draw label outlines instead of filled labels.
    #[arg(long)]
    pub outline: bool,
    /// Slab thickness in mm (0 = single plane).
    #[arg(long, default_value_t = 0.0)]
    pub slab_mm: f64,
    /// How the slab combines: mip, minip or mean.
    #[arg(long, default_value = "mip", value_parser = parse_slab_mode)]
    pub slab_mode: SlabMode,
    /// Patient left on screen left (default: radiological, patient left on screen right).
    #[arg(long)]
    pub neurological: bool,
    /// Output size WxH; the field of view is fitted with square pixels (letterboxed).
    #[arg(long, value_parser = parse_size)]
    pub size: Option<[u32; 2]>,
    /// Crosshair through the RAS point X,Y,Z (mm).
    #[arg(long, allow_hyphen_values = true, value_parser = parse_point)]
    pub crosshair_mm: Option<DVec3>,
    /// Output PNG.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(args: SliceArgs) -> anyhow::Result<()> {
    let volume = args.source.load()?;
    let position = match (args.index, args.mm) {
        (Some(i), _) => SlicePosition::Index(i),
        (None, Some(mm)) => SlicePosition::Mm(mm),
        (None, None) => SlicePosition::Middle,
    };
    let convention = if args.neurological {
        Convention::Neurological
    } else {
        Convention::Radiological
    };
    let mut geometry = SliceGeometry::new(
        volume.shape,
        volume.ras_from_voxel,
        args.plane,
        position,
        convention,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.source.path.display()))?;
    if let Some([w, h]) = args.size {
        geometry = geometry
            .resized(w, h)
            .map_err(|e| anyhow::anyhow!("--size: {e}"))?;
    }
    let window = match (args.window, args.preset) {
        (Some(w), _) => w,
        (None, Some(p)) => p.window(),
        (None, None) => default_window(&volume),
    };
    if !(args.slab_mm >= 0.0 && args.slab_mm.is_finite()) {
        bail!(
            "--slab-mm must be a finite thickness >= 0, got {}",
            args.slab_mm
        );
    }
    let opacity = args.opacity.unwrap_or(if args.outline { 1.0 } else { 0.5 });
    if !(0.0..=1.0).contains(&opacity) {
        bail!("--opacity must be within 0..=1, got {opacity}");
    }

    let ctx = GpuContext::new(&GpuOptions::from_env())?;
    let (device, queue) = (&ctx.device, &ctx.queue);
    let texture = VolumeTexture::upload(device, queue, &volume)?;
    let (labels, label_mode) = match &args.labels {
        Some(path) => {
            let labels = super::load_label_map(path, &volume)?.labels;
            let tex = LabelTexture::upload(device, queue, &labels, volume.shape)?;
            let mode = if args.outline {
                LabelMode::Outline
            } else {
                LabelMode::Fill
            };
            (tex, mode)
        }
        None => (LabelTexture::empty(device, queue)?, LabelMode::Off),
    };
    let params = SliceParams {
        lut: args.lut,
        slab_mm: args.slab_mm,
        slab_mode: args.slab_mode,
        label_mode,
        label_opacity: opacity,
        crosshair_ras: args.crosshair_mm,
        ..SliceParams::new(geometry, window)
    };
    let renderer = MprRenderer::new(device)?;
    let image = renderer.render_to_image(device, queue, &texture, &labels, &params)?;
    image.save_png(&args.output)?;
    let letters = params.geometry.edge_letters();
    eprintln!(
        "wrote {} ({}x{}, window {}/{}, edges top {} bottom {} left {} right {})",
        args.output.display(),
        image.width,
        image.height,
        window.center,
        window.width,
        letters.top,
        letters.bottom,
        letters.left,
        letters.right
    );
    Ok(())
}

fn parse_plane(s: &str) -> Result<SlicePlane, String> {
    SlicePlane::from_name(s)
        .ok_or_else(|| format!("unknown plane {s:?} (axial, coronal, sagittal)"))
}

fn parse_preset(s: &str) -> Result<CtPreset, String> {
    CtPreset::from_name(s).ok_or_else(|| {
        let names: Vec<_> = CtPreset::ALL.iter().map(|p| p.name()).collect();
        format!("unknown preset {s:?} ({})", names.join(", "))
    })
}

fn parse_lut(s: &str) -> Result<Lut, String> {
    Lut::from_name(s).ok_or_else(|| {
        let names: Vec<_> = Lut::ALL.iter().map(|l| l.name()).collect();
        format!("unknown lut {s:?} ({})", names.join(", "))
    })
}

fn parse_slab_mode(s: &str) -> Result<SlabMode, String> {
    SlabMode::from_name(s).ok_or_else(|| format!("unknown slab mode {s:?} (mip, minip, mean)"))
}

fn parse_numbers<const N: usize>(s: &str, what: &str) -> Result<[f64; N], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != N {
        return Err(format!("expected {what}, got {s:?}"));
    }
    let mut out = [0.0; N];
    for (o, p) in out.iter_mut().zip(&parts) {
        *o = p
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{p:?} is not a number (expected {what})"))?;
    }
    Ok(out)
}

fn parse_window(s: &str) -> Result<Window, String> {
    let [center, width] = parse_numbers::<2>(s, "CENTER,WIDTH")?;
    if width <= 0.0 {
        return Err(format!("window width must be > 0, got {width}"));
    }
    Ok(Window::new(center, width))
}

fn parse_point(s: &str) -> Result<DVec3, String> {
    parse_numbers::<3>(s, "X,Y,Z in mm").map(DVec3::from_array)
}

fn parse_size(s: &str) -> Result<[u32; 2], String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WxH, got {s:?}"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{v:?} is not a positive size (expected WxH)"))
    };
    Ok([n(w)?, n(h)?])
}
