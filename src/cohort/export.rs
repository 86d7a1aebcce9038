//! `export-dataset`: reviewed annotations out as a training dataset.
//!
//! A scan goes in when its primary label map's labels are all reviewed as
//! completed (the review status kept beside the map, as Slicer's segment
//! status); every other scan is listed with the reason it was left out.
//! Images and labels are written as NIfTI from the same grid, so their
//! geometry agrees exactly (nnU-Net refuses pairs whose headers differ).
//!
//! Label values are made one table for the whole dataset, by name: nnU-Net v2
//! needs consecutive values 0..n with one meaning each. Names are ordered by
//! the smallest value they have anywhere, then numbered 1..n; a scan whose
//! values differ is renumbered, and the report says so.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use super::manifest::ManifestRow;
use super::splits::folds_by_case;
use crate::annotate::label_formats::{read_label_map, read_label_map_alone};
use crate::annotate::labels::{LabelSet, ReviewStatus};
use crate::volume::{LoadOptions, Volume, load, nifti};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    /// nnU-Net v2 raw dataset: imagesTr/, labelsTr/, dataset.json.
    NnUnet,
    /// MONAI (Medical Decathlon style) datalist.json beside imagesTr/, labelsTr/.
    Monai,
}

#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Name of the single input channel; by default the images' modality
    /// ("CT" selects nnU-Net's CT normalisation).
    pub channel_name: Option<String>,
    /// Cross-validation folds grouped by case (a `fold` key per MONAI entry;
    /// `splits_final.json` for nnU-Net).
    pub folds: Option<usize>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Error)]
