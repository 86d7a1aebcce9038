//! SegmentAlgorithmType (MANUAL, SEMIAUTOMATIC, AUTOMATIC) and
//! SegmentAlgorithmName of each label, from the edit journal beside the map.
//!
//! The rule, per label, over the journal in order:
//!
//! * a `load` entry with tool `draft` (a model's draft; `params.model` names
//!   the model) that changed the label makes it the model's, forgetting what
//!   came before; any other load that changed it (a file read) makes its
//!   origin unknown again, which counts as manual;
//! * an edit by a semi-automatic tool (grow, seeds, interpolate,
//!   threshold_mask, margin, smooth, islands, fill_holes, hollow) that
//!   changed the label adds that tool;
//! * any other edit that changed its voxels (brush, erase, logical, merge,
//!   set_label, ...) is a person's;
//! * undo and redo replay edits already counted, so they change nothing.
//!
//! Then: the model's and untouched since → AUTOMATIC, named by the model;
//! the model's and edited since, or touched by a semi-automatic tool →
//! SEMIAUTOMATIC, named by the model and/or `rayseg <tools>`; else MANUAL.
//! A label the journal never changed (or no journal) is MANUAL.

use std::collections::{BTreeMap, BTreeSet};

/// Journal tool names of the semi-automatic tools (`-` reads as `_`).
pub const SEMI_AUTOMATIC_TOOLS: [&str; 9] = [
    "grow",
    "seeds",
    "interpolate",
    "threshold_mask",
    "margin",
    "smooth",
    "islands",
    "fill_holes",
    "hollow",
];

/// The tool of a load entry that holds a model's draft.
pub const DRAFT_TOOL: &str = "draft";

/// How a segment was made (PS3.3 C.8.20.2, Segment Algorithm Type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgorithmType {
    Manual,
    Semiautomatic,
    Automatic,
}

impl AlgorithmType {
    pub fn dicom(self) -> &'static str {
        match self {
            AlgorithmType::Manual => "MANUAL",
            AlgorithmType::Semiautomatic => "SEMIAUTOMATIC",
            AlgorithmType::Automatic => "AUTOMATIC",
        }
    }

    pub fn from_dicom(text: &str) -> Option<Self> {
        match text.trim() {
            "MANUAL" => Some(AlgorithmType::Manual),
            "SEMIAUTOMATIC" => Some(AlgorithmType::Semiautomatic),
            "AUTOMATIC" => Some(AlgorithmType::Automatic),
            _ => None,
        }
    }
}

/// A segment's algorithm type and name (the name is `None` for MANUAL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Algorithm {
    pub kind: AlgorithmType,
    pub name: Option<String>,
}

impl Algorithm {
    pub const MANUAL: Algorithm = Algorithm {
        kind: AlgorithmType::Manual,
        name: None,
    };
}

/// What a journal entry is, as far as the rule cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Load,
    Edit,
    /// Open, save, undo, redo: no new origin for any voxel.
    Other,
}

/// One journal entry as the rule sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub tool: Option<String>,
    /// `params.model` of a draft.
    pub model: Option<String>,
    /// Labels whose voxels the entry added or removed.
    pub labels: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
struct History {
    model: Option<String>,
    tools: BTreeSet<String>,
    by_hand: bool,
}

impl History {
    fn algorithm(&self) -> Algorithm {
        let tools = (!self.tools.is_empty()).then(|| {
            let names: Vec<&str> = self.tools.iter().map(String::as_str).collect();
            format!("rayseg {}", names.join(", "))
        });
        match (&self.model, tools) {
            (Some(model), None) if !self.by_hand => Algorithm {
                kind: AlgorithmType::Automatic,
                name: Some(model.clone()),
            },
            (Some(model), tools) => Algorithm {
                kind: AlgorithmType::Semiautomatic,
                name: Some(match tools {
                    Some(t) => format!("{model}; {t}"),
                    None => format!("{model}; edited in rayseg"),
                }),
            },
            (None, Some(tools)) => Algorithm {
                kind: AlgorithmType::Semiautomatic,
                name: Some(tools),
            },
            (None, None) => Algorithm::MANUAL,
        }
    }
}

