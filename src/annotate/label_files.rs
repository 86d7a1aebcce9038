//! Label names and colours on disk: rayseg's JSON sidecar next to a label map,
//! ITK-SNAP label description files, nnU-Net's `dataset.json` and the label
//! table TotalSegmentator puts in a NIfTI header extension. Every write is
//! atomic (a temporary file in the same folder, then a rename).
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
//!
//! nnU-Net (v2) `dataset.json`: `"labels": {"background": 0, "liver": 1}`.
//! Region-based datasets give lists (`"tumor_core": [2, 3]`): a region is
//! named at the value nnU-Net writes for it, its entry of
//! `regions_class_order`, and skipped when that is missing. The older
//! Medical Segmentation Decathlon / nnU-Net v1 form `{"0": "background",
//! "1": "liver"}` is read too. No colours: the default palette.
//!
//! TotalSegmentator (`--ml` outputs): a NIfTI-1 header extension (code 0)
//! holding Connectome Workbench's "CaretExtension" XML, whose `LabelTable`
//! has one `<Label Key="1" Red="1.0" Green="0.0" Blue="0.0" Alpha="1">` per
//! label, the name in CDATA, colours 0–1 (its `Alpha` is ignored: overlays
//! keep rayseg's default opacity).
//!
//! A label map without a sidecar takes its names from, in order: an ITK-SNAP
//! file next to it (`<stem>.itksnap.txt`, `<stem>.label.txt`,
//! `<stem>.labels.txt`, `<stem>` its name without the label-map suffix), an
//! nnU-Net `dataset.json` in its folder or the folder above (nnU-Net's
//! `labelsTr/case.nii.gz` layout), then TotalSegmentator's table in its own
//! header ([`find_names`] does the first three; the NIfTI reader the last).

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

/// The mask's file name without its label-map suffix.
fn mask_stem(mask: &Path) -> String {
    let name = mask
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    MASK_SUFFIXES
        .iter()
        .find(|s| lower.ends_with(*s))
        .map_or(name.as_str(), |s| &name[..name.len() - s.len()])
        .to_owned()
}

/// `<mask without its label-map suffix>.labels.json` next to the mask.
pub fn sidecar_path(mask: &Path) -> PathBuf {
    mask.with_file_name(format!("{}.labels.json", mask_stem(mask)))
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
    parse_sidecar(&text, &path).map(Some)
}

/// Parses a rayseg sidecar; `path` only names the file in errors.
fn parse_sidecar(text: &str, path: &Path) -> Result<LabelSet, LabelFileError> {
    let path = path.to_owned();
    let sidecar: Sidecar = serde_json::from_str(text).map_err(|source| LabelFileError::Json {
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
    Ok(set)
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

/// Where a label map's names came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamesSource {
    /// rayseg's `<stem>.labels.json`.
    Sidecar,
    /// An ITK-SNAP label description file.
    ItkSnap,
    /// An nnU-Net `dataset.json`.
    DatasetJson,
    /// TotalSegmentator's label table in a NIfTI header extension.
    TotalSegmentator,
}

impl NamesSource {
    pub fn describe(self) -> &'static str {
        match self {
            NamesSource::Sidecar => "the rayseg sidecar",
            NamesSource::ItkSnap => "the ITK-SNAP label file",
            NamesSource::DatasetJson => "the nnU-Net dataset.json",
            NamesSource::TotalSegmentator => {
                "the TotalSegmentator label table in the NIfTI header extension of"
            }
        }
    }
}

/// Label names (and colours where the file has them) read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelNames {
    pub label_set: LabelSet,
    pub source: NamesSource,
    /// The file they were read from.
    pub path: PathBuf,
    /// Entries skipped (regions without an output value, values outside
    /// 1..=255, repeated values).
    pub warnings: Vec<String>,
}

impl LabelNames {
    /// "label names from the nnU-Net dataset.json /data/dataset.json".
    pub fn note(&self) -> String {
        format!(
            "label names from {} {}",
            self.source.describe(),
            self.path.display()
        )
    }
}

