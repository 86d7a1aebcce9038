//! The cohort manifest: one CSV row per scan, shared by `export-dataset`, the
//! Snakemake workflow (`workflows/cohort/`) and the Python package.
//!
//! Columns (a header row names them; order is free, names are
//! case-insensitive; unknown columns are kept out of the way, not refused):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `case_id` | yes | the patient or case; letters, digits and `-_.` |
//! | `image` | yes | image file or DICOM folder |
//! | `labels` | no | one or more label maps, separated by `;` (the first is the primary annotation) |
//! | `reference` | no | a reference label map to compare against |
//! | `timepoint` | no | time point of this scan within the case (e.g. `0`, `2024-03-01`) |
//!
//! Relative paths are relative to the manifest's folder, so a cohort folder
//! can be moved as a whole. `(case_id, timepoint)` must be unique.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: line {line}: {message}", path.display())]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}: the header has no `{column}` column (it has: {found})", path.display())]
    MissingColumn {
        path: PathBuf,
        column: &'static str,
        found: String,
    },
    #[error("{}: no rows", path.display())]
    Empty { path: PathBuf },
}

/// One scan of the cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestRow {
    pub case_id: String,
    pub image: PathBuf,
    /// Label maps, primary first (may be empty).
    pub labels: Vec<PathBuf>,
    pub reference: Option<PathBuf>,
    pub timepoint: Option<String>,
    /// 1-based line in the file, for messages.
    pub line: u64,
}

impl ManifestRow {
    /// `case_id`, or `case_id_timepoint` when a time point is given: the name
    /// of this scan in outputs, unique within the manifest.
    pub fn scan_id(&self) -> String {
        match &self.timepoint {
            Some(t) => format!("{}_{}", self.case_id, safe_id(t)),
            None => self.case_id.clone(),
        }
    }
}

/// A time point made safe for a file name: `-_.` and alphanumerics kept,
/// anything else `_` (a date `2024/03/01` becomes `2024_03_01`).
fn safe_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn valid_case_id(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Reads a manifest CSV.
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestRow>, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
        path: path.to_owned(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_manifest(&text, path, base)
}

/// Parses manifest text; `path` names it in errors, `base` resolves relative paths.
pub fn parse_manifest(
    text: &str,
    path: &Path,
    base: &Path,
) -> Result<Vec<ManifestRow>, ManifestError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let row_error = |line: u64, message: String| ManifestError::Row {
        path: path.to_owned(),
        line,
        message,
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| row_error(1, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let column = |name: &'static str| headers.iter().position(|h| h == name);
    let required = |name: &'static str| {
        column(name).ok_or_else(|| ManifestError::MissingColumn {
            path: path.to_owned(),
            column: name,
            found: headers.join(", "),
        })
    };
    let (case_col, image_col) = (required("case_id")?, required("image")?);
    let (labels_col, reference_col, time_col) =
        (column("labels"), column("reference"), column("timepoint"));

    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            base.join(p)
        }
    };
    // The csv crate's line numbers skip comment lines: count from the byte
    // offset instead, so messages name the line an editor shows.
    let line_of = |p: Option<&csv::Position>| {
        p.map_or(0, |p| {
            let start = (p.byte() as usize).min(text.len());
            let before = text.as_bytes()[..start].iter().filter(|&&b| b == b'\n');
            // A record's position can be that of comment lines before it.
            let comments = text[start..]
                .lines()
                .take_while(|l| l.trim_start().starts_with('#'))
                .count();
            1 + before.count() as u64 + comments as u64
        })
    };
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = record.map_err(|e| row_error(line_of(e.position()), e.to_string()))?;
        let line = line_of(record.position());
        let field = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let case_id =
            field(Some(case_col)).ok_or_else(|| row_error(line, "empty case_id".into()))?;
        if !valid_case_id(case_id) {
            return Err(row_error(
                line,
                format!("case_id {case_id:?} may hold only letters, digits and - _ ."),
            ));
        }
        let image = field(Some(image_col))
            .ok_or_else(|| row_error(line, format!("case {case_id}: empty image")))?;
        let labels = field(labels_col)
            .map(|s| {
                s.split(';')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(resolve)
                    .collect()
            })
            .unwrap_or_default();
        let row = ManifestRow {
            case_id: case_id.to_owned(),
            image: resolve(image),
            labels,
            reference: field(reference_col).map(resolve),
            timepoint: field(time_col).map(str::to_owned),
            line,
        };
        if !seen.insert(row.scan_id()) {
            return Err(row_error(
                line,
                format!(
                    "scan {} appears twice (case_id and timepoint must be unique)",
                    row.scan_id()
                ),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(ManifestError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<ManifestRow>, ManifestError> {
        parse_manifest(text, Path::new("m.csv"), Path::new("/data"))
    }

    #[test]
    fn reads_columns_in_any_order_with_several_label_maps() {
        let rows = parse(
            "Image,case_id,labels,timepoint\n\
             ct/a.nii.gz,p01,\"a1.nii.gz; /abs/a2.nii.gz\",2024/03/01\n\
             # a comment\n\
             ct/b.nii.gz,p02,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].image, Path::new("/data/ct/a.nii.gz"));
        assert_eq!(
            rows[0].labels,
            vec![
                PathBuf::from("/data/a1.nii.gz"),
                PathBuf::from("/abs/a2.nii.gz")
            ]
        );
        assert_eq!(rows[0].scan_id(), "p01_2024_03_01");
        assert_eq!(rows[1].labels, Vec::<PathBuf>::new());
        assert_eq!(rows[1].scan_id(), "p02");
        assert_eq!(rows[1].line, 4);
    }

    #[test]
    fn refuses_bad_rows_naming_the_line() {
        let e = parse("case_id,image\np/1,x.nii\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("p/1"), "{e}");
        let e = parse("case_id,image\na,x\na,y\n").unwrap_err().to_string();
        assert!(e.contains("appears twice"), "{e}");
        let e = parse("case,image\na,x\n").unwrap_err().to_string();
        assert!(e.contains("no `case_id` column"), "{e}");
        assert!(matches!(
            parse("case_id,image\n"),
            Err(ManifestError::Empty { .. })
        ));
    }
}
