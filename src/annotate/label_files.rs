//! Label names and colours on disk: rayseg's JSON sidecar next to a label map,
//! and ITK-SNAP label description files. Every write is atomic (a temporary
//! file in the same folder, then a rename).
//!
//! Sidecar: `seg.nii.gz` → `seg.labels.json` (the label map's suffix,
//! `.nii.gz`, `.nii`, `.seg.nrrd`, `.nrrd`, `.nhdr`, `.mha` or `.mhd`, is
//! replaced), `{"format": "rayseg-labels", "version": 1, "labels": [...]}`.
//! Each label's `terminology` and `review` are optional (older sidecars
//! load without them).
//!
//! ITK-SNAP: one line per label, `IDX R G B A VIS MSH "LABEL"`, A the opacity in
//! 0..1, `#` comments. Label 0 ("Clear Label") is skipped on import and written
//! on export. ITK-SNAP has no lock flag (imported labels are unlocked) and
//! rayseg no mesh flag (exported as the visibility). Names cannot hold `"`:
//! export writes `'` instead.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::annotate::labels::{LabelInfo, LabelSet};

const FORMAT: &str = "rayseg-labels";
const VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum LabelFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a rayseg label sidecar: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: line {line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    format: String,
    version: u32,
    labels: Vec<LabelInfo>,
}

/// Label-map suffixes a sidecar name replaces, longest first.
const MASK_SUFFIXES: [&str; 7] = [
    ".seg.nrrd",
    ".nii.gz",
    ".nrrd",
    ".nhdr",
    ".nii",
    ".mha",
    ".mhd",
];

/// `<mask without its label-map suffix>.labels.json` next to the mask.
pub fn sidecar_path(mask: &Path) -> PathBuf {
    let name = mask
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let stem = MASK_SUFFIXES
        .iter()
        .find(|s| lower.ends_with(*s))
        .map_or(name.as_str(), |s| &name[..name.len() - s.len()]);
    mask.with_file_name(format!("{stem}.labels.json"))
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LabelFileError> {
    let io = |source| LabelFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = crate::atomic_file::temp_file_for(path).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

pub(crate) fn validate(set: &LabelSet, path: &Path) -> Result<(), LabelFileError> {
    let invalid = |message: String| LabelFileError::Invalid {
        path: path.to_owned(),
        message,
    };
    let mut seen = [false; 256];
    for l in &set.labels {
        if l.value == 0 {
            return Err(invalid(
                "label 0 is background and cannot be described".into(),
            ));
        }
        if std::mem::replace(&mut seen[l.value as usize], true) {
            return Err(invalid(format!("label {} is described twice", l.value)));
        }
        if !(0.0..=1.0).contains(&l.opacity) {
            return Err(invalid(format!(
                "label {} has opacity {}, not in 0..1",
                l.value, l.opacity
            )));
        }
    }
    Ok(())
}

/// Writes the sidecar of `mask` (atomically) and returns its path.
pub fn save_sidecar(mask: &Path, set: &LabelSet) -> Result<PathBuf, LabelFileError> {
    let path = sidecar_path(mask);
    validate(set, &path)?;
    let sidecar = Sidecar {
        format: FORMAT.into(),
        version: VERSION,
        labels: set.labels.clone(),
    };
    let json = serde_json::to_vec_pretty(&sidecar).map_err(|source| LabelFileError::Json {
        path: path.clone(),
        source,
    })?;
    write_atomic(&path, &json)?;
    Ok(path)
}

/// Reads the sidecar of `mask`; `Ok(None)` when there is none.
pub fn load_sidecar(mask: &Path) -> Result<Option<LabelSet>, LabelFileError> {
    let path = sidecar_path(mask);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LabelFileError::Io { path, source }),
    };
    let sidecar: Sidecar = serde_json::from_str(&text).map_err(|source| LabelFileError::Json {
        path: path.clone(),
        source,
    })?;
    if sidecar.format != FORMAT || sidecar.version != VERSION {
        return Err(LabelFileError::Invalid {
            path,
            message: format!(
                "format {:?} version {} is not {FORMAT:?} version {VERSION}",
                sidecar.format, sidecar.version
            ),
        });
    }
    let set = LabelSet {
        labels: sidecar.labels,
    };
    validate(&set, &path)?;
    Ok(Some(set))
}

