//! Coded terminology of a label (what structure it is), as DICOM and 3D Slicer
//! code it: a category and a type, each a (coding scheme, code value, code
//! meaning) triple, an optional type modifier (e.g. left/right), and
//! optionally an anatomic region.
//!
//! [`Terminology::to_slicer`] and [`Terminology::from_slicer`] read and write
//! the string 3D Slicer keeps in a segment's `TerminologyEntry` tag
//! (`vtkSlicerTerminologiesModuleLogic::SerializeTerminologyEntry`): seven
//! fields separated by `~`, each code as `scheme^value^meaning`:
//!
//! ```text
//! context~category~type~typeModifier~anatomicContext~anatomicRegion~anatomicRegionModifier
//! ```
//!
//! e.g. `Segmentation category and type - 3D Slicer General Anatomy list~SCT^85756007^Tissue~SCT^85756007^Tissue~^^~Anatomic codes - DICOM master list~^^~^^`.
//! Slicer does not escape anything in it, so `~`, `^` and `|` (the tag
//! separator) cannot appear in any field.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Slicer's default terminology context, used when none is given.
pub const DEFAULT_CONTEXT: &str = "Segmentation category and type - 3D Slicer General Anatomy list";
/// Slicer's default anatomic context.
pub const DEFAULT_ANATOMIC_CONTEXT: &str = "Anatomic codes - DICOM master list";

/// One coded concept, e.g. `SCT` / `85756007` / `Tissue`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    /// Coding scheme designator (`SCT` for SNOMED CT, `DCM`, ...).
    pub scheme: String,
    pub value: String,
    /// Human-readable meaning.
    pub meaning: String,
}

impl Code {
    pub fn new(scheme: &str, value: &str, meaning: &str) -> Self {
        Code {
            scheme: scheme.into(),
            value: value.into(),
            meaning: meaning.into(),
        }
    }

    fn is_empty(&self) -> bool {
        self.scheme.is_empty() && self.value.is_empty() && self.meaning.is_empty()
    }
}

/// What a label is, as a coded entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terminology {
    /// Terminology context (the list the codes come from).
    #[serde(default = "default_context")]
    pub context: String,
    pub category: Code,
    #[serde(rename = "type")]
    pub type_: Code,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modifier: Option<Code>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub anatomic_context: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anatomic_region: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anatomic_region_modifier: Option<Code>,
}

fn default_context() -> String {
    DEFAULT_CONTEXT.into()
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TerminologyError {
    #[error(
        "terminology entry {entry:?} has {fields} `~`-separated fields, expected 7 (or 3 to 6)"
    )]
    Fields { entry: String, fields: usize },
    #[error("terminology code {code:?} is not `scheme^value^meaning`")]
    Code { code: String },
    #[error(
        "terminology field {field:?} holds {ch:?}, which Slicer's terminology string cannot hold"
    )]
    Reserved { field: String, ch: char },
}

/// SNOMED CT category codes of DICOM CID 7150 (Segmentation Property Categories).
const ANATOMY: (&str, &str) = ("123037004", "Anatomical Structure");
const ALTERED: (&str, &str) = ("49755003", "Morphologically Altered Structure");
const TISSUE: (&str, &str) = ("85756007", "Tissue");

/// Common entries offered by the app's terminology picker (DICOM CID 7150/7151
/// and 3D Slicer's General Anatomy list, SNOMED CT codes): (category, type).
const COMMON: [((&str, &str), &str, &str); 17] = [
    (ALTERED, "108369006", "Neoplasm"),
    (ALTERED, "4147007", "Mass"),
    (ALTERED, "52988006", "Lesion"),
    (ALTERED, "27925004", "Nodule"),
    (ALTERED, "441457006", "Cyst"),
    (ALTERED, "6574001", "Necrosis"),
    (ALTERED, "79654002", "Edema"),
    (TISSUE, "85756007", "Tissue"),
    (ANATOMY, "12738006", "Brain"),
    (ANATOMY, "39607008", "Lung"),
    (ANATOMY, "10200004", "Liver"),
    (ANATOMY, "64033007", "Kidney"),
    (ANATOMY, "78961009", "Spleen"),
    (ANATOMY, "80891009", "Heart"),
    (ANATOMY, "41216001", "Prostate"),
    (ANATOMY, "272673000", "Bone"),
    (ANATOMY, "59820001", "Blood vessel"),
];

/// The common entries a picker offers, in Slicer's default context.
pub fn common_entries() -> Vec<Terminology> {
    COMMON
        .iter()
        .map(|&((cat_value, cat_meaning), value, meaning)| {
            Terminology::new(
                Code::new("SCT", cat_value, cat_meaning),
                Code::new("SCT", value, meaning),
            )
        })
        .collect()
}

/// Characters that separate things in a `TerminologyEntry` tag (and in the
/// tag list around it) and so cannot appear inside a field.
const RESERVED: [char; 5] = ['~', '^', '|', '\n', '\r'];

impl Terminology {
    /// A category and type in Slicer's default context.
    pub fn new(category: Code, type_: Code) -> Self {
        Terminology {
            context: DEFAULT_CONTEXT.into(),
            category,
            type_,
            modifier: None,
            anatomic_context: String::new(),
            anatomic_region: None,
            anatomic_region_modifier: None,
        }
    }

