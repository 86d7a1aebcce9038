//! `rayseg export-dataset`: reviewed annotations of a cohort as an nnU-Net v2
//! raw dataset or a MONAI datalist.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use rayseg::cohort::{DatasetFormat, ExportOptions, export_dataset, read_manifest};

#[derive(Args)]
pub struct ExportDatasetArgs {
    /// Cohort manifest CSV: case_id, image, labels (`;`-separated, primary
    /// first), reference, timepoint. Relative paths are from its folder.
    pub manifest: PathBuf,
    /// New (or empty) output folder; for nnU-Net name it DatasetNNN_Name.
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value_t = FormatArg::Nnunet)]
    pub format: FormatArg,
    /// Name of the image channel (default: from the modality; "CT" selects
    /// nnU-Net's CT normalisation).
    #[arg(long)]
    pub channel_name: Option<String>,
    /// Cross-validation folds grouped by case_id (MONAI: a "fold" per entry;
    /// nnU-Net: splits_final.json to copy into nnUNet_preprocessed/DatasetNNN_Name/).
    #[arg(long)]
    pub folds: Option<usize>,
    /// Print the export report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Nnunet,
    Monai,
}

pub fn run(args: ExportDatasetArgs) -> anyhow::Result<()> {
    let rows = read_manifest(&args.manifest)?;
    if !args.json
        && !args
            .output
            .file_name()
            .is_some_and(|n| looks_like_nnunet_name(&n.to_string_lossy()))
        && args.format == FormatArg::Nnunet
    {
        eprintln!(
            "note: nnU-Net expects the folder to be named DatasetNNN_Name (e.g. Dataset501_Tumours)"
        );
    }
    let format = match args.format {
        FormatArg::Nnunet => DatasetFormat::NnUnet,
        FormatArg::Monai => DatasetFormat::Monai,
    };
    let options = ExportOptions {
        channel_name: args.channel_name,
        folds: args.folds.filter(|&k| k > 0),
        ..Default::default()
    };
    let report = export_dataset(&rows, &args.output, format, &options)
        .with_context(|| format!("exporting {}", args.manifest.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} scan(s) written to {} ({:?}), channel {:?}",
        report.exported.len(),
        report.output.display(),
        report.format,
        report.channel_name
    );
    for (v, name) in &report.labels {
        println!("  label {v}: {name}");
    }
    for s in report.exported.iter().filter(|s| !s.renumbered.is_empty()) {
        println!("  {}: values renumbered {:?}", s.scan_id, s.renumbered);
    }
    if !report.left_out.is_empty() {
        println!("left out {}:", report.left_out.len());
        for l in &report.left_out {
            println!(
                "  {} (manifest line {}): {}",
                l.scan_id, l.manifest_line, l.reason
            );
        }
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

fn looks_like_nnunet_name(name: &str) -> bool {
    name.len() > 11
        && name.starts_with("Dataset")
        && name[7..10].bytes().all(|b| b.is_ascii_digit())
        && name.as_bytes()[10] == b'_'
}
