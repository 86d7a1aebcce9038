//! `rayseg brush`: paint or erase a 3-D brush stroke into a label map (GPU).

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, ValueEnum};
use glam::DVec3;
use rayseg::annotate::brush::stroke_bounds;
use rayseg::annotate::brush::{Brush, BrushMode, BrushStroke, OverwritePolicy, SlicePlane};
use rayseg::annotate::label_formats::{LabelFormat, output_format};
use rayseg::annotate::label_volume::GpuLabelVolume;
use rayseg::annotate::labels::LabelSet;
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};

use super::SourceArgs;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Plane {
    Axial,
    Coronal,
    Sagittal,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Policy {
    /// Paint over background and every unlocked label.
    All,
    /// Paint over background only.
    BackgroundOnly,
}

#[derive(Args)]
pub struct BrushArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Stroke start (brush centre) in RAS millimetres X,Y,Z.
    #[arg(long, value_name = "X,Y,Z", value_parser = parse_xyz, allow_hyphen_values = true)]
    pub center_mm: [f64; 3],
    /// Stroke end in RAS mm (repeatable: a polyline); the sphere sweeps between points.
    #[arg(long, value_name = "X,Y,Z", value_parser = parse_xyz, allow_hyphen_values = true)]
    pub to_mm: Vec<[f64; 3]>,
    /// Brush radius in millimetres.
    #[arg(long)]
    pub radius_mm: f64,
    /// Erase (set 0) instead of painting: only --label when given, else every unlocked label.
    #[arg(long)]
    pub erase: bool,
    /// Only voxels with value ≥ this (scaled values, HU for CT) are edited.
    #[arg(long, allow_hyphen_values = true)]
    pub lower: Option<f64>,
    /// Only voxels with value ≤ this are edited.
    #[arg(long, allow_hyphen_values = true)]
    pub upper: Option<f64>,
    /// Label painted (default 1), or the only label erased with --erase.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: Option<u8>,
    /// Existing label map on the image's grid (its .labels.json sidecar, if any, gives locks).
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// Locked labels L,...: never overwritten.
    #[arg(long, value_delimiter = ',')]
    pub locked: Vec<u8>,
    /// What painting may overwrite.
    #[arg(long, value_enum, default_value_t = Policy::All)]
    pub policy: Policy,
    /// 2-D disk in the slice (of this orientation) holding the centre.
    #[arg(long, value_enum)]
    pub disk: Option<Plane>,
    /// Output label map: .nii(.gz), .nrrd, .mha (each with a .labels.json
    /// sidecar) or .seg.nrrd (3D Slicer), by extension unless --format says;
    /// the edit is journaled in `<name>.journal.jsonl` beside it.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format: nifti, seg.nrrd, nrrd or metaimage.
    #[arg(long)]
    pub format: Option<LabelFormat>,
    /// Who edits (default: $RAYSEG_AUTHOR, else the OS user name).
    #[arg(long)]
    pub author: Option<String>,
    /// --mask is a model's draft (NAME: the model): the journal records it,
    /// with its file's hash, as the start of human editing (see `provenance`).
    #[arg(long, value_name = "NAME", requires = "mask")]
    pub draft_model: Option<String>,
}

fn parse_xyz(s: &str) -> Result<[f64; 3], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(format!(
            "expected X,Y,Z (three comma-separated numbers), got {s:?}"
        ));
    };
    let parse = |x: &str| {
        x.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{x:?} is not a finite number"))
    };
    Ok([parse(a)?, parse(b)?, parse(c)?])
}

pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub fn run(args: BrushArgs) -> anyhow::Result<()> {
    if same_file(&args.output, &args.source.path) {
        bail!(
            "output {} is the input image; refusing to overwrite it",
            args.output.display()
        );
    }
    output_format(&args.output, args.format)?;
    let intensity_range = match (args.lower, args.upper) {
        (None, None) => None,
        (lo, hi) => Some((lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY))),
    };
    let volume = std::sync::Arc::new(args.source.load()?);
    let (labels, set) = match &args.mask {
        Some(path) => super::labelmap::read(path, &volume)?,
        None => (vec![0u8; volume.voxel_count()], LabelSet::default()),
    };
    let mut locked_bits = set.locked_bits();
    for &l in &args.locked {
        locked_bits[l as usize / 32] |= 1 << (l % 32);
    }
    let mode = if args.erase {
        BrushMode::Erase {
            only_label: args.label,
        }
    } else {
        BrushMode::Paint {
            label: args.label.unwrap_or(1),
        }
    };
    let mut points = vec![DVec3::from_array(args.center_mm)];
    points.extend(args.to_mm.iter().map(|p| DVec3::from_array(*p)));
    let stroke = BrushStroke {
        points_ras_mm: points,
        radius_mm: args.radius_mm,
        mode,
        policy: match args.policy {
            Policy::All => OverwritePolicy::All,
            Policy::BackgroundOnly => OverwritePolicy::BackgroundOnly,
        },
        intensity_range,
        disk: args.disk.map(|p| match p {
            Plane::Axial => SlicePlane::Axial,
            Plane::Coronal => SlicePlane::Coronal,
            Plane::Sagittal => SlicePlane::Sagittal,
        }),
        locked_bits,
    };
    stroke.validate()?;

    let ctx = GpuContext::new(&GpuOptions::from_env())?;
    let (device, queue) = (&ctx.device, &ctx.queue);
    let texture = VolumeTexture::upload(device, queue, &volume)?;
    let gpu_labels = GpuLabelVolume::new(device, volume.shape.map(|n| n as u32))?;
    gpu_labels.write(queue, &labels)?;
    let brush = Brush::new(device)?;
    let started = std::time::Instant::now();
    let outcome = brush.apply(device, queue, &volume, &texture, &gpu_labels, &stroke)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let brushed = gpu_labels.read(device, queue)?;
    let ml = outcome.changed_voxels as f64 * volume.voxel_volume_mm3() / 1000.0;
    println!(
        "brush: {} voxels changed ({ml:.3} mL) in {} dispatch(es), {ms:.1} ms with readback; adapter {}",
        outcome.changed_voxels,
        outcome.dispatches,
        adapter_summary(&ctx.adapter_info)
    );
    // The GPU's result enters the document as one journaled edit over the
    // stroke's box (the input map is the document's starting state).
    let mut doc = super::labelmap::journaled(
        volume.clone(),
        labels,
        set,
        args.mask.is_some(),
        &args.output,
        args.author.as_deref(),
        args.draft_model.as_deref().zip(args.mask.as_deref()),
        args.mask.as_deref(),
    )?;
    doc.begin_stroke();
    if let Some(bx) = stroke_bounds(&stroke, volume.shape, &volume.ras_from_voxel)? {
        let map = doc.stroke_labels_mut(bx);
        rayseg::annotate::document::change::copy_box(&brushed, map, volume.shape, &bx);
    }
    doc.end_stroke(&stroke)?;
    let (format, written) = super::labelmap::write(
        &args.output,
        doc.labels(),
        doc.label_set(),
        &volume,
        args.format,
    )?;
    doc.mark_saved(format)?;
    println!("wrote {written}");
    Ok(())
}
