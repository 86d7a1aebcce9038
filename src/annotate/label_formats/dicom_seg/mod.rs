//! DICOM Segmentation (SEG): export of a label map as a Segmentation that
//! references its source series, and import of any Segmentation as a label
//! map with names, colours and terminology.
//!
//! Export ([`export`]): BINARY (Segmentation Storage, bit-packed, one frame
//! per segment and slice the segment is on) or LABELMAP (Label Map
//! Segmentation Storage, DICOM 2024 Supplement 243: one 8-bit frame per
//! slice whose values are segment numbers, 0 background). One segment per
//! label with voxels, numbered 1..n in label order; see `segment.rs` for what
//! each segment carries and `algorithm.rs` for how the journal beside the mask
//! sets its algorithm type. Patient and study attributes are copied from the
//! source, or de-identified (`deidentify.rs`). Written atomically, in
//! Explicit VR Little Endian; no patient data goes anywhere but the file.
//!
//! Import (`read`, `read_alone`): BINARY, FRACTIONAL (thresholded at half its maximum)
//! or LABELMAP, native or (8/16-bit) compressed pixel data, frames placed by
//! position on the Segmentation's own grid (`read.rs`),
//! then put on the image grid: exactly when that grid is a box of the
//! image's voxel lattice, else by the label-map placement code.

mod algorithm;
mod cielab;
mod dataset;
mod deidentify;
mod read;
mod segment;
mod source;
mod uid;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use algorithm::{Algorithm, AlgorithmType, DRAFT_TOOL, SEMI_AUTOMATIC_TOOLS};
pub use cielab::{dicom_lab_to_rgb, rgb_to_dicom_lab};
pub use deidentify::Deidentify;
pub use segment::default_terminology;
pub use source::SourceError;
pub use uid::mapped_uid;
pub use write::{
    LABEL_MAP_SEGMENTATION_STORAGE, SEGMENTATION_STORAGE, SegmentationType, WriteError,
};

use super::{LabelFormatError, LabelMapFile, Placement};
use crate::annotate::journal::{self, EntryKind, JournalError};
use crate::annotate::labels::{LabelInfo, LabelSet};
use crate::volume::{Modality, Volume, VoxelData};
use algorithm::{Step, StepKind, algorithms};
use read::{Pixels, SegGrid};
use segment::{SegmentDescription, complete_terminology};

/// True when `path` is a DICOM file whose file meta group names a
/// Segmentation or Label Map Segmentation SOP Class.
pub fn is_segmentation_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    if std::fs::File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .is_err()
    {
        return false;
    }
    head.get(128..132) == Some(b"DICM")
        && dicom_object::meta::FileMetaTable::from_reader(&head[128..])
            .is_ok_and(|m| read::is_segmentation_class(m.media_storage_sop_class_uid()))
}

