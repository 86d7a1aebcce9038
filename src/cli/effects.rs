//! The effect subcommands (`seeds`, `interpolate`, `islands`, `margin`,
//! `hollow`, `smooth`, `fill-holes`, `logical`, `threshold-mask`): each builds
//! the script op of the same name and runs it like `rayseg edit`, journaled.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{ArgGroup, Args, ValueEnum};
use rayseg::annotate::document::EditOp;
use rayseg::annotate::document::ops::{
    Axis, FillHolesOp, HollowOp, InterpolateOp, IslandsOp, Logical, LogicalOp, MarginOp, Overwrite,
    SeedsOp, Shell, SmoothOp, ThresholdMaskOp,
};
use rayseg::annotate::label_formats::LabelFormat;
use rayseg::volume::{LoadOptions, load};

use super::SourceArgs;
use super::edit::{OpsRun, run_ops};

/// What every effect on a label map takes.
#[derive(Args)]
pub struct MaskArgs {
    /// The label map edited (NIfTI, NRRD, MetaImage, .seg.nrrd); never overwritten.
    pub mask: PathBuf,
    /// The image whose grid the map is on (default: the map's own grid).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Output label map; its journal (`<name>.journal.jsonl`) is kept beside it.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format: nifti, seg.nrrd, nrrd or metaimage (default: by extension).
    #[arg(long)]
    pub format: Option<LabelFormat>,
    /// Who edits (default: $RAYSEG_AUTHOR, else the OS user name).
    #[arg(long)]
    pub author: Option<String>,
    /// Start from MASK even if the output's journal holds unsaved edits.
    #[arg(long)]
    pub discard_unsaved: bool,
    /// One JSON object per edit on stdout.
    #[arg(long)]
    pub json: bool,
    /// What the effect may take from other labels: all (unlocked ones) or background only.
    #[arg(long, value_enum, default_value_t = OverwriteArg::All)]
    pub overwrite: OverwriteArg,
    /// MASK is a model's draft (NAME: the model): the journal records it,
    /// with its file's hash, as the start of human editing (see `provenance`).
    #[arg(long, value_name = "NAME")]
    pub draft_model: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OverwriteArg {
    All,
    Background,
}

impl From<OverwriteArg> for Overwrite {
    fn from(o: OverwriteArg) -> Overwrite {
        match o {
            OverwriteArg::All => Overwrite::All,
            OverwriteArg::Background => Overwrite::Background,
        }
    }
}

impl MaskArgs {
    fn run(&self, op: EditOp) -> anyhow::Result<()> {
        let grid = self.image.as_ref().unwrap_or(&self.mask);
        let image = load(grid, &LoadOptions::default()).map_err(|e| {
            let hint = if self.image.is_none() {
                " (give the image with --image)"
            } else {
                ""
            };
            anyhow::anyhow!("{e}{hint}")
        })?;
        let run = OpsRun {
            image_path: grid,
            labels: Some(&self.mask),
            output: &self.output,
            format: self.format,
            author: self.author.as_deref(),
            discard_unsaved: self.discard_unsaved,
            json: self.json,
            what: op.name(),
            draft_model: self.draft_model.as_deref(),
        };
        run_ops(Arc::new(image), &[op], &run)
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AxisArg {
    I,
    J,
    K,
}

impl From<AxisArg> for Axis {
    fn from(a: AxisArg) -> Axis {
        match a {
            AxisArg::I => Axis::I,
            AxisArg::J => Axis::J,
            AxisArg::K => Axis::K,
        }
    }
}

#[derive(Args)]
pub struct SeedsArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Label map of seeds on the image grid: every non-zero label competes.
    #[arg(long)]
    pub seeds: PathBuf,
    /// Map to start from (default: the seeds map itself).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// The region of interest: the seeds' bounding box grown by this many mm.
    #[arg(long, default_value_t = 15.0)]
    pub roi_margin_mm: f64,
    /// This label competes but is removed from the output.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub background: Option<u8>,
    /// Gaussian smoothing of the image (σ in mm) before the competition; 0: none.
    #[arg(long, default_value_t = rayseg::annotate::document::effect_ops::SEEDS_SMOOTHING_MM)]
    pub smoothing_mm: f64,
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(long)]
    pub format: Option<LabelFormat>,
    #[arg(long)]
    pub author: Option<String>,
    #[arg(long)]
    pub discard_unsaved: bool,
    #[arg(long)]
    pub json: bool,
    /// What the result may take from labels that do not compete.
    #[arg(long, value_enum, default_value_t = OverwriteArg::All)]
    pub overwrite: OverwriteArg,
}

pub fn seeds(args: SeedsArgs) -> anyhow::Result<()> {
    let image = Arc::new(args.source.load()?);
    let op = EditOp::Seeds(SeedsOp {
        seeds: args.seeds.display().to_string(),
        roi_margin_mm: args.roi_margin_mm,
        smoothing_mm: args.smoothing_mm,
        background: args.background,
        overwrite: args.overwrite.into(),
    });
    let run = OpsRun {
        image_path: &args.source.path,
        labels: Some(args.labels.as_deref().unwrap_or(&args.seeds)),
        output: &args.output,
        format: args.format,
        author: args.author.as_deref(),
        discard_unsaved: args.discard_unsaved,
        json: args.json,
        what: "seeds",
        draft_model: None,
    };
    run_ops(image, &[op], &run)
}

#[derive(Args)]
pub struct InterpolateArgs {
    #[command(flatten)]
    pub common: MaskArgs,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// The axis the slices were drawn across (default: detected).
    #[arg(long, value_enum)]
    pub axis: Option<AxisArg>,
}

pub fn interpolate(a: InterpolateArgs) -> anyhow::Result<()> {
    a.common.run(EditOp::Interpolate(InterpolateOp {
        label: a.label,
        axis: a.axis.map(Into::into),
        overwrite: a.common.overwrite.into(),
    }))
}

#[derive(Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["keep_largest", "min_voxels", "split"])))]
pub struct IslandsArgs {
    #[command(flatten)]
    pub common: MaskArgs,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// Keep only the largest island.
    #[arg(long)]
    pub keep_largest: bool,
    /// Remove islands of fewer voxels.
    #[arg(long)]
    pub min_voxels: Option<u64>,
    /// The largest island keeps the label, every other gets a new one (largest first).
    #[arg(long)]
    pub split: bool,
    /// 6 (faces) or 26 (faces, edges, corners).
    #[arg(long, default_value_t = 6, value_parser = parse_connectivity)]
    pub connectivity: u32,
}

fn parse_connectivity(s: &str) -> Result<u32, String> {
    match s {
        "6" => Ok(6),
        "26" => Ok(26),
        _ => Err(format!("{s:?}: connectivity is 6 or 26")),
    }
}

pub fn islands(a: IslandsArgs) -> anyhow::Result<()> {
    a.common.run(EditOp::Islands(IslandsOp {
        label: a.label,
        keep_largest: a.keep_largest,
        min_voxels: a.min_voxels,
        split: a.split,
        connectivity: a.connectivity,
    }))
}

#[derive(Args)]
pub struct MarginArgs {
    #[command(flatten)]
    pub common: MaskArgs,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// Grow (> 0) or shrink (< 0) by this Euclidean distance in mm.
    #[arg(long, allow_negative_numbers = true)]
    pub mm: f64,
}

pub fn margin(a: MarginArgs) -> anyhow::Result<()> {
    a.common.run(EditOp::Margin(MarginOp {
        label: a.label,
        mm: a.mm,
        overwrite: a.common.overwrite.into(),
    }))
}

#[derive(Args)]
#[command(group(ArgGroup::new("shell").args(["inside", "outside", "centred"])))]
pub struct HollowArgs {
    #[command(flatten)]
    pub common: MaskArgs,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// Shell thickness in mm.
    #[arg(long)]
    pub mm: f64,
    /// The shell lies inside the surface (default).
    #[arg(long)]
    pub inside: bool,
    /// The shell lies outside the surface.
    #[arg(long)]
    pub outside: bool,
    /// The shell is centred on the surface.
    #[arg(long)]
    pub centred: bool,
}

pub fn hollow(a: HollowArgs) -> anyhow::Result<()> {
    let shell = if a.outside {
        Shell::Outside
    } else if a.centred {
        Shell::Centred
    } else {
        Shell::Inside
    };
    a.common.run(EditOp::Hollow(HollowOp {
        label: a.label,
        mm: a.mm,
        shell,
        overwrite: a.common.overwrite.into(),
    }))
}

#[derive(Args)]
#[command(group(ArgGroup::new("kernel").required(true)
    .args(["median_mm", "opening_mm", "closing_mm", "gaussian_mm"])))]