/// Reads label names from an explicit file (the CLI's `--label-names`): a
/// rayseg sidecar or an nnU-Net `dataset.json` (JSON, told apart by their
/// fields), else an ITK-SNAP label description file.
pub fn load_names(path: &Path) -> Result<LabelNames, LabelFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    let names = |label_set, source, warnings| LabelNames {
        label_set,
        source,
        path: path.to_owned(),
        warnings,
    };
    if !json {
        let set = parse_itksnap(&text, path)?;
        return Ok(names(set, NamesSource::ItkSnap, Vec::new()));
    }
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| LabelFileError::Invalid {
            path: path.to_owned(),
            message: format!("not JSON: {e}"),
        })?;
    if value.get("format").and_then(|f| f.as_str()) == Some(FORMAT) {
        let set = parse_sidecar(&text, path)?;
        Ok(names(set, NamesSource::Sidecar, Vec::new()))
    } else if value.get("labels").is_some_and(|l| l.is_object()) {
        let (set, warnings) = parse_dataset_json(&text, path)?;
        Ok(names(set, NamesSource::DatasetJson, warnings))
    } else {
        Err(LabelFileError::Invalid {
            path: path.to_owned(),
            message: format!(
                "neither a rayseg label sidecar (\"format\": \"{FORMAT}\") nor a dataset.json \
                 with a \"labels\" object"
            ),
        })
    }
}

/// ITK-SNAP label files looked for next to a label map, in order.
pub fn itksnap_candidates(mask: &Path) -> Vec<PathBuf> {
    let stem = mask_stem(mask);
    [".itksnap.txt", ".label.txt", ".labels.txt"]
        .iter()
        .map(|suffix| mask.with_file_name(format!("{stem}{suffix}")))
        .collect()
}

/// `dataset.json` files looked for: the map's folder, then the one above
/// (nnU-Net's `Dataset001_X/labelsTr/case.nii.gz`).
pub fn dataset_json_candidates(mask: &Path) -> Vec<PathBuf> {
    let folder = mask.parent().unwrap_or(Path::new(""));
    let mut out = vec![folder.join("dataset.json")];
    if let Some(up) = folder.parent() {
        let up = if up.as_os_str().is_empty() && !folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            up
        };
        out.push(up.join("dataset.json"));
    }
    out.dedup();
    out
}

/// Names for a label map from the files beside it: its sidecar, else an
/// ITK-SNAP file, else an nnU-Net `dataset.json` (see the module notes).
/// A broken sidecar is an error; a broken ITK-SNAP file or dataset.json is
/// a warning (pushed to `warnings`) and the search goes on, as those files
/// are other tools'. `Ok(None)` when none has names.
pub fn find_names(
    mask: &Path,
    warnings: &mut Vec<String>,
) -> Result<Option<LabelNames>, LabelFileError> {
    if let Some(label_set) = load_sidecar(mask)? {
        return Ok(Some(LabelNames {
            label_set,
            source: NamesSource::Sidecar,
            path: sidecar_path(mask),
            warnings: Vec::new(),
        }));
    }
    for path in itksnap_candidates(mask) {
        let Some(text) = read_if_present(&path, warnings) else {
            continue;
        };
        match parse_itksnap(&text, &path) {
            Ok(label_set) => {
                return Ok(Some(LabelNames {
                    label_set,
                    source: NamesSource::ItkSnap,
                    path,
                    warnings: Vec::new(),
                }));
            }
            Err(e) => warnings.push(format!("label names not read: {e}")),
        }
    }
    for path in dataset_json_candidates(mask) {
        let Some(text) = read_if_present(&path, warnings) else {
            continue;
        };
        // A dataset.json without labels is not nnU-Net's: passed over quietly.
        let has_labels = serde_json::from_str::<serde_json::Value>(&text)
            .map(|v| v.get("labels").is_some())
            .unwrap_or(true);
        if !has_labels {
            continue;
        }
        match parse_dataset_json(&text, &path) {
            Ok((label_set, skipped)) => {
                return Ok(Some(LabelNames {
                    label_set,
                    source: NamesSource::DatasetJson,
                    path,
                    warnings: skipped,
                }));
            }
            Err(e) => warnings.push(format!("label names not read: {e}")),
        }
    }
    Ok(None)
}

/// Largest names file read while looking beside a label map (a dataset.json
/// listing every case of a large dataset is a few MB).
const MAX_NAMES_FILE_BYTES: u64 = 64 << 20;

