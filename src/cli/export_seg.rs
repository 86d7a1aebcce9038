//! `rayseg export-seg`: DICOM Segmentation export.

use std::path::PathBuf;

use clap::Args;
use rayseg::annotate::journal::resolve_author;
use rayseg::annotate::label_formats::dicom_seg::{
    AlgorithmType, Deidentify, ExportRequest, SegmentationType, export,
};
use rayseg::annotate::label_formats::ensure_not_image;

use super::SourceArgs;

#[derive(Args)]
pub struct ExportSegArgs {
    /// The label map to export (NIfTI, NRRD, MetaImage, .seg.nrrd or DICOM
    /// SEG) on the grid of the --image series; names, colours and
    /// terminology come from it (or its sidecar), algorithm types from its
    /// journal.
    pub mask: PathBuf,
    /// The DICOM series (a folder, or one file) the mask labels: the
    /// Segmentation references its instances and copies its patient and
    /// study attributes.
    #[arg(long)]
    pub image: PathBuf,
    /// SeriesInstanceUID to use from a folder with several series.
    #[arg(long)]
    pub series: Option<String>,
    /// The Segmentation file to write (atomically; never an input).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Write a LABELMAP Segmentation (Label Map Segmentation Storage, DICOM
    /// 2024): one 8-bit frame per slice holding segment numbers. Default:
    /// BINARY (Segmentation Storage), one bit-packed frame per segment and
    /// slice.
    #[arg(long)]
    pub labelmap: bool,
    /// Write a de-identified object (PS3.15 Annex E basic profile): patient
    /// and study identifiers emptied, dates dummied, source UIDs replaced by
    /// hashes (consistent with the series de-identified the same way).
    #[arg(long)]
    pub deidentify: bool,
    /// With --deidentify: secret mixed into the UID hashes (default: the
    /// RAYSEG_DEID_SECRET environment variable, else none). Without one,
    /// anyone holding an original UID can compute its replacement.
    #[arg(long, requires = "deidentify")]
    pub uid_secret: Option<String>,
    /// With --deidentify: PatientName and PatientID to write (else empty).
    #[arg(long, requires = "deidentify")]
    pub pseudonym: Option<String>,
    /// ContentCreatorName (default: --author, RAYSEG_AUTHOR, else the OS
    /// user); not written with --deidentify.
    #[arg(long, alias = "author")]
    pub creator: Option<String>,
    /// SeriesNumber of the Segmentation series.
    #[arg(long, default_value_t = 300)]
    pub series_number: i64,
    /// SeriesDescription (not written with --deidentify).
    #[arg(long, default_value = "rayseg segmentation")]
    pub series_description: String,
}

pub fn run(args: ExportSegArgs) -> anyhow::Result<()> {
    let source = SourceArgs {
        path: args.image.clone(),
        volume: 0,
        series: args.series.clone(),
    };
    let image = source.load()?;
    if !image.provenance.format.starts_with("dicom") {
        anyhow::bail!(
            "{}: --image must be the DICOM series the mask labels (the Segmentation \
             references its instances)",
            args.image.display()
        );
    }
    ensure_not_image(&args.output, &args.image)?;
    let file = super::load_label_map(&args.mask, &image)?;
    let label_set = file.label_set.clone().unwrap_or_default();
    let kind = if args.labelmap {
        SegmentationType::Labelmap
    } else {
        SegmentationType::Binary
    };
    let deidentify = args.deidentify.then(|| Deidentify {
        secret: args
            .uid_secret
            .clone()
            .or_else(|| std::env::var("RAYSEG_DEID_SECRET").ok())
            .unwrap_or_default(),
        pseudonym: args.pseudonym.clone(),
    });
    let summary = export(&ExportRequest {
        image: &image,
        source_path: &args.image,
        labels: &file.labels,
        label_set: &label_set,
        mask_path: Some(&args.mask),
        output: &args.output,
        kind,
        deidentify,
        content_creator: resolve_author(args.creator.as_deref()),
        series_number: args.series_number,
        series_description: args.series_description.clone(),
    })?;
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    // Only what rayseg made is printed: no patient data, no source UIDs.
    println!(
        "wrote {}: {} Segmentation{}, {} frame(s), {} segment(s)",
        args.output.display(),
        if args.labelmap { "LABELMAP" } else { "BINARY" },
        if args.deidentify {
            " (de-identified)"
        } else {
            ""
        },
        summary.frames,
        summary.segments.len()
    );
    for s in &summary.segments {
        let algorithm = match (&s.algorithm.kind, &s.algorithm.name) {
            (AlgorithmType::Manual, _) | (_, None) => s.algorithm.kind.dicom().to_owned(),
            (kind, Some(name)) => format!("{} ({name})", kind.dicom()),
        };
        println!(
            "  segment {:>3}  label {:>3}  {:<24} {algorithm}",
            s.number, s.label, s.name
        );
    }
    Ok(())
}
