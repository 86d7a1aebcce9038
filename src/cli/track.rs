//! `rayseg track`: lesions over time points, RECIST 1.1 and volumetric response.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use glam::DMat4;
use rayseg::annotate::track::{
    Connectivity, DEFAULT_MATCH_DISTANCE_MM, TimePoint, TrackOptions, track,
};
use rayseg::volume::{LoadOptions, load};
use serde::Serialize;

#[derive(Args)]
pub struct TrackArgs {
    /// A time point: its image and its label map (on the image's grid, or
    /// resampled onto it). Repeat in time order; the first is the baseline.
    #[arg(long = "scan", num_args = 2, value_names = ["IMAGE", "MASK"], required = true)]
    pub scans: Vec<PathBuf>,
    /// JSON file whose "moving_ras_from_fixed_ras" (4x4, row-major) maps a
    /// baseline RAS point to a follow-up's RAS. One per follow-up, in order.
    #[arg(
        long = "transform",
        value_name = "T.json",
        conflicts_with = "no_register"
    )]
    pub transforms: Vec<PathBuf>,
    /// The scans share scanner coordinates: no registration (identity).
    #[arg(long)]
    pub no_register: bool,
    /// Each label value is one lesion, its id across time points (instead
    /// of each connected component of each label).
    #[arg(long)]
    pub by_label: bool,
    /// Components: 6 (faces, as scipy.ndimage.label and ITK) or 26.
    #[arg(long, default_value_t = 6, value_parser = connectivity)]
    pub connectivity: u8,
    /// Lesions left unmatched by overlap are paired when their centroids
    /// (baseline RAS) are at most this far apart.
    #[arg(long, value_name = "MM", default_value_t = DEFAULT_MATCH_DISTANCE_MM)]
    pub match_distance_mm: f64,
    /// Target lesion ids (at most 5, comma-separated) instead of the largest
    /// measurable baseline lesions.
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub targets: Option<Vec<u32>>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

fn connectivity(s: &str) -> Result<u8, String> {
    match s {
        "6" => Ok(6),
        "26" => Ok(26),
        _ => Err("6 or 26".into()),
    }
}

#[derive(Serialize)]
struct Files<'a> {
    image: &'a Path,
    mask: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    transform: Option<&'a Path>,
}

#[derive(Serialize)]
struct Output<'a> {
    files: Vec<Files<'a>>,
    #[serde(flatten)]
    report: &'a rayseg::annotate::track::report::TrackReport,
}

pub fn run(args: TrackArgs) -> anyhow::Result<()> {
    let mut phases = super::timing::Phases::start();
    let pairs: Vec<(&PathBuf, &PathBuf)> = args.scans.chunks(2).map(|p| (&p[0], &p[1])).collect();
    let mut scans = Vec::with_capacity(pairs.len());
    let mut images = Vec::with_capacity(pairs.len());
    for (image_path, mask_path) in &pairs {
        let options = LoadOptions {
            volume_index: 0,
            series_uid: None,
            progress: None,
        };
        let image = load(image_path, &options)?;
        let file = super::load_label_map(mask_path, &image)?;
        scans.push(TimePoint::on_grid_of(
            mask_path.display().to_string(),
            &image,
            file.labels,
        ));
        images.push(image);
    }
    phases.mark("read");
    let transforms = transforms_for(&args, &images)?;
    let options = TrackOptions {
        by_label: args.by_label,
        connectivity: if args.connectivity == 26 {
            Connectivity::TwentySix
        } else {
            Connectivity::Six
        },
        match_distance_mm: args.match_distance_mm,
        targets: args.targets.clone(),
    };
    let report = track(&scans, &transforms, &options)?;
    phases.mark("track");
    if args.json {
        let files = pairs
            .iter()
            .enumerate()
            .map(|(t, (image, mask))| Files {
                image,
                mask,
                transform: t
                    .checked_sub(1)
                    .and_then(|f| args.transforms.get(f))
                    .map(|p| p.as_path()),
            })
            .collect();
        let out = Output {
            files,
            report: &report,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", report.to_text());
    }
    phases.report();
    Ok(())
}

/// Baseline-to-follow-up transforms, one per follow-up: read from
/// `--transform` files, the identity with `--no-register`.
///
/// THE place for automatic registration: when neither is given, this is
/// where `rayseg::register::register(baseline, follow_up, &Default::default())`
/// will supply each `moving_ras_from_fixed_ras`.
fn transforms_for(
    args: &TrackArgs,
    images: &[rayseg::volume::Volume],
) -> anyhow::Result<Vec<DMat4>> {
    let follow_ups = images.len().saturating_sub(1);
    if args.no_register {
        return Ok(vec![DMat4::IDENTITY; follow_ups]);
    }
    if !args.transforms.is_empty() {
        if args.transforms.len() != follow_ups {
            bail!(
                "{} --transform files for {follow_ups} follow-up scans (give one per follow-up, in order)",
                args.transforms.len()
            );
        }
        return args.transforms.iter().map(|p| read_transform(p)).collect();
    }
    if follow_ups == 0 {
        return Ok(Vec::new());
    }
    bail!(
        "automatic registration not available in this build: give --transform T.json per \
         follow-up, or --no-register when the scans share scanner coordinates"
    )
}

/// Reads `"moving_ras_from_fixed_ras"` (4×4 nested arrays, row-major) from a
/// JSON file. To be replaced by `rayseg::register::read_transform`.
fn read_transform(path: &Path) -> anyhow::Result<DMat4> {
    #[derive(serde::Deserialize)]
    struct File {
        moving_ras_from_fixed_ras: [[f64; 4]; 4],
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: File = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected a JSON object with \"moving_ras_from_fixed_ras\": 4 rows of 4 numbers",
            path.display()
        )
    })?;
    let rows = file.moving_ras_from_fixed_ras;
    let m = DMat4::from_cols_array_2d(&rows).transpose();
    if !m.is_finite() || m.row(3) != glam::DVec4::W || m.determinant().abs() < 1e-12 {
        bail!(
            "{}: moving_ras_from_fixed_ras is not an invertible affine matrix (last row 0 0 0 1)",
            path.display()
        );
    }
    Ok(m)
}
