//! Subcommands. Each parses its arguments and calls into the library.

mod brush;
mod compare;
mod consensus;
mod edit;
mod effects;
mod export_dataset;
mod export_seg;
mod grow;
mod journal;
mod labelmap;
mod mesh;
mod phantom;
mod provenance;
mod register;
mod render;
mod slice;
mod stats;
mod timing;
mod track;
mod view;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rayseg::annotate::label_formats::{LabelMapFile, read_label_map};
use rayseg::volume::{LoadOptions, load, summary::VolumeSummary};

#[derive(Parser)]
#[command(
    name = "rayseg",
    version,
    about = "GPU volume renderer and 3-D annotation tool for CT and MRI"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Open the interactive viewer (the default with no subcommand).
    View(view::ViewArgs),
    /// Print shape, spacing, voxel-to-RAS matrix, value range and warnings.
    Info(InfoArgs),
    /// Render a windowed axial, coronal or sagittal slice to PNG.
    Slice(slice::SliceArgs),
    /// Raymarch the volume (MIP, MinIP, average, DVR, isosurface) to PNG.
    Render(render::RenderArgs),
    /// Seeded region growing (connected threshold) into a label map.
    Grow(grow::GrowArgs),
    /// Paint or erase a 3-D brush stroke into a label map.
    Brush(brush::BrushArgs),
    /// Apply a script of edits (brush, grow, label ops), each journaled.
    Edit(edit::EditArgs),
    /// Read, verify or check out the edit journal beside a label map.
    Journal(journal::JournalArgs),
    /// Per-label statistics (volume in mL, HU mean/SD, diameters).
    Stats(stats::StatsArgs),
    /// Write a synthetic CT phantom with lesions of known volume.
    Phantom(phantom::PhantomArgs),
    /// Grow from seeds: labels painted as seeds compete for the region around them.
    Seeds(effects::SeedsArgs),
    /// Fill a label between the slices it was drawn on (morphological contour interpolation).
    Interpolate(effects::InterpolateArgs),
    /// Connected components of a label: keep the largest, remove small ones, or split.
    Islands(effects::IslandsArgs),
    /// Grow or shrink a label by an exact Euclidean distance in mm.
    Margin(effects::MarginArgs),
    /// Replace a label by a shell of a given thickness.
    Hollow(effects::HollowArgs),
    /// Smooth a label: median, opening, closing or Gaussian, sized in mm.
    Smooth(effects::SmoothArgs),
    /// Fill background pockets enclosed by a label (3-D or slice by slice).
    FillHoles(effects::FillHolesArgs),
    /// Union, subtract, intersect, invert, clear or copy labels.
    Logical(effects::LogicalArgs),
    /// Keep only a label's voxels whose image value lies in a range.
    ThresholdMask(effects::ThresholdMaskArgs),
    /// Agreement of two label maps: Dice, Jaccard, volumes, Hausdorff, HD95, ASSD, surface Dice.
    Compare(compare::CompareArgs),
    /// Consensus of several readers' label maps (STAPLE or majority vote).
    Consensus(consensus::ConsensusArgs),
    /// How much people changed a model's draft, per label, from the journal.
    Provenance(provenance::ProvenanceArgs),
    /// Write a label map as a DICOM Segmentation referencing its source series.
    ExportSeg(export_seg::ExportSegArgs),
    /// Write a label's surface as a watertight, smoothed mesh (STL, OBJ, PLY).
    Mesh(mesh::MeshArgs),
    /// Reviewed label maps of a cohort manifest as an nnU-Net v2 dataset or a MONAI datalist.
    ExportDataset(export_dataset::ExportDatasetArgs),
    /// Rigid or affine registration (Mattes mutual information, multi-resolution); writes the transform as JSON and ITK .tfm.
    Register(register::RegisterArgs),
    /// Track lesions over time points; RECIST 1.1 and volumetric response.
    Track(track::TrackArgs),
}

/// How to pick the image inside a file or folder.
#[derive(Args, Clone, Debug)]
pub struct SourceArgs {
    /// A NIfTI, NRRD or MetaImage file, a DICOM file, or a folder holding a
    /// DICOM series.
    pub path: PathBuf,
    /// Volume of a 4-D NIfTI, NRRD or MetaImage file, or channel of a
    /// multi-channel one (0-based).
    #[arg(long, default_value_t = 0)]
    pub volume: usize,
    /// SeriesInstanceUID to load from a folder with several series.
    #[arg(long)]
    pub series: Option<String>,
}

impl SourceArgs {
    pub fn load(&self) -> anyhow::Result<rayseg::volume::Volume> {
        let options = LoadOptions {
            volume_index: self.volume,
            series_uid: self.series.clone(),
            progress: None,
        };
        // LoadError already names the file and the problem.
        Ok(load(&self.path, &options)?)
    }
}

/// Reads a label map (`--labels`, `--mask`, `stats MASK`) onto `image`'s
/// grid, saying on stderr what its reader warned about: overlapping segments
/// of a `.seg.nrrd` flattened, for one.
pub fn load_label_map(
    path: &std::path::Path,
    image: &rayseg::volume::Volume,
) -> anyhow::Result<LabelMapFile> {
    let file = read_label_map(path, image, None)?;
    for w in &file.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    Ok(file)
}

#[derive(Args)]
struct InfoArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        None => view::run(view::ViewArgs::default()),
        Some(command) => run_command(command),
    }
}

fn run_command(command: Command) -> anyhow::Result<()> {
    match command {
        Command::View(args) => view::run(args),
        Command::Info(args) => info(args),
        Command::Slice(args) => slice::run(args),
        Command::Render(args) => render::run(args),
        Command::Grow(args) => grow::run(args),
        Command::Brush(args) => brush::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Edit(args) => edit::run(args),
        Command::Journal(args) => journal::run(args),
        Command::Phantom(args) => phantom::run(args),
        Command::Seeds(a) => effects::seeds(a),
        Command::Interpolate(a) => effects::interpolate(a),
        Command::Islands(a) => effects::islands(a),
        Command::Margin(a) => effects::margin(a),
        Command::Hollow(a) => effects::hollow(a),
        Command::Smooth(a) => effects::smooth(a),
        Command::FillHoles(a) => effects::fill_holes(a),
        Command::Logical(a) => effects::logical(a),
        Command::ThresholdMask(a) => effects::threshold_mask(a),
        Command::Compare(a) => compare::run(a),
        Command::Consensus(a) => consensus::run(a),
        Command::Provenance(a) => provenance::run(a),
        Command::ExportSeg(a) => export_seg::run(a),
        Command::Mesh(a) => mesh::run(a),
        Command::ExportDataset(a) => export_dataset::run(a),
        Command::Register(a) => register::run(a),
        Command::Track(a) => track::run(a),
    }
}

fn info(args: InfoArgs) -> anyhow::Result<()> {
    let mut phases = timing::Phases::start();
    let volume = args.source.load()?;
    phases.mark("load");
    let summary = VolumeSummary::new(&volume);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.to_text());
    }
    phases.report();
    Ok(())
}
