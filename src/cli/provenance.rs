//! `rayseg provenance`: how much people changed a model's draft, per label,
//! from the journal beside a label map.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use rayseg::annotate::journal::{hex, journal_path, label_map_hash, replay};
use rayseg::annotate::label_formats::read_label_map_alone;
use rayseg::annotate::provenance::{PairCounts, ProvenanceReport, last_draft, voxel_ml};

#[derive(Args)]
pub struct ProvenanceArgs {
    /// The label map (its journal `<name>.journal.jsonl` lies beside it).
    pub mask: PathBuf,
    /// The journal, if not beside the map.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ProvenanceArgs) -> anyhow::Result<()> {
    let journal = args
        .journal
        .clone()
        .unwrap_or_else(|| journal_path(&args.mask));
    if !journal.exists() {
        bail!(
            "{}: no journal beside it ({} does not exist)",
            args.mask.display(),
            journal.display()
        );
    }
    let all = replay(&journal, None)?;
    let Some((entry, origin, edits)) = last_draft(&all.entries) else {
        bail!(
            "{}: the journal records no model draft (open a draft with --draft-model NAME)",
            journal.display()
        );
    };
    let draft = replay(&journal, Some(entry.seq))?.labels;
    let (grid, file) = read_label_map_alone(&args.mask, None)?;
    if grid.shape != all.image.shape {
        bail!(
            "{}: grid {:?} is not the journal's image grid {:?} ({})",
            args.mask.display(),
            grid.shape,
            all.image.shape,
            journal.display()
        );
    }
    let mut warnings = file.warnings.clone();
    if hex(&label_map_hash(&file.labels, grid.shape)) != all.head_sha256() {
        warnings.push(format!(
            "the map is not the journal's last state: it was changed outside rayseg, or {} \
             holds edits made after the map was written",
            journal.display()
        ));
    }
    let pairs = PairCounts::from_maps(&draft, &file.labels);
    let names = file.label_set.unwrap_or(all.label_set);
    let report = ProvenanceReport::new(
        entry,
        origin,
        &pairs,
        voxel_ml(&grid.ras_from_voxel),
        &edits,
        &names,
    );
    for w in &warnings {
        eprintln!("warning: {}: {w}", args.mask.display());
    }
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["mask"] = args.mask.display().to_string().into();
        value["journal"] = journal.display().to_string().into();
        value["warnings"] = warnings.into();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print!("{}", text(&report));
    Ok(())
}

fn text(r: &ProvenanceReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "draft: model {} from {} (sha256 {}), journal entry {} at {} by {}",
        r.draft.model,
        r.draft.source,
        &r.draft.file_sha256[..12.min(r.draft.file_sha256.len())],
        r.draft_entry,
        r.draft_time,
        r.opened_by
    );
    let span = match (&r.first_edit, &r.last_edit) {
        (Some(a), Some(b)) => format!(" from {a} to {b}"),
        _ => String::new(),
    };
    let _ = writeln!(s, "human edits since: {}{span}", r.human_edits);
    let _ = writeln!(
        s,
        "{:>5}  {:<20} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6} {:>5}",
        "label", "name", "proposed", "kept", "removed", "added", "now", "dice", "edits"
    );
    for l in &r.labels {
        let _ = writeln!(
            s,
            "{:>5}  {:<20} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>6.3} {:>5}",
            l.label,
            l.name.as_deref().unwrap_or("-"),
            l.proposed_ml,
            l.kept_ml,
            l.removed_ml,
            l.added_ml,
            l.current_ml,
            l.dice,
            l.human_edits
        );
    }
    let _ = writeln!(s, "(volumes in mL)");
    s
}

/// Reads the draft file's origin for `--draft-model`.
pub fn draft_origin(
    model: &str,
    path: &std::path::Path,
) -> anyhow::Result<rayseg::annotate::provenance::DraftOrigin> {
    rayseg::annotate::provenance::DraftOrigin::from_file(model, path)
        .with_context(|| format!("reading the draft {}", path.display()))
}
