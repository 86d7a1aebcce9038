//! `rayseg edit`: applies a script of edits to a label map through the
//! segmentation document, each journaled (and on disk) as it is made.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use rayseg::annotate::document::{EditOp, Recovery, SegDocument, parse_script};
use rayseg::annotate::journal::{journal_path, resolve_author};
use rayseg::annotate::label_formats::{LabelFormat, output_format};
use rayseg::annotate::labels::LabelSet;
use rayseg::volume::Volume;

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
    /// --labels is a model's draft (NAME: the model): the journal records it,
    /// with its file's hash, as the start of human editing (see `provenance`).
    #[arg(long, value_name = "NAME", requires = "labels")]
    pub draft_model: Option<String>,
}

pub fn run(args: EditArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.script)
        .with_context(|| format!("reading the script {}", args.script.display()))?;
    let ops = parse_script(&text)
        .with_context(|| format!("{}: not a list of edit ops", args.script.display()))?;
    let image = Arc::new(args.source.load()?);
    let run = OpsRun {
        image_path: &args.source.path,
        labels: args.labels.as_deref(),
        output: &args.output,
        format: args.format,
        author: args.author.as_deref(),
        discard_unsaved: args.discard_unsaved,
        json: args.json,
        what: &args.script.display().to_string(),
        draft_model: args.draft_model.as_deref(),
    };
    run_ops(image, &ops, &run)
}

/// How a list of ops is run (`edit --script`, and each effect subcommand).
pub struct OpsRun<'a> {
    pub image_path: &'a Path,
    /// The map to start from (else an empty one).
    pub labels: Option<&'a Path>,
    pub output: &'a Path,
    pub format: Option<LabelFormat>,
    pub author: Option<&'a str>,
    pub discard_unsaved: bool,
    pub json: bool,
    /// Where the ops came from, for error messages.
    pub what: &'a str,
    /// `labels` is this model's draft.
    pub draft_model: Option<&'a str>,
}

/// Applies `ops` to the map through the segmentation document, each
/// journaled beside the output, printing per op the voxels changed and the
/// milliseconds it took; then writes the output atomically.
pub fn run_ops(image: Arc<Volume>, ops: &[EditOp], run: &OpsRun) -> anyhow::Result<()> {
    if super::brush::same_file(run.output, run.image_path)
        || run
            .labels
            .is_some_and(|l| super::brush::same_file(run.output, l))
    {
        bail!(
            "output {} is an input; refusing to overwrite it",
            run.output.display()
        );
    }
    output_format(run.output, run.format)?;
    let (labels, set, source) = match run.labels {
        Some(path) => {
            let (labels, set) = super::labelmap::read(path, &image)?;
            (labels, set, "file")
        }
        None => (vec![0u8; image.voxel_count()], LabelSet::default(), "empty"),
    };
    let author = resolve_author(run.author);
    let journal = journal_path(run.output);
    let recovery = if run.discard_unsaved {
        Recovery::Discard
    } else {
        Recovery::Restore
    };
    if let (None, Some(input)) = (run.draft_model, run.labels)
        && super::labelmap::continue_history(input, &labels, image.shape, run.output)?
    {
        eprintln!(
            "continuing the edit history of {} in {}",
            input.display(),
            journal.display()
        );
    }
    let (mut doc, report) = match (run.draft_model, run.labels) {
        (Some(model), Some(path)) => {
            let origin = super::provenance::draft_origin(model, path)?;
            SegDocument::open_draft(image.clone(), labels, set, origin, &journal, &author)?
        }
        _ => SegDocument::open(
            image.clone(),
            labels,
            set,
            source,
            &journal,
            &author,
            recovery,
        )?,
    };
    for w in &report.warnings {
        eprintln!("warning: {}: {w}", journal.display());
    }
    if report.unsaved_entries > 0 {
        if report.restored {
            eprintln!(
                "restored {} entries ({} edits) made after the last save from {} \
                 (--discard-unsaved starts from the input map instead)",
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
            .with_context(|| format!("edit {n} ({}) of {}", op.name(), run.what))?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        for w in &outcome.warnings {
            eprintln!("warning: edit {n} ({}): {w}", op.name());
        }
        if run.json {
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
        run.output,
        doc.labels(),
        doc.label_set(),
        &image,
        run.format,
    )?;
    doc.mark_saved(format)?;
    if !run.json {
        println!(
            "wrote {written} ({} edits; journal {})",
            ops.len(),
            journal.display()
        );
    }
    Ok(())
}