fn seg_error(path: &Path, message: impl Into<String>) -> LabelFormatError {
    LabelFormatError::Segmentation {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Reads a Segmentation onto its own grid.
fn read_grid(path: &Path) -> Result<SegGrid, LabelFormatError> {
    use dicom_pixeldata::PixelDecoder;
    let (file, mut warnings) = crate::volume::dicom::open_full(path)?;
    let h = read::header(&file).map_err(|e| seg_error(path, e.0))?;
    let mut grid = match read::native_pixel_data(&file) {
        Some(bytes) => read::read_segmentation(&file, &h, &Pixels::Native(&bytes)),
        None if h.bits_allocated == 1 => {
            return Err(seg_error(
                path,
                "compressed BINARY pixel data is not supported (only native)",
            ));
        }
        None => {
            if file.get(dicom_dictionary_std::tags::PIXEL_DATA).is_none() {
                return Err(seg_error(path, "no PixelData"));
            }
            let mut frames = Vec::with_capacity(h.frames.min(1 << 16));
            for f in 0..h.frames {
                let decoded = crate::volume::dicom::guard(|| {
                    file.decode_pixel_data_frame(f as u32)
                        .map(|d| d.data().to_vec())
                })
                .map_err(|e| seg_error(path, e.to_string()))?
                .map_err(|e| seg_error(path, format!("frame {}: {e}", f + 1)))?;
                frames.push(decoded);
            }
            read::read_segmentation(&file, &h, &Pixels::Frames(frames))
        }
    }
    .map_err(|e| seg_error(path, e.0))?;
    warnings.append(&mut grid.warnings);
    grid.warnings = warnings;
    Ok(grid)
}

/// The label set a Segmentation describes.
fn label_set(grid: &SegGrid) -> LabelSet {
    let mut labels: Vec<LabelInfo> = grid
        .segments
        .iter()
        .map(|(label, s)| {
            let mut info = LabelInfo::new(*label, s.name.clone());
            if let Some(c) = s.color {
                info.color = c;
            }
            info.terminology = s.terminology.clone();
            info
        })
        .collect();
    labels.sort_by_key(|l| l.value);
    LabelSet { labels }
}

fn grid_volume(
    path: &Path,
    shape: [usize; 3],
    labels: Vec<u8>,
    ras_from_voxel: glam::DMat4,
    warnings: Vec<String>,
) -> Result<Volume, LabelFormatError> {
    let mut v = Volume::new(
        shape,
        VoxelData::U8(labels),
        ras_from_voxel,
        Modality::Other("SEG".into()),
    )
    .map_err(|e| seg_error(path, e.to_string()))?;
    v.warnings.splice(0..0, warnings);
    v.provenance.format = "dicom-seg".into();
    Ok(v)
}

/// Reads a Segmentation as a label map on `image`'s grid.
pub(super) fn read(path: &Path, image: &Volume) -> Result<LabelMapFile, LabelFormatError> {
    let grid = read_grid(path)?;
    let set = label_set(&grid);
    // A box of the image lattice (a SEG of this image's series, whatever
    // slices it covers) is placed voxel for voxel; anything else is left to
    // the placement code.
    let volume = match Placement::sub_box(image, grid.shape, &grid.ras_from_voxel) {
        Ok(placement) => {
            let mut labels = vec![0u8; image.voxel_count()];
            let mut outside = 0usize;
            placement.for_each(|_, n, target| match target {
                Some(t) => labels[t] = grid.labels[n],
                None => outside += usize::from(grid.labels[n] != 0),
            });
            let mut warnings = grid.warnings;
            if outside > 0 {
                warnings.push(format!(
                    "{outside} labelled voxel(s) lie outside the image grid: dropped"
                ));
            }
            grid_volume(path, image.shape, labels, image.ras_from_voxel, warnings)?
        }
        Err(_) => grid_volume(
            path,
            grid.shape,
            grid.labels,
            grid.ras_from_voxel,
            grid.warnings,
        )?,
    };
    let mut file = super::plain(path, image, volume)?;
    file.label_set = Some(set);
    Ok(file)
}

/// Reads a Segmentation on its own grid (no image): the grid as a volume
/// whose values are the labels, and the label map on it.
pub(super) fn read_alone(path: &Path) -> Result<(Volume, LabelMapFile), LabelFormatError> {
    let grid = read_grid(path)?;
    let set = label_set(&grid);
    let volume = grid_volume(
        path,
        grid.shape,
        grid.labels.clone(),
        grid.ras_from_voxel,
        Vec::new(),
    )?;
    let file = LabelMapFile {
        labels: grid.labels,
        label_set: Some(set),
        warnings: grid.warnings,
    };
    Ok((volume, file))
}

#[derive(Debug, Error)]
pub enum ExportError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: WriteError,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{}: is an input (the mask or a file of the source series); refusing to overwrite it", path.display())]
    OverwritesInput { path: PathBuf },
}

/// What to export and how.
pub struct ExportRequest<'a> {
    /// The image the mask labels, loaded from `source_path`.
    pub image: &'a Volume,
    /// The DICOM series (folder or file) the image was loaded from.
    pub source_path: &'a Path,
    /// One label per image voxel.
    pub labels: &'a [u8],
    pub label_set: &'a LabelSet,
    /// The mask file: its journal gives the algorithm types, and it must not
    /// be overwritten.
    pub mask_path: Option<&'a Path>,
    pub output: &'a Path,
    pub kind: SegmentationType,
    pub deidentify: Option<Deidentify>,
    /// ContentCreatorName (not written when de-identifying).
    pub content_creator: String,
    pub series_number: i64,
    pub series_description: String,
}

/// One segment written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedSegment {
    pub number: u16,
    pub label: u8,
    pub name: String,
    pub algorithm: Algorithm,
}

/// What was written (no patient data: safe to print).
#[derive(Clone, Debug)]
pub struct ExportSummary {
    pub frames: usize,
    pub segments: Vec<ExportedSegment>,
    pub warnings: Vec<String>,
}