pub struct SmoothArgs {
    #[command(flatten)]
    pub common: MaskArgs,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// Median (majority) over a ball of this radius in mm.
    #[arg(long)]
    pub median_mm: Option<f64>,
    /// Opening (shrink then grow) by this radius: removes spurs and specks.
    #[arg(long)]
    pub opening_mm: Option<f64>,
    /// Closing (grow then shrink) by this radius: fills gaps and notches.
    #[arg(long)]
    pub closing_mm: Option<f64>,
    /// Gaussian of this standard deviation in mm, thresholded at one half.
    #[arg(long)]
    pub gaussian_mm: Option<f64>,
}

pub fn smooth(a: SmoothArgs) -> anyhow::Result<()> {
    a.common.run(EditOp::Smooth(SmoothOp {
        label: a.label,
        median_mm: a.median_mm,
        opening_mm: a.opening_mm,
        closing_mm: a.closing_mm,
        gaussian_mm: a.gaussian_mm,
        overwrite: a.common.overwrite.into(),
    }))
}

#[derive(Args)]
pub struct FillHolesArgs {
    #[command(flatten)]
    pub common: MaskArgs,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// Fill per 2-D slice instead of in 3-D.
    #[arg(long)]
    pub slice_wise: bool,
    /// The slices' axis with --slice-wise.
    #[arg(long, value_enum, default_value_t = AxisArg::K, requires = "slice_wise")]
    pub axis: AxisArg,
}