/// The text of `path`; `None` when it does not exist, or (with a warning)
/// cannot be read.
fn read_if_present(path: &Path, warnings: &mut Vec<String>) -> Option<String> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warnings.push(format!("label names not read: {}: {e}", path.display()));
            return None;
        }
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut text = String::new();
    match file
        .take(MAX_NAMES_FILE_BYTES + 1)
        .read_to_string(&mut text)
    {
        Ok(n) if n as u64 > MAX_NAMES_FILE_BYTES => {
            warnings.push(format!(
                "label names not read: {}: larger than {} MiB",
                path.display(),
                MAX_NAMES_FILE_BYTES >> 20
            ));
            None
        }
        Ok(_) => Some(text),
        Err(e) => {
            warnings.push(format!("label names not read: {}: {e}", path.display()));
            None
        }
    }
}

/// A JSON object's entries in file order (nnU-Net's regions are numbered by
/// the order of `labels`).
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(Visit)
    }
}

#[derive(Deserialize)]
struct DatasetJson {
    labels: Ordered,
    #[serde(default)]
    regions_class_order: Option<Vec<serde_json::Value>>,
}

/// A JSON number that is a whole number.
fn whole(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|x| x.fract() == 0.0).map(|x| x as i64))
}

/// Parses the `labels` of an nnU-Net `dataset.json` (see the module notes);
/// returns the names and what was skipped. `path` only names the file.
pub fn parse_dataset_json(
    text: &str,
    path: &Path,
) -> Result<(LabelSet, Vec<String>), LabelFileError> {
    let invalid = |message: String| LabelFileError::Invalid {
        path: path.to_owned(),
        message,
    };
    let dataset: DatasetJson = serde_json::from_str(text)
        .map_err(|e| invalid(format!("not an nnU-Net dataset.json: {e}")))?;
    let entries = &dataset.labels.0;
    let is_region = |v: &serde_json::Value| v.as_array().is_some_and(|a| a.len() > 1);
    let mut named: Vec<(i64, &str)> = Vec::new();
    let mut warnings = Vec::new();
    if entries.iter().any(|(_, v)| is_region(v)) {
        // nnU-Net's regions: every entry but `ignore` and the background, in
        // order; region n is written as regions_class_order[n].
        let regions: Vec<&(String, serde_json::Value)> = entries
            .iter()
            .filter(|(k, v)| {
                let background = match v.as_array() {
                    Some(a) => a.iter().all(|x| whole(x) == Some(0)),
                    None => whole(v) == Some(0),
                };
                k != "ignore" && !background
            })
            .collect();
        match &dataset.regions_class_order {
            Some(order) if order.len() == regions.len() => {
                for ((name, _), value) in regions.iter().map(|e| (&e.0, &e.1)).zip(order) {
                    match whole(value) {
                        Some(v) => named.push((v, name.as_str())),
                        None => warnings.push(format!(
                            "{}: regions_class_order entry {value} of {name:?} is not a whole \
                             number: skipped",
                            path.display()
                        )),
                    }
                }
            }
            _ => warnings.push(format!(
                "{}: region-based labels without a regions_class_order of {} entries: their \
                 names are skipped",
                path.display(),
                regions.len()
            )),
        }
        if let Some(v) = entries
            .iter()
            .find(|(k, _)| k == "ignore")
            .and_then(|(_, v)| whole(v))
        {
            named.push((v, "ignore"));
        }
    } else {
        for (key, value) in entries {
            let single = value
                .as_array()
                .and_then(|a| a.first().filter(|_| a.len() == 1));
            match (whole(single.unwrap_or(value)), value.as_str()) {
                (Some(v), _) => named.push((v, key.as_str())),
                // The Decathlon / nnU-Net v1 form: "1": "liver".
                (None, Some(name)) => match key.trim().parse::<i64>() {
                    Ok(v) => named.push((v, name)),
                    Err(_) => warnings.push(format!(
                        "{}: label {key:?}: {name:?} has no number: skipped",
                        path.display()
                    )),
                },
                (None, None) => warnings.push(format!(
                    "{}: label {key:?} is {value}, not a label value: skipped",
                    path.display()
                )),
            }
        }
    }
    let set = collect_names(named, path, &mut warnings, |_| None);
    Ok((set, warnings))
}