/// The algorithm of every label the steps changed (see the module notes);
/// labels not in the map are MANUAL.
pub fn algorithms(steps: &[Step]) -> BTreeMap<u8, Algorithm> {
    let mut histories: BTreeMap<u8, History> = BTreeMap::new();
    for step in steps {
        let tool = step.tool.as_deref().map(|t| t.trim().replace('-', "_"));
        for &label in step.labels.iter().filter(|&&l| l != 0) {
            let h = histories.entry(label).or_default();
            match step.kind {
                StepKind::Load if tool.as_deref() == Some(DRAFT_TOOL) => {
                    *h = History {
                        model: Some(
                            step.model
                                .clone()
                                .filter(|m| !m.trim().is_empty())
                                .unwrap_or_else(|| "unnamed model".into()),
                        ),
                        ..History::default()
                    };
                }
                StepKind::Load => *h = History::default(),
                StepKind::Edit => match tool.as_deref() {
                    Some(t) if SEMI_AUTOMATIC_TOOLS.contains(&t) => {
                        h.tools.insert(t.to_owned());
                    }
                    _ => h.by_hand = true,
                },
                StepKind::Other => {}
            }
        }
    }
    histories
        .into_iter()
        .map(|(label, h)| (label, h.algorithm()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(kind: StepKind, tool: &str, labels: &[u8]) -> Step {
        Step {
            kind,
            tool: Some(tool.into()),
            model: None,
            labels: labels.to_vec(),
        }
    }

    fn draft(model: &str, labels: &[u8]) -> Step {
        Step {
            model: Some(model.into()),
            ..step(StepKind::Load, DRAFT_TOOL, labels)
        }
    }

    fn kind(map: &BTreeMap<u8, Algorithm>, label: u8) -> AlgorithmType {
        map.get(&label).unwrap_or(&Algorithm::MANUAL).kind
    }

    #[test]
    fn no_journal_is_manual() {
        assert!(algorithms(&[]).is_empty());
        let map = algorithms(&[step(StepKind::Edit, "brush", &[1])]);
        assert_eq!(map[&1], Algorithm::MANUAL);
    }

    #[test]
    fn untouched_draft_is_automatic_and_edited_draft_semiautomatic() {
        let map = algorithms(&[
            draft("TotalSegmentator", &[1, 2, 3]),
            step(StepKind::Edit, "brush", &[2]),
            step(StepKind::Edit, "smooth", &[3]),
            step(StepKind::Other, "undo", &[1]),
        ]);
        assert_eq!(
            map[&1],
            Algorithm {
                kind: AlgorithmType::Automatic,
                name: Some("TotalSegmentator".into())
            }
        );
        assert_eq!(kind(&map, 2), AlgorithmType::Semiautomatic);
        assert_eq!(
            map[&2].name.as_deref(),
            Some("TotalSegmentator; edited in rayseg")
        );
        assert_eq!(
            map[&3].name.as_deref(),
            Some("TotalSegmentator; rayseg smooth")
        );
    }

    #[test]
    fn semi_automatic_tools_name_themselves() {
        let map = algorithms(&[
            step(StepKind::Edit, "grow", &[4]),
            step(StepKind::Edit, "fill-holes", &[4]),
            step(StepKind::Edit, "brush", &[4, 5]),
            step(StepKind::Edit, "logical", &[6]),
        ]);
        assert_eq!(kind(&map, 4), AlgorithmType::Semiautomatic);
        assert_eq!(map[&4].name.as_deref(), Some("rayseg fill_holes, grow"));
        assert_eq!(map[&5], Algorithm::MANUAL);
        assert_eq!(map[&6], Algorithm::MANUAL);
        assert_eq!(kind(&map, 7), AlgorithmType::Manual);
    }

    #[test]
    fn a_later_load_resets_and_a_later_draft_replaces() {
        let map = algorithms(&[
            draft("m1", &[1, 2]),
            step(StepKind::Load, "load", &[1]),
            step(StepKind::Edit, "grow", &[2]),
            draft("", &[2]),
        ]);
        assert_eq!(map[&1], Algorithm::MANUAL);
        assert_eq!(
            map[&2],
            Algorithm {
                kind: AlgorithmType::Automatic,
                name: Some("unnamed model".into())
            }
        );
    }

    #[test]
    fn dicom_names_round_trip() {
        for k in [
            AlgorithmType::Manual,
            AlgorithmType::Semiautomatic,
            AlgorithmType::Automatic,
        ] {
            assert_eq!(AlgorithmType::from_dicom(k.dicom()), Some(k));
        }
        assert_eq!(AlgorithmType::from_dicom("ROBOT"), None);
    }
}