pub enum ExportError {
    #[error(
        "{}: already exists and is not empty; give a new folder (nothing is overwritten)",
        .0.display()
    )]
    OutputNotEmpty(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no scan qualified; left out: {0}")]
    NothingToExport(String),
    #[error("{0}")]
    Write(#[from] crate::volume::LoadError),
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportedScan {
    pub scan_id: String,
    pub case_id: String,
    pub image: PathBuf,
    pub labels: PathBuf,
    pub image_out: String,
    pub labels_out: String,
    /// Original value → dataset value, where they differ.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub renumbered: BTreeMap<u8, u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fold: Option<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LeftOut {
    pub scan_id: String,
    pub manifest_line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    pub format: DatasetFormat,
    pub output: PathBuf,
    pub channel_name: String,
    /// Dataset label values 1..n and their names (0 is background).
    pub labels: BTreeMap<u8, String>,
    pub exported: Vec<ExportedScan>,
    pub left_out: Vec<LeftOut>,
    pub warnings: Vec<String>,
}

/// A scan whose label map passed review, before it is written.
struct Candidate<'a> {
    row: &'a ManifestRow,
    /// Values present in the map with their names.
    names: BTreeMap<u8, String>,
}

/// Why a label map is not ready for training, or its named values.
fn review_gate(
    set: Option<&LabelSet>,
    present: &[bool; 256],
) -> Result<BTreeMap<u8, String>, String> {
    let Some(set) = set else {
        return Err("no review status: the label map has no label descriptions beside it".into());
    };
    let mut names = BTreeMap::new();
    for (value, _) in present.iter().enumerate().skip(1).filter(|(_, p)| **p) {
        match set.get(value as u8) {
            Some(info) => {
                names.insert(value as u8, info.name.clone());
            }
            None => {
                return Err(format!(
                    "label {value} has voxels but no description or review"
                ));
            }
        }
    }
    if let Some(l) = set
        .labels
        .iter()
        .find(|l| l.review.status != ReviewStatus::Completed)
    {
        return Err(format!(
            "label {} ({:?}) is {}, not completed",
            l.value,
            l.name,
            l.review.status.slicer_name()
        ));
    }
    Ok(names)
}

fn check_row(row: &ManifestRow) -> Result<BTreeMap<u8, String>, String> {
    let Some(primary) = row.labels.first() else {
        return Err("no label map".into());
    };
    if !row.image.exists() {
        return Err(format!("image {} does not exist", row.image.display()));
    }
    let (_, file) = read_label_map_alone(primary, None).map_err(|e| e.to_string())?;
    let mut present = [false; 256];
    for &l in &file.labels {
        present[l as usize] = true;
    }
    review_gate(file.label_set.as_ref(), &present)
}

/// Dataset values by name: ordered by the smallest value each name has.
fn label_table(candidates: &[Candidate]) -> (BTreeMap<String, u8>, Vec<String>) {
    let mut lowest: HashMap<&str, u8> = HashMap::new();
    let mut warnings = Vec::new();
    for c in candidates {
        let mut seen: HashMap<&str, u8> = HashMap::new();
        for (&v, name) in &c.names {
            if let Some(&other) = seen.get(name.as_str()) {
                warnings.push(format!(
                    "{}: labels {other} and {v} are both named {name:?} and are merged",
                    c.row.scan_id()
                ));
            }
            seen.insert(name, v);
            let e = lowest.entry(name).or_insert(v);
            *e = (*e).min(v);
        }
    }
    let mut order: Vec<(&str, u8)> = lowest.into_iter().collect();
    order.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    let table = order
        .into_iter()
        .enumerate()
        .map(|(n, (name, _))| (name.to_owned(), n as u8 + 1))
        .collect();
    (table, warnings)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes the scans of `rows` that passed review into `out_dir` (new or
/// empty), in `format`, and reports what went in and what was left out.
pub fn export_dataset(
    rows: &[ManifestRow],
    out_dir: &Path,
    format: DatasetFormat,
    options: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    if out_dir.exists() {
        let mut entries = std::fs::read_dir(out_dir).map_err(io(out_dir))?;
        if entries.next().is_some() {
            return Err(ExportError::OutputNotEmpty(out_dir.to_owned()));
        }
    }
    let mut left_out = Vec::new();
    let leave = |left_out: &mut Vec<LeftOut>, row: &ManifestRow, reason: String| {
        left_out.push(LeftOut {
            scan_id: row.scan_id(),
            manifest_line: row.line,
            reason,
        })
    };
    let mut candidates = Vec::new();
    for row in rows {
        match check_row(row) {
            Ok(names) => candidates.push(Candidate { row, names }),
            Err(reason) => leave(&mut left_out, row, reason),
        }
    }
    let (table, mut warnings) = label_table(&candidates);

    let (images_dir, labels_dir) = (out_dir.join("imagesTr"), out_dir.join("labelsTr"));
    for d in [&images_dir, &labels_dir] {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    let mut exported = Vec::new();
    let mut modalities = Vec::new();
    for c in &candidates {
        match write_scan(c, &table, format, &images_dir, &labels_dir) {
            Ok((scan, modality)) => {
                exported.push(scan);
                modalities.push(modality);
            }
            Err(reason) => leave(&mut left_out, c.row, reason),
        }
    }
    if exported.is_empty() {
        let reasons: Vec<String> = left_out
            .iter()
            .map(|l| format!("{} ({})", l.scan_id, l.reason))
            .collect();
        return Err(ExportError::NothingToExport(reasons.join("; ")));
    }
    if let Some(k) = options.folds {
        let cases: Vec<&str> = exported.iter().map(|e| e.case_id.as_str()).collect();
        let folds = folds_by_case(&cases, k);
        for (scan, fold) in exported.iter_mut().zip(folds) {
            scan.fold = Some(fold);
        }
    }
    modalities.dedup();
    if modalities.len() > 1 {
        warnings.push(format!(
            "the images mix modalities: {}",
            modalities.join(", ")
        ));
    }
    let channel_name =
        options
            .channel_name
            .clone()
            .unwrap_or_else(|| match modalities[0].as_str() {
                "CT" => "CT".to_owned(),
                "MR" => "MRI".to_owned(),
                _ => "image".to_owned(),
            });
    let report = ExportReport {
        format,
        output: out_dir.to_owned(),
        channel_name,
        labels: table.iter().map(|(n, &v)| (v, n.clone())).collect(),
        exported,
        left_out,
        warnings,
    };
    super::export_json::write_index(&report, options)?;
    Ok(report)
}

/// Loads one scan, renumbers its labels to the dataset table and writes both.
fn write_scan(
    c: &Candidate,
    table: &BTreeMap<String, u8>,
    format: DatasetFormat,
    images_dir: &Path,
    labels_dir: &Path,
) -> Result<(ExportedScan, String), String> {
    let row = c.row;
    let image: Volume = load(&row.image, &LoadOptions::default()).map_err(|e| e.to_string())?;
    let primary = &row.labels[0];
    let file = read_label_map(primary, &image, None).map_err(|e| e.to_string())?;
    let mut lut: [u8; 256] = std::array::from_fn(|v| v as u8);
    let mut renumbered = BTreeMap::new();
    for (&v, name) in &c.names {
        let to = table[name];
        lut[v as usize] = to;
        if to != v {
            renumbered.insert(v, to);
        }
    }
    let labels: Vec<u8> = file.labels.iter().map(|&l| lut[l as usize]).collect();
    let scan_id = row.scan_id();
    let image_name = match format {
        DatasetFormat::NnUnet => format!("{scan_id}_0000.nii.gz"),
        DatasetFormat::Monai => format!("{scan_id}.nii.gz"),
    };
    let label_name = format!("{scan_id}.nii.gz");
    nifti::save_image(&images_dir.join(&image_name), &image).map_err(|e| e.to_string())?;
    nifti::save_label_map(&labels_dir.join(&label_name), &labels, &image)
        .map_err(|e| e.to_string())?;
    let scan = ExportedScan {
        scan_id,
        case_id: row.case_id.clone(),
        image: row.image.clone(),
        labels: primary.clone(),
        image_out: format!("imagesTr/{image_name}"),
        labels_out: format!("labelsTr/{label_name}"),
        renumbered,
        fold: None,
    };
    Ok((scan, image.modality.as_str().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotate::labels::LabelInfo;

    fn set(labels: &[(u8, &str, ReviewStatus)]) -> LabelSet {
        LabelSet {
            labels: labels
                .iter()
                .map(|&(v, n, s)| {
                    let mut l = LabelInfo::new(v, n);
                    l.review.status = s;
                    l
                })
                .collect(),
        }
    }

    #[test]
    fn review_gate_needs_every_label_described_and_completed() {
        let mut present = [false; 256];
        present[0] = true;
        present[2] = true;
        let done = set(&[
            (2, "tumour", ReviewStatus::Completed),
            (3, "cyst", ReviewStatus::Completed),
        ]);
        assert_eq!(review_gate(Some(&done), &present).unwrap()[&2], "tumour");
        let open = set(&[
            (2, "tumour", ReviewStatus::Completed),
            (3, "cyst", ReviewStatus::InProgress),
        ]);
        assert!(
            review_gate(Some(&open), &present)
                .unwrap_err()
                .contains("inprogress")
        );
        present[5] = true;
        assert!(
            review_gate(Some(&done), &present)
                .unwrap_err()
                .contains("label 5")
        );
        assert!(
            review_gate(None, &present)
                .unwrap_err()
                .contains("no review status")
        );
    }
}