    /// Fails when a field holds a character the Slicer string cannot hold.
    pub fn check(&self) -> Result<(), TerminologyError> {
        let codes = [
            Some(&self.category),
            Some(&self.type_),
            self.modifier.as_ref(),
            self.anatomic_region.as_ref(),
            self.anatomic_region_modifier.as_ref(),
        ];
        let texts = [self.context.as_str(), self.anatomic_context.as_str()]
            .into_iter()
            .chain(
                codes
                    .into_iter()
                    .flatten()
                    .flat_map(|c| [c.scheme.as_str(), c.value.as_str(), c.meaning.as_str()]),
            );
        for field in texts {
            if let Some(ch) = field.chars().find(|c| RESERVED.contains(c)) {
                return Err(TerminologyError::Reserved {
                    field: field.into(),
                    ch,
                });
            }
        }
        Ok(())
    }

    /// Slicer's `TerminologyEntry` string (see the module notes).
    pub fn to_slicer(&self) -> Result<String, TerminologyError> {
        self.check()?;
        let code = |c: Option<&Code>| {
            c.map_or_else(
                || "^^".to_owned(),
                |c| format!("{}^{}^{}", c.scheme, c.value, c.meaning),
            )
        };
        let anatomic_context = if self.anatomic_context.is_empty() {
            DEFAULT_ANATOMIC_CONTEXT
        } else {
            &self.anatomic_context
        };
        Ok([
            self.context.clone(),
            code(Some(&self.category)),
            code(Some(&self.type_)),
            code(self.modifier.as_ref()),
            anatomic_context.to_owned(),
            code(self.anatomic_region.as_ref()),
            code(self.anatomic_region_modifier.as_ref()),
        ]
        .join("~"))
    }

    /// Parses Slicer's `TerminologyEntry` string. Fields after the type may
    /// be missing (older Slicer versions wrote fewer); empty codes (`^^`)
    /// read as `None`.
    pub fn from_slicer(entry: &str) -> Result<Self, TerminologyError> {
        let fields: Vec<&str> = entry.split('~').collect();
        if !(3..=7).contains(&fields.len()) {
            return Err(TerminologyError::Fields {
                entry: entry.into(),
                fields: fields.len(),
            });
        }
        let code = |i: usize| -> Result<Option<Code>, TerminologyError> {
            let Some(text) = fields.get(i) else {
                return Ok(None);
            };
            if text.is_empty() {
                return Ok(None);
            }
            let parts: Vec<&str> = text.split('^').collect();
            let [scheme, value, meaning] = parts[..] else {
                return Err(TerminologyError::Code {
                    code: (*text).into(),
                });
            };
            let c = Code::new(scheme, value, meaning);
            Ok((!c.is_empty()).then_some(c))
        };
        let anatomic_context = fields.get(4).copied().unwrap_or_default();
        Ok(Terminology {
            context: fields[0].into(),
            category: code(1)?.unwrap_or_default(),
            type_: code(2)?.unwrap_or_default(),
            modifier: code(3)?,
            anatomic_context: if anatomic_context == DEFAULT_ANATOMIC_CONTEXT {
                String::new()
            } else {
                anatomic_context.into()
            },
            anatomic_region: code(5)?,
            anatomic_region_modifier: code(6)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TISSUE: &str = "Segmentation category and type - 3D Slicer General Anatomy list~SCT^85756007^Tissue~SCT^85756007^Tissue~^^~Anatomic codes - DICOM master list~^^~^^";
    const RIGHT_LUNG: &str = "Segmentation category and type - 3D Slicer General Anatomy list~SCT^123037004^Anatomical Structure~SCT^39607008^Lung~SCT^24028007^Right~Anatomic codes - DICOM master list~^^~^^";

    #[test]
    fn slicer_strings_round_trip() {
        for s in [TISSUE, RIGHT_LUNG] {
            let t = Terminology::from_slicer(s).unwrap();
            assert_eq!(t.to_slicer().unwrap(), s);
        }
        let lung = Terminology::from_slicer(RIGHT_LUNG).unwrap();
        assert_eq!(lung.type_, Code::new("SCT", "39607008", "Lung"));
        assert_eq!(lung.modifier, Some(Code::new("SCT", "24028007", "Right")));
        assert_eq!(lung.anatomic_region, None);
    }

    #[test]
    fn new_entry_matches_slicer_default_layout() {
        let t = Terminology::new(
            Code::new("SCT", "85756007", "Tissue"),
            Code::new("SCT", "85756007", "Tissue"),
        );
        assert_eq!(t.to_slicer().unwrap(), TISSUE);
    }

    #[test]
    fn short_and_bad_entries() {
        let t = Terminology::from_slicer("ctx~A^1^a~B^2^b").unwrap();
        assert_eq!(t.type_.meaning, "b");
        assert!(matches!(
            Terminology::from_slicer("just text"),
            Err(TerminologyError::Fields { .. })
        ));
        assert!(matches!(
            Terminology::from_slicer("ctx~A^1~B^2^b"),
            Err(TerminologyError::Code { .. })
        ));
        let mut t = Terminology::from_slicer(TISSUE).unwrap();
        t.type_.meaning = "a|b".into();
        assert!(matches!(
            t.to_slicer(),
            Err(TerminologyError::Reserved { ch: '|', .. })
        ));
    }

    #[test]
    fn common_entries_are_valid_and_distinct() {
        let entries = common_entries();
        for e in &entries {
            e.check().unwrap();
            assert_eq!(
                Terminology::from_slicer(&e.to_slicer().unwrap()).unwrap(),
                *e
            );
        }
        let mut types: Vec<_> = entries.iter().map(|e| &e.type_.value).collect();
        types.sort();
        types.dedup();
        assert_eq!(types.len(), entries.len());
    }
}