/// Parses an ITK-SNAP label description; `path` only names the file in errors.
pub fn parse_itksnap(text: &str, path: &Path) -> Result<LabelSet, LabelFileError> {
    let mut set = LabelSet::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| LabelFileError::Line {
            path: path.to_owned(),
            line: n + 1,
            message,
        };
        let (fields, name) = match (line.find('"'), line.rfind('"')) {
            (Some(a), Some(b)) if b > a => (&line[..a], &line[a + 1..b]),
            _ => {
                return Err(err(format!(
                    "expected IDX R G B A VIS MSH \"LABEL\", got {line:?}"
                )));
            }
        };
        if !line[line.rfind('"').unwrap_or(0) + 1..].trim().is_empty() {
            return Err(err("text after the quoted label name".into()));
        }
        let tokens: Vec<&str> = fields.split_whitespace().collect();
        if tokens.len() != 7 {
            return Err(err(format!(
                "expected 7 numbers before the name (IDX R G B A VIS MSH), got {}",
                tokens.len()
            )));
        }
        let int = |i: usize, what: &str, max: u32| {
            tokens[i]
                .parse::<u32>()
                .ok()
                .filter(|&v| v <= max)
                .ok_or_else(|| {
                    err(format!(
                        "{what} {:?} is not an integer in 0..={max}",
                        tokens[i]
                    ))
                })
        };
        let value = int(0, "IDX", 255)? as u8;
        let color = [
            int(1, "R", 255)? as u8,
            int(2, "G", 255)? as u8,
            int(3, "B", 255)? as u8,
        ];
        let opacity = tokens[4]
            .parse::<f32>()
            .ok()
            .filter(|a| (0.0..=1.0).contains(a))
            .ok_or_else(|| err(format!("A {:?} is not a number in 0..1", tokens[4])))?;
        let visible = int(5, "VIS", 1)? == 1;
        int(6, "MSH", 1)?;
        if value == 0 {
            continue;
        }
        if set.get(value).is_some() {
            return Err(err(format!("label {value} is described twice")));
        }
        set.labels.push(LabelInfo {
            value,
            name: name.to_owned(),
            color,
            opacity,
            visible,
            locked: false,
            terminology: None,
            review: Default::default(),
        });
    }
    Ok(set)
}

/// Formats `set` as an ITK-SNAP label description (labels in value order).
pub fn format_itksnap(set: &LabelSet) -> String {
    let mut out = String::from(
        "################################################\n\
         # ITK-SnAP Label Description File\n\
         # File format: \n\
         # IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n\
         # Fields: \n\
         #    IDX:   Zero-based index \n\
         #    -R-:   Red color component (0..255)\n\
         #    -G-:   Green color component (0..255)\n\
         #    -B-:   Blue color component (0..255)\n\
         #    -A-:   Label transparency (0.00 .. 1.00)\n\
         #    VIS:   Label visibility (0 or 1)\n\
         #    MSH:   Label mesh visibility (0 or 1)\n\
         #  LABEL:   Label description \n\
         # Written by rayseg\n\
         ################################################\n",
    );
    out.push_str("    0     0    0    0        0  0  0    \"Clear Label\"\n");
    let mut labels: Vec<&LabelInfo> = set.labels.iter().filter(|l| l.value != 0).collect();
    labels.sort_by_key(|l| l.value);
    for l in labels {
        let name: String = l
            .name
            .chars()
            .map(|c| match c {
                '"' => '\'',
                '\n' | '\r' => ' ',
                c => c,
            })
            .collect();
        let vis = u8::from(l.visible);
        out.push_str(&format!(
            "{:>5} {:>5} {:>4} {:>4} {:>8} {:>2} {:>2}    \"{name}\"\n",
            l.value, l.color[0], l.color[1], l.color[2], l.opacity, vis, vis
        ));
    }
    out
}

/// Reads an ITK-SNAP label description file.
pub fn import_itksnap(path: &Path) -> Result<LabelSet, LabelFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_itksnap(&text, path)
}

/// Writes an ITK-SNAP label description file atomically.
pub fn export_itksnap(path: &Path, set: &LabelSet) -> Result<(), LabelFileError> {
    validate(set, path)?;
    write_atomic(path, format_itksnap(set).as_bytes())
}
