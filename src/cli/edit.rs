//! `rayseg edit`: applies a script of edits to a label map through the
//! segmentation document, each journaled (and on disk) as it is made.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use rayseg::annotate::document::{Recovery, SegDocument, parse_script};
use rayseg::annotate::journal::{journal_path, resolve_author};
use rayseg::annotate::label_formats::{LabelFormat, output_format};
use rayseg::annotate::labels::LabelSet;

use super::SourceArgs;

#[derive(Args)]
pub struct EditArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Label map to start from (default: an empty map).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Output label map; its journal (`<name>.journal.jsonl`) is kept beside it.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format: nifti, seg.nrrd, nrrd or metaimage (default: by extension).
    #[arg(long)]
    pub format: Option<LabelFormat>,
    /// JSON list of edits, e.g. [{"op":"brush","label":1,"points_mm":[[x,y,z]],"radius_mm":5}].
    #[arg(long)]
    pub script: PathBuf,
    /// Who edits (default: $RAYSEG_AUTHOR, else the OS user name).
    #[arg(long)]
    pub author: Option<String>,
    /// Start from --labels (or empty) even if the journal holds edits made
    /// after its last save; by default those are restored first.
    #[arg(long)]
    pub discard_unsaved: bool,
    /// One JSON object per edit on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EditArgs) -> anyhow::Result<()> {
    if super::brush::same_file(&args.output, &args.source.path) {
        bail!(
            "output {} is the input image; refusing to overwrite it",
            args.output.display()
        );
    }
    output_format(&args.output, args.format)?;
    let text = std::fs::read_to_string(&args.script)
        .with_context(|| format!("reading the script {}", args.script.display()))?;
    let ops = parse_script(&text)
        .with_context(|| format!("{}: not a list of edit ops", args.script.display()))?;
    let image = Arc::new(args.source.load()?);
    let (labels, set, source) = match &args.labels {
        Some(path) => {
            let (labels, set) = super::labelmap::read(path, &image)?;
            (labels, set, "file")
        }
        None => (vec![0u8; image.voxel_count()], LabelSet::default(), "empty"),
    };
    let author = resolve_author(args.author.as_deref());
    let journal = journal_path(&args.output);
    let recovery = if args.discard_unsaved {
        Recovery::Discard
    } else {
        Recovery::Restore
    };
    let (mut doc, report) = SegDocument::open(
        image.clone(),
        labels,
        set,
        source,
        &journal,
        &author,
        recovery,
    )?;
    for w in &report.warnings {
        eprintln!("warning: {}: {w}", journal.display());
    }
    if report.unsaved_entries > 0 {
        if report.restored {
            eprintln!(
                "restored {} entries ({} edits) made after the last save from {} \
                 (--discard-unsaved starts from --labels instead)",
                report.unsaved_entries,
                report.unsaved_edits,
                journal.display()
            );
        } else {
            eprintln!(
                "discarded {} entries made after the last save (they stay in {})",
                report.unsaved_entries,
                journal.display()
            );
        }
    }
    for (n, op) in ops.iter().enumerate() {
        let started = Instant::now();
        let outcome = doc
            .apply(op)
            .with_context(|| format!("edit {n} ({}) of {}", op.name(), args.script.display()))?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        for w in &outcome.warnings {
            eprintln!("warning: edit {n} ({}): {w}", op.name());
        }
        if args.json {
            let line = serde_json::json!({
                "op": op.name(),
                "voxels_changed": outcome.voxels_changed,
                "ms": (ms * 1000.0).round() / 1000.0,
                "entry": outcome.seq,
            });
            println!("{line}");
        } else {
            println!(
                "{n}: {} changed {} voxels in {ms:.2} ms (journal entry {})",
                op.name(),
                outcome.voxels_changed,
                outcome.seq.map_or("-".into(), |s| s.to_string())
            );
        }
    }
    let (format, written) = super::labelmap::write(
        &args.output,
        doc.labels(),
        doc.label_set(),
        &image,
        args.format,
    )?;
    doc.mark_saved(format)?;
    if !args.json {
        println!(
            "wrote {written} ({} edits; journal {})",
            ops.len(),
            journal.display()
        );
    }
    Ok(())
}
