//! Label descriptions: name, colour, opacity, visibility and lock, per label
//! value; optionally what the label is (coded terminology) and where its
//! review stands.

use serde::{Deserialize, Serialize};

use crate::annotate::palette::default_label_color;
pub use crate::annotate::terminology::{Code, Terminology};

/// One label value's description (0 is background and never described).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelInfo {
    pub value: u8,
    pub name: String,
    pub color: [u8; 3],
    pub opacity: f32,
    pub visible: bool,
    pub locked: bool,
    /// What the label is, as coded terminology (Slicer's `TerminologyEntry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminology: Option<Terminology>,
    #[serde(default)]
    pub review: Review,
}

/// Where a label's review stands, with a free-text note.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    #[serde(default)]
    pub status: ReviewStatus,
    #[serde(default)]
    pub note: String,
}

/// 3D Slicer's segment status (`Segmentation.Status` tag), in its order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    #[default]
    NotStarted,
    InProgress,
    Completed,
    Flagged,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 4] = [
        ReviewStatus::NotStarted,
        ReviewStatus::InProgress,
        ReviewStatus::Completed,
        ReviewStatus::Flagged,
    ];

    /// Slicer's machine-readable value of the `Segmentation.Status` tag
    /// (`vtkSlicerSegmentationsModuleLogic::GetSegmentStatusAsMachineReadableString`).
    pub fn slicer_name(self) -> &'static str {
        match self {
            ReviewStatus::NotStarted => "notstarted",
            ReviewStatus::InProgress => "inprogress",
            ReviewStatus::Completed => "completed",
            ReviewStatus::Flagged => "flagged",
        }
    }

    pub fn from_slicer_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.slicer_name() == name)
    }
}

impl LabelInfo {
    pub fn new(value: u8, name: impl Into<String>) -> Self {
        LabelInfo {
            value,
            name: name.into(),
            color: default_label_color(value),
            opacity: 0.5,
            visible: true,
            locked: false,
            terminology: None,
            review: Review::default(),
        }
    }
}

/// The labels of one label map.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelSet {
    pub labels: Vec<LabelInfo>,
}

impl LabelSet {
    pub fn get(&self, value: u8) -> Option<&LabelInfo> {
        self.labels.iter().find(|l| l.value == value)
    }

    pub fn get_mut(&mut self, value: u8) -> Option<&mut LabelInfo> {
        self.labels.iter_mut().find(|l| l.value == value)
    }

    /// Bit `v` set when label `v` is locked, as 8 u32 words for shaders.
    pub fn locked_bits(&self) -> [u32; 8] {
        let mut bits = [0u32; 8];
        for l in self.labels.iter().filter(|l| l.locked && l.value != 0) {
            bits[l.value as usize / 32] |= 1 << (l.value % 32);
        }
        bits
    }
}

/// True when `label` is set in a `locked_bits` mask.
pub fn is_locked(bits: &[u32; 8], label: u8) -> bool {
    bits[label as usize / 32] & (1 << (label % 32)) != 0
}
