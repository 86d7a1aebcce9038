//! `rayseg stats`: per-label statistics of a label map over an image.

use std::path::PathBuf;

use clap::Args;
use rayseg::annotate::stats::{RECIST_PERPENDICULAR_TOLERANCE_DEG, label_stats};
use rayseg::volume::{LoadOptions, load};

#[derive(Args)]
pub struct StatsArgs {
    /// Label map on the image's grid (NIfTI, NRRD, MetaImage or DICOM).
    pub mask: PathBuf,
    /// The image the statistics are taken over.
    #[arg(long)]
    pub image: PathBuf,
    /// Print a JSON list, one object per label present.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: StatsArgs) -> anyhow::Result<()> {
    let image = load(&args.image, &LoadOptions::default())?;
    let mask = super::load_label_map(&args.mask, &image)?;
    let stats = label_stats(&image, &mask.labels, mask.label_set.as_ref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(());
    }
    if stats.is_empty() {
        println!("no labels in {}", args.mask.display());
        return Ok(());
    }
    println!(
        "{:>5} {:<16} {:>10} {:>10} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}  centroid RAS mm",
        "label",
        "name",
        "voxels",
        "mL",
        "mean",
        "sd",
        "min",
        "max",
        "diam mm",
        "RECIST L",
        "RECIST S"
    );
    for s in &stats {
        let c = s.centroid_ras_mm;
        println!(
            "{:>5} {:<16} {:>10} {:>10.3} {:>9.2} {:>8.2} {:>8.1} {:>8.1} {:>9.2} {:>9.2} {:>9.2}  ({:.1}, {:.1}, {:.1})",
            s.label,
            s.name.as_deref().unwrap_or("-"),
            s.voxels,
            s.volume_ml,
            s.mean,
            s.sd,
            s.min,
            s.max,
            s.max_diameter_mm,
            s.recist_long_mm,
            s.recist_short_mm,
            c[0],
            c[1],
            c[2]
        );
    }
    println!(
        "sd: population (ddof 0); RECIST short axis within ±{RECIST_PERPENDICULAR_TOLERANCE_DEG}° of perpendicular"
    );
    Ok(())
}
