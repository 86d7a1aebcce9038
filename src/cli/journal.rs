//! `rayseg journal log|verify|checkout MASK`: read, check and rebuild from the
//! edit journal beside a label map.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use glam::DMat4;
use rayseg::annotate::journal::{
    ImageId, Replay, entry::EntryKind, hex, journal_path, label_map_hash, replay,
};
use rayseg::volume::{Modality, Volume, VoxelData};

#[derive(Args)]
pub struct JournalArgs {
    #[command(subcommand)]
    command: JournalCommand,
}

#[derive(Subcommand)]
enum JournalCommand {
    /// List the entries (checked as they are read).
    Log {
        /// The label map (its journal is `<name>.journal.jsonl` beside it) or the journal.
        mask: PathBuf,
        /// One JSON object per entry (the delta left out).
        #[arg(long)]
        json: bool,
    },
    /// Check the chain, every delta and label-map hash, and that the label map
    /// file holds what the last save wrote; exit 1 naming the first bad entry.
    Verify { mask: PathBuf },
    /// Write the label map as it was after entry N.
    Checkout {
        mask: PathBuf,
        #[arg(long)]
        at: u64,
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// The journal of a label map, or the journal itself.
fn journal_of(mask: &std::path::Path) -> PathBuf {
    if mask.to_string_lossy().ends_with(".journal.jsonl") {
        mask.to_owned()
    } else {
        journal_path(mask)
    }
}

/// A geometry-only image for reading and writing maps on the journal's grid.
fn reference(id: &ImageId) -> anyhow::Result<Volume> {
    let m = DMat4::from_cols_array_2d(&id.ras_from_voxel).transpose();
    let n = id.shape.iter().product();
    let modality = Modality::from_dicom_code(if id.modality == "unknown" {
        ""
    } else {
        &id.modality
    });
    Ok(Volume::new(
        id.shape,
        VoxelData::U8(vec![0; n]),
        m,
        modality,
    )?)
}

pub fn run(args: JournalArgs) -> anyhow::Result<()> {
    match args.command {
        JournalCommand::Log { mask, json } => log(&journal_of(&mask), json),
        JournalCommand::Verify { mask } => verify(&mask),
        JournalCommand::Checkout { mask, at, output } => {
            if super::brush::same_file(&output, &mask) {
                bail!("output {} is the label map itself", output.display());
            }
            let r = replay(&journal_of(&mask), Some(at))?;
            let image = reference(&r.image)?;
            let (_, written) =
                super::labelmap::write(&output, &r.labels, &r.label_set, &image, None)?;
            println!(
                "wrote {written} (the map after entry {at}, label_sha256 {})",
                r.head_sha256()
            );
            Ok(())
        }
    }
}

fn log(path: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let r = replay(path, None)?;
    for w in &r.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    for e in &r.entries {
        if json {
            let mut v = serde_json::to_value(e)?;
            if let Some(o) = v.as_object_mut()
                && let Some(d) = o.remove("delta")
            {
                o.insert("delta_bytes".into(), d.as_str().map_or(0, str::len).into());
            }
            println!("{v}");
        } else {
            let what = e.tool.clone().unwrap_or_else(|| format!("{:?}", e.kind));
            let bx = e
                .region
                .map_or(String::new(), |b| format!(" box {:?}-{:?}", b.min, b.max));
            println!(
                "{:>5}  {}  {:<16} {:<14} {:>10} voxels{bx}",
                e.seq, e.time, e.author, what, e.voxels_changed
            );
        }
    }
    Ok(())
}

fn verify(mask: &std::path::Path) -> anyhow::Result<()> {
    let path = journal_of(mask);
    let r: Replay = replay(&path, None).map_err(|e| anyhow::anyhow!("verification failed: {e}"))?;
    for w in &r.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    let last_save = r.entries.iter().rposition(|e| e.kind == EntryKind::Save);
    if let Some(s) = last_save
        && mask.exists()
        && path != mask
    {
        let image = reference(&r.image)?;
        let (labels, _) = super::labelmap::read(mask, &image)
            .with_context(|| format!("reading {}", mask.display()))?;
        let file_hash = hex(&label_map_hash(&labels, r.image.shape));
        if file_hash != r.entries[s].label_sha256 {
            bail!(
                "verification failed: {} does not hold what entry {s} (its last save) wrote: \
                 the file was changed outside rayseg",
                mask.display()
            );
        }
    }
    println!(
        "{}: {} entries verified (chain, deltas, label-map hashes){}",
        path.display(),
        r.entries.len(),
        match last_save {
            Some(s) => format!("; the label map matches entry {s}, its last save"),
            None => String::new(),
        }
    );
    let unsaved = r.unsaved().len();
    if unsaved > 0 {
        println!("{unsaved} entries after the last save (not in the label map file)");
    }
    Ok(())
}
