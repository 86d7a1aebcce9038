//! `rayseg track`: lesions over time points, RECIST 1.1 and volumetric response.

use rayseg::register::{RegisterOptions, read_transform, register};
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
    /// Transform from `rayseg register` (JSON) or an ITK .tfm mapping a
    /// baseline point to a follow-up's, one per follow-up, in order. Without
    /// it (and without --no-register) each follow-up is registered rigidly.
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
/// `--transform` files (rayseg JSON or ITK .tfm), the identity with
/// `--no-register`, else each follow-up registered rigidly to the baseline
/// (Mattes mutual information, so a contrast change between visits is fine).
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
        return Ok(args
            .transforms
            .iter()
            .map(|p| read_transform(p))
            .collect::<Result<_, _>>()?);
    }
    let options = RegisterOptions::default();
    images[1..]
        .iter()
        .enumerate()
        .map(|(n, follow_up)| {
            let reg = register(&images[0], follow_up, &options)
                .with_context(|| format!("registering follow-up {} to the baseline", n + 1))?;
            eprintln!(
                "registered follow-up {} to the baseline (rigid, Mattes MI {:.4})",
                n + 1,
                reg.final_metric
            );
            Ok(reg.moving_ras_from_fixed_ras)
        })
        .collect()
}