/// A label set from (value, name) pairs in file order: 0 (background)
/// dropped, values outside 1..=255 and repeats skipped with a warning;
/// `color` gives a value's colour where the file has one.
fn collect_names(
    named: Vec<(i64, &str)>,
    path: &Path,
    warnings: &mut Vec<String>,
    color: impl Fn(usize) -> Option<[u8; 3]>,
) -> LabelSet {
    let mut set = LabelSet::default();
    for (n, (value, name)) in named.into_iter().enumerate() {
        if value == 0 {
            continue;
        }
        let Ok(v @ 1..=255) = u8::try_from(value) else {
            warnings.push(format!(
                "{}: label {value} ({name:?}) is outside 1..=255: skipped",
                path.display()
            ));
            continue;
        };
        if let Some(first) = set.get(v) {
            warnings.push(format!(
                "{}: label {v} is named {name:?} after {:?}: the first name kept",
                path.display(),
                first.name
            ));
            continue;
        }
        let mut info = LabelInfo::new(v, name.trim());
        if let Some(c) = color(n) {
            info.color = c;
        }
        set.labels.push(info);
    }
    set
}

/// Parses the "CaretExtension" XML label table TotalSegmentator writes in a
/// NIfTI header extension (see the module notes); returns the names and
/// what was skipped. `path` only names the file.
pub fn parse_caret_label_table(
    xml: &str,
    path: &Path,
) -> Result<(LabelSet, Vec<String>), LabelFileError> {
    let invalid = |message: String| LabelFileError::Invalid {
        path: path.to_owned(),
        message,
    };
    let start = xml
        .find("<LabelTable")
        .ok_or_else(|| invalid("the XML has no <LabelTable>".into()))?;
    let table = &xml[start + "<LabelTable".len()..];
    let table = &table[..table.find("</LabelTable>").unwrap_or(table.len())];
    let mut named: Vec<(i64, String)> = Vec::new();
    let mut colors: Vec<Option<[u8; 3]>> = Vec::new();
    let mut warnings = Vec::new();
    let mut rest = table;
    while let Some(at) = find_tag(rest, "Label") {
        let (attributes, after, empty) = tag_attributes(&rest[at..])
            .ok_or_else(|| invalid("a <Label> tag without its closing '>'".into()))?;
        let (content, after) = if empty {
            (String::new(), after)
        } else {
            let body = &rest[at..][after..];
            let end = body
                .find("</Label>")
                .ok_or_else(|| invalid("a <Label> without </Label>".into()))?;
            (xml_text(&body[..end]), after + end + "</Label>".len())
        };
        rest = &rest[at + after..];
        let get = |name: &str| attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let Some(key) = get("Key") else {
            return Err(invalid(format!("<Label> {content:?} has no Key")));
        };
        let Ok(key) = key.trim().parse::<i64>() else {
            warnings.push(format!(
                "{}: label {content:?} has Key {key:?}, not a whole number: skipped",
                path.display()
            ));
            continue;
        };
        let channel = |name: &str| {
            get(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|x| x.is_finite())
                .map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8)
        };
        colors.push(match (channel("Red"), channel("Green"), channel("Blue")) {
            (Some(r), Some(g), Some(b)) => Some([r, g, b]),
            _ => None,
        });
        named.push((key, content));
    }
    let pairs = named.iter().map(|(v, n)| (*v, n.as_str())).collect();
    let set = collect_names(pairs, path, &mut warnings, |n| colors[n]);
    Ok((set, warnings))
}

/// Byte offset of the next `<name` start tag (not `<nameMore`).
fn find_tag(text: &str, name: &str) -> Option<usize> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(at) = text[from..].find(&open) {
        let at = from + at;
        match text[at + open.len()..].chars().next() {
            Some(c) if c.is_whitespace() || c == '>' || c == '/' => return Some(at),
            _ => from = at + open.len(),
        }
    }
    None
}

/// A tag's attributes (name, unescaped value), the offset just past its
/// `>`, and whether it closes itself (`/>`).
type Tag = (Vec<(String, String)>, usize, bool);

/// The tag starting `text`; `None` when it has no end.
fn tag_attributes(text: &str) -> Option<Tag> {
    let mut attributes = Vec::new();
    let bytes = text.as_bytes();
    let mut n = text.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
    loop {
        while n < bytes.len() && bytes[n].is_ascii_whitespace() {
            n += 1;
        }
        match bytes.get(n)? {
            b'>' => return Some((attributes, n + 1, false)),
            b'/' if bytes.get(n + 1) == Some(&b'>') => return Some((attributes, n + 2, true)),
            _ => {}
        }
        let eq = n + text[n..].find('=')?;
        let name = text[n..eq].trim().to_owned();
        let mut q = eq + 1;
        while q < bytes.len() && bytes[q].is_ascii_whitespace() {
            q += 1;
        }
        let quote = *bytes.get(q)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let end = q + 1 + text[q + 1..].find(quote as char)?;
        attributes.push((name, xml_unescape(&text[q + 1..end])));
        n = end + 1;
    }
}