/// The algorithm of each label from the journal beside `mask` (none: every
/// label MANUAL), and a warning when the journal does not end at `labels`.
pub fn algorithms_from_journal(
    mask: &Path,
    labels: &[u8],
) -> Result<(BTreeMap<u8, Algorithm>, Vec<String>), JournalError> {
    let path = journal::journal_path(mask);
    if !path.is_file() {
        return Ok((BTreeMap::new(), Vec::new()));
    }
    let replay = journal::replay(&path, None)?;
    let mut warnings = replay.warnings.clone();
    if replay.labels != labels {
        warnings.push(format!(
            "{}: the journal does not end at this mask (edited elsewhere since?): algorithm \
             types come from its history",
            path.display()
        ));
    }
    let steps: Vec<Step> = replay
        .entries
        .iter()
        .map(|e| Step {
            kind: match e.kind {
                EntryKind::Load => StepKind::Load,
                EntryKind::Edit => StepKind::Edit,
                _ => StepKind::Other,
            },
            tool: e.tool.clone(),
            model: e
                .params
                .get("model")
                .and_then(|m| m.as_str())
                .map(str::to_owned),
            labels: e
                .changed
                .iter()
                .filter(|(_, d)| d.added > 0 || d.removed > 0)
                .filter_map(|(l, _)| l.parse::<u8>().ok())
                .collect(),
        })
        .collect();
    Ok((algorithms(&steps), warnings))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Refuses an output that is an existing input: the mask, its journal, or
/// any file of (or in the folder of) the source series.
fn check_output(req: &ExportRequest) -> Result<(), ExportError> {
    let out = req.output;
    let refuse = || ExportError::OverwritesInput {
        path: out.to_owned(),
    };
    if let Some(mask) = req.mask_path
        && (same_file(out, mask) || same_file(out, &journal::journal_path(mask)))
    {
        return Err(refuse());
    }
    if same_file(out, req.source_path) {
        return Err(refuse());
    }
    if out.exists()
        && req.source_path.is_dir()
        && let (Ok(o), Ok(s)) = (out.canonicalize(), req.source_path.canonicalize())
        && o.starts_with(s)
    {
        return Err(refuse());
    }
    Ok(())
}

/// The segments of `labels`: one per label with voxels, numbered 1..n.
fn segments(
    labels: &[u8],
    set: &LabelSet,
    algorithms: &BTreeMap<u8, Algorithm>,
) -> Vec<SegmentDescription> {
    let mut present = [false; 256];
    for &l in labels {
        present[l as usize] = true;
    }
    (1..=255u8)
        .filter(|&l| present[l as usize])
        .enumerate()
        .map(|(n, label)| {
            let info = set
                .get(label)
                .cloned()
                .unwrap_or_else(|| LabelInfo::new(label, format!("label {label}")));
            let name = if info.name.trim().is_empty() {
                format!("label {label}")
            } else {
                info.name.clone()
            };
            SegmentDescription {
                number: n as u16 + 1,
                label,
                name,
                color: info.color,
                terminology: complete_terminology(info.terminology.as_ref()),
                algorithm: algorithms.get(&label).cloned().unwrap_or(Algorithm::MANUAL),
            }
        })
        .collect()
}

/// Writes the Segmentation of `req` (see the module notes).
pub fn export(req: &ExportRequest) -> Result<ExportSummary, ExportError> {
    check_output(req)?;
    let write_error = |source| ExportError::Write {
        path: req.output.to_owned(),
        source,
    };
    if req.labels.len() != req.image.voxel_count() {
        return Err(write_error(WriteError::Size {
            got: req.labels.len(),
            want: req.image.voxel_count(),
        }));
    }
    let source = source::read_source(req.source_path, req.image)?;
    let (algorithms, warnings) = match req.mask_path {
        Some(mask) => algorithms_from_journal(mask, req.labels)?,
        None => (BTreeMap::new(), Vec::new()),
    };
    let segments = segments(req.labels, req.label_set, &algorithms);
    let obj = write::build(&write::WriteRequest {
        kind: req.kind,
        labels: req.labels,
        source: &source,
        segments: &segments,
        deidentify: req.deidentify.as_ref(),
        content_creator: &req.content_creator,
        series_number: req.series_number,
        series_description: &req.series_description,
    })
    .map_err(write_error)?;
    let frames = obj
        .get(dicom_dictionary_std::tags::NUMBER_OF_FRAMES)
        .and_then(|e| e.value().to_int::<usize>().ok())
        .unwrap_or(0);
    write::write_file(req.output, &obj).map_err(write_error)?;
    Ok(ExportSummary {
        frames,
        segments: segments
            .into_iter()
            .map(|s| ExportedSegment {
                number: s.number,
                label: s.label,
                name: s.name,
                algorithm: s.algorithm,
            })
            .collect(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_numbered_in_label_order_with_defaults() {
        let mut set = LabelSet::default();
        set.labels.push(LabelInfo::new(9, "  "));
        let mut lung = LabelInfo::new(4, "lung");
        lung.color = [1, 2, 3];
        set.labels.push(lung);
        let mut algorithms = BTreeMap::new();
        let automatic = Algorithm {
            kind: AlgorithmType::Automatic,
            name: Some("m".into()),
        };
        algorithms.insert(9, automatic.clone());
        let s = segments(&[0, 9, 4, 4, 200, 0], &set, &algorithms);
        let got: Vec<(u16, u8, &str)> = s
            .iter()
            .map(|s| (s.number, s.label, s.name.as_str()))
            .collect();
        assert_eq!(
            got,
            [(1, 4, "lung"), (2, 9, "label 9"), (3, 200, "label 200")]
        );
        assert_eq!(s[0].color, [1, 2, 3]);
        assert_eq!(s[0].terminology, default_terminology());
        assert_eq!(
            (&s[0].algorithm, &s[1].algorithm),
            (&Algorithm::MANUAL, &automatic)
        );
    }

    #[test]
    fn only_segmentation_files_are_sniffed_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("x.dcm");
        std::fs::write(&plain, b"not dicom").unwrap();
        assert!(!is_segmentation_file(&plain));
        assert!(!is_segmentation_file(&dir.path().join("missing.dcm")));
    }
}