pub fn fill_holes(a: FillHolesArgs) -> anyhow::Result<()> {
    a.common.run(EditOp::FillHoles(FillHolesOp {
        label: a.label,
        slice_wise: a.slice_wise.then(|| a.axis.into()),
        overwrite: a.common.overwrite.into(),
    }))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogicalArg {
    Union,
    Subtract,
    Intersect,
    Invert,
    Clear,
    Copy,
}

#[derive(Args)]
pub struct LogicalArgs {
    #[command(flatten)]
    pub common: MaskArgs,
    #[arg(long, value_enum)]
    pub op: LogicalArg,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// The other label (union, subtract, intersect, copy).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub with: Option<u8>,
    /// Read --with from this label map (another reader's) instead of MASK.
    #[arg(long, requires = "with")]
    pub with_map: Option<PathBuf>,
}

pub fn logical(a: LogicalArgs) -> anyhow::Result<()> {
    let operation = match a.op {
        LogicalArg::Union => Logical::Union,
        LogicalArg::Subtract => Logical::Subtract,
        LogicalArg::Intersect => Logical::Intersect,
        LogicalArg::Invert => Logical::Invert,
        LogicalArg::Clear => Logical::Clear,
        LogicalArg::Copy => Logical::Copy,
    };
    a.common.run(EditOp::Logical(LogicalOp {
        operation,
        label: a.label,
        with: a.with,
        with_map: a.with_map.map(|p| p.display().to_string()),
        overwrite: a.common.overwrite.into(),
    }))
}

#[derive(Args)]
pub struct ThresholdMaskArgs {
    #[command(flatten)]
    pub common: MaskArgs,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// Keep voxels with value ≥ this (scaled values: HU for CT).
    #[arg(long, allow_negative_numbers = true)]
    pub lower: f64,
    /// Keep voxels with value ≤ this.
    #[arg(long, allow_negative_numbers = true)]
    pub upper: f64,
}

pub fn threshold_mask(a: ThresholdMaskArgs) -> anyhow::Result<()> {
    if a.common.image.is_none() {
        anyhow::bail!("threshold-mask needs the image: give it with --image");
    }
    a.common.run(EditOp::ThresholdMask(ThresholdMaskOp {
        label: a.label,
        lower: a.lower,
        upper: a.upper,
    }))
}