/// Element text: CDATA sections verbatim, the rest unescaped.
fn xml_text(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find("<![CDATA[") {
        out.push_str(&xml_unescape(&rest[..at]));
        let inner = &rest[at + "<![CDATA[".len()..];
        let end = inner.find("]]>").unwrap_or(inner.len());
        out.push_str(&inner[..end]);
        rest = inner.get(end + "]]>".len()..).unwrap_or("");
    }
    out.push_str(&xml_unescape(rest));
    out.trim().to_owned()
}

/// XML's five named entities and numeric character references; anything
/// else is kept as written.
fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(end) = tail.find(';').filter(|&e| e <= 12) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..end];
        let c = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_json_labels_plain_regions_and_decathlon() {
        let p = Path::new("d/dataset.json");
        let text = r#"{"channel_names": {"0": "CT"},
            "labels": {"background": 0, "liver": 1, "tumour": [2], "big": 300, "again": 1},
            "numTraining": 3, "file_ending": ".nii.gz"}"#;
        let (set, warnings) = parse_dataset_json(text, p).unwrap();
        let got: Vec<(u8, &str)> = set
            .labels
            .iter()
            .map(|l| (l.value, l.name.as_str()))
            .collect();
        assert_eq!(got, [(1, "liver"), (2, "tumour")]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("300") && warnings[1].contains("\"again\""));
        assert_eq!(set.labels[0].color, LabelInfo::new(1, "").color);

        // BraTS-style regions, named at the value nnU-Net writes (the order
        // of `labels` in the file, not alphabetical).
        let text = r#"{"labels": {"background": 0, "whole_tumor": [1, 2, 3],
            "tumor_core": [2, 3], "enhancing_tumor": 3, "ignore": 4},
            "regions_class_order": [1, 2, 3]}"#;
        let (set, warnings) = parse_dataset_json(text, p).unwrap();
        let got: Vec<(u8, &str)> = set
            .labels
            .iter()
            .map(|l| (l.value, l.name.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "whole_tumor"),
                (2, "tumor_core"),
                (3, "enhancing_tumor"),
                (4, "ignore")
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let text = r#"{"labels": {"background": 0, "a": [1, 2], "b": 2}}"#;
        let (set, warnings) = parse_dataset_json(text, p).unwrap();
        assert!(set.labels.is_empty());
        assert!(warnings[0].contains("regions_class_order"), "{warnings:?}");

        let text = r#"{"labels": {"0": "background", "1": "Liver", "2": "Tumour"}}"#;
        let (set, _) = parse_dataset_json(text, p).unwrap();
        assert_eq!(set.labels[1].name, "Tumour");
        assert_eq!(set.labels[1].value, 2);

        let err = parse_dataset_json(r#"{"labels": [1]}"#, p).unwrap_err();
        assert!(err.to_string().contains("d/dataset.json"), "{err}");
    }

    #[test]
    fn caret_label_tables_as_totalsegmentator_writes_them() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?> <CaretExtension>  \
            <Date><![CDATA[2013-07-14T05:45:09]]></Date>   <VolumeInformation Index=\"0\">   \
            <LabelTable>\n\
            <Label Key=\"1\" Red=\"0.0\" Green=\"1.0\" Blue=\"0.0\" Alpha=\"1\"><![CDATA[spleen]]></Label>\n\
            <Label Key=\"2\" Red=\"0.0\" Green=\"0.0\" Blue=\"1.0\" Alpha=\"1\"><![CDATA[kidney <right> & co]]></Label>\n\
            <Label Key='7' Red=\"0.5019607843137255\" Green=\"0.5\" Blue=\"1\">a &amp; b&#33;</Label>\n\
            <Label Key=\"300\" Red=\"0\" Green=\"0\" Blue=\"0\"><![CDATA[big]]></Label>\n\
            <Label Key=\"0\"><![CDATA[???]]></Label>\n\
            <Label Key=\"9\"/>\n\n  </LabelTable>  <StudyMetaDataLinkSet>  </StudyMetaDataLinkSet>  \
            <VolumeType><![CDATA[Label]]></VolumeType>   </VolumeInformation></CaretExtension>\n";
        let (set, warnings) = parse_caret_label_table(xml, Path::new("ts.nii.gz")).unwrap();
        let got: Vec<(u8, &str, [u8; 3])> = set
            .labels
            .iter()
            .map(|l| (l.value, l.name.as_str(), l.color))
            .collect();
        assert_eq!(
            got,
            [
                (1, "spleen", [0, 255, 0]),
                (2, "kidney <right> & co", [0, 0, 255]),
                (7, "a & b!", [128, 128, 255]),
                (9, "", LabelInfo::new(9, "").color),
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("300"));
        assert_eq!(set.labels[0].opacity, LabelInfo::new(1, "").opacity);
        for bad in [
            "<CaretExtension/>",
            "<LabelTable><Label Key=\"1\"",
            "<LabelTable><Label>x</Label>",
        ] {
            let err = parse_caret_label_table(bad, Path::new("ts.nii.gz")).unwrap_err();
            assert!(err.to_string().contains("ts.nii.gz"), "{err}");
        }
    }

    #[test]
    fn names_are_found_beside_a_map_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let labels_tr = dir.path().join("Dataset001_Toy/labelsTr");
        std::fs::create_dir_all(&labels_tr).unwrap();
        let mask = labels_tr.join("toy_001.nii.gz");
        let mut warnings = Vec::new();
        assert_eq!(find_names(&mask, &mut warnings).unwrap(), None);
        // Someone else's dataset.json (no labels) is passed over quietly.
        std::fs::write(labels_tr.join("dataset.json"), r#"{"name": "x"}"#).unwrap();
        std::fs::write(
            dir.path().join("Dataset001_Toy/dataset.json"),
            r#"{"labels": {"background": 0, "liver": 1}}"#,
        )
        .unwrap();
        let found = find_names(&mask, &mut warnings).unwrap().unwrap();
        assert_eq!(found.source, NamesSource::DatasetJson);
        assert_eq!(found.label_set.labels[0].name, "liver");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(found.note().contains("dataset.json"), "{}", found.note());
        // An ITK-SNAP file beside the map comes first; a broken one is a warning.
        std::fs::write(labels_tr.join("toy_001.itksnap.txt"), "junk\n").unwrap();
        std::fs::write(
            labels_tr.join("toy_001.label.txt"),
            "    1   255 0 0  1 1 1  \"Liver (ITK-SNAP)\"\n",
        )
        .unwrap();
        let found = find_names(&mask, &mut warnings).unwrap().unwrap();
        assert_eq!(found.source, NamesSource::ItkSnap);
        assert_eq!(found.label_set.labels[0].color, [255, 0, 0]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("toy_001.itksnap.txt"), "{warnings:?}");
        // The sidecar beats them all.
        save_sidecar(
            &mask,
            &LabelSet {
                labels: vec![LabelInfo::new(3, "mine")],
            },
        )
        .unwrap();
        let found = find_names(&mask, &mut Vec::new()).unwrap().unwrap();
        assert_eq!(found.source, NamesSource::Sidecar);
        assert_eq!(found.label_set.labels[0].name, "mine");

        // Explicit names files of each kind.
        for (file, source) in [
            (sidecar_path(&mask), NamesSource::Sidecar),
            (labels_tr.join("toy_001.label.txt"), NamesSource::ItkSnap),
            (
                dir.path().join("Dataset001_Toy/dataset.json"),
                NamesSource::DatasetJson,
            ),
        ] {
            assert_eq!(
                load_names(&file).unwrap().source,
                source,
                "{}",
                file.display()
            );
        }
        let err = load_names(&labels_tr.join("dataset.json")).unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
    }

    #[test]
    fn candidate_names() {
        assert_eq!(
            itksnap_candidates(Path::new("a/ct_seg.nii.gz")),
            [
                Path::new("a/ct_seg.itksnap.txt"),
                Path::new("a/ct_seg.label.txt"),
                Path::new("a/ct_seg.labels.txt")
            ]
        );
        assert_eq!(
            dataset_json_candidates(Path::new("d/labelsTr/x.nii.gz")),
            [
                Path::new("d/labelsTr/dataset.json"),
                Path::new("d/dataset.json")
            ]
        );
        assert_eq!(
            dataset_json_candidates(Path::new("x.nii.gz")),
            [Path::new("dataset.json")]
        );
        assert_eq!(
            dataset_json_candidates(Path::new("p/x.nii.gz")),
            [Path::new("p/dataset.json"), Path::new("./dataset.json")]
        );
    }
}
