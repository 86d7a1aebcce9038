//! Edit requests as data: the ops of `rayseg edit --script` and of the journal's
//! `tool`/`params`. Positions are RAS millimetres; values are the image's
//! scaled values (HU for CT).

use serde::{Deserialize, Serialize};

use crate::annotate::brush::{BrushMode, BrushStroke, OverwritePolicy, SlicePlane};
use crate::annotate::labels::{ReviewStatus, Terminology};

pub use super::effect_ops::{
    Axis, FillHolesOp, HollowOp, InterpolateOp, IslandsOp, Logical, LogicalOp, MarginOp, SeedsOp,
    Shell, SmoothOp, ThresholdMaskOp,
};

/// 2-D brush mode: the slice orientation painted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plane {
    Axial,
    Coronal,
    Sagittal,
}

impl From<Plane> for SlicePlane {
    fn from(p: Plane) -> Self {
        match p {
            Plane::Axial => SlicePlane::Axial,
            Plane::Coronal => SlicePlane::Coronal,
            Plane::Sagittal => SlicePlane::Sagittal,
        }
    }
}

impl From<SlicePlane> for Plane {
    fn from(p: SlicePlane) -> Self {
        match p {
            SlicePlane::Axial => Plane::Axial,
            SlicePlane::Coronal => Plane::Coronal,
            SlicePlane::Sagittal => Plane::Sagittal,
        }
    }
}

/// What painting may overwrite (Slicer's "Overwrite other segments").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overwrite {
    /// Background and every unlocked label.
    #[default]
    All,
    /// Background only.
    Background,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// One edit of a segmentation document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum EditOp {
    /// Paints (or, with `erase`, clears only `label`) along a polyline swept by a sphere.
    Brush {
        label: u8,
        points_mm: Vec<[f64; 3]>,
        radius_mm: f64,
        #[serde(default, skip_serializing_if = "is_false")]
        erase: bool,
        /// 2-D disk in this slice orientation instead of a sphere.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plane: Option<Plane>,
        /// Only voxels whose value lies in [lower, upper] are edited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lower: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upper: Option<f64>,
        #[serde(default, skip_serializing_if = "is_default")]
        overwrite: Overwrite,
    },
    /// Threshold region growing from a seed (what `rayseg grow` does).
    Grow {
        label: u8,
        seed_mm: [f64; 3],
        lower: f64,
        upper: f64,
        /// 6 (faces) or 26 (faces, edges, corners).
        #[serde(default = "six")]
        connectivity: u32,
        #[serde(default)]
        max_distance_mm: Option<f64>,
    },
    /// Describes a new label (no voxels change).
    AddLabel {
        label: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<[u8; 3]>,
    },
    /// Changes a label's description; absent fields stay as they are.
    SetLabel {
        label: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<[u8; 3]>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opacity: Option<f32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visible: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locked: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terminology: Option<Box<Terminology>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        review: Option<ReviewStatus>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Clears a label's voxels and removes its description.
    DeleteLabel {
        label: u8,
    },
    /// Gives `from`'s voxels to `into` and removes `from`'s description.
    MergeLabels {
        from: u8,
        into: u8,
    },
    Undo,
    Redo,
    /// Grow from seeds (competitive region growing).
    Seeds(SeedsOp),
    /// Fill between slices.
    Interpolate(InterpolateOp),
    Islands(IslandsOp),
    Margin(MarginOp),
    Hollow(HollowOp),
    Smooth(SmoothOp),
    #[serde(alias = "fill-holes")]
    FillHoles(FillHolesOp),
    Logical(LogicalOp),
    #[serde(alias = "threshold-mask")]
    ThresholdMask(ThresholdMaskOp),
}

fn six() -> u32 {
    6
}

impl EditOp {
    /// The op's name (the journal's `tool`).
    pub fn name(&self) -> &'static str {
        match self {
            EditOp::Brush { .. } => "brush",
            EditOp::Grow { .. } => "grow",
            EditOp::AddLabel { .. } => "add_label",
            EditOp::SetLabel { .. } => "set_label",
            EditOp::DeleteLabel { .. } => "delete_label",
            EditOp::MergeLabels { .. } => "merge_labels",
            EditOp::Undo => "undo",
            EditOp::Redo => "redo",
            EditOp::Seeds(_) => "seeds",
            EditOp::Interpolate(_) => "interpolate",
            EditOp::Islands(_) => "islands",
            EditOp::Margin(_) => "margin",
            EditOp::Hollow(_) => "hollow",
            EditOp::Smooth(_) => "smooth",
            EditOp::FillHoles(_) => "fill_holes",
            EditOp::Logical(_) => "logical",
            EditOp::ThresholdMask(_) => "threshold_mask",
        }
    }

    /// The op's parameters as the journal records them (the op without its name).
    pub fn params(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("op");
        }
        v
    }

    /// The brush op of an engine stroke (the app's strokes are journaled so).
    pub fn from_stroke(stroke: &BrushStroke) -> EditOp {
        let (label, erase) = match stroke.mode {
            BrushMode::Paint { label } => (label, false),
            BrushMode::Erase { only_label } => (only_label.unwrap_or(0), true),
        };
        EditOp::Brush {
            label,
            points_mm: stroke.points_ras_mm.iter().map(|p| p.to_array()).collect(),
            radius_mm: stroke.radius_mm,
            erase,
            plane: stroke.disk.map(Plane::from),
            lower: stroke.intensity_range.map(|r| r.0),
            upper: stroke.intensity_range.map(|r| r.1),
            overwrite: match stroke.policy {
                OverwritePolicy::All => Overwrite::All,
                OverwritePolicy::BackgroundOnly => Overwrite::Background,
            },
        }
    }
}

/// Reads a script: a JSON array of ops (or `{"ops": [...]}`).
pub fn parse_script(text: &str) -> Result<Vec<EditOp>, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Script {
        List(Vec<EditOp>),
        Wrapped { ops: Vec<EditOp> },
    }
    Ok(match serde_json::from_str::<Script>(text)? {
        Script::List(ops) | Script::Wrapped { ops } => ops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_fixed_op_shapes_parse() {
        let ops = parse_script(
            r#"[{"op":"brush","label":1,"points_mm":[[1,2,3],[4,5,6]],"radius_mm":5.0,"erase":false},
                {"op":"grow","label":1,"seed_mm":[0,0,0],"lower":-300,"upper":300,"connectivity":6,"max_distance_mm":null}]"#,
        )
        .unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].name(), "brush");
        assert!(matches!(
            ops[1],
            EditOp::Grow {
                connectivity: 6,
                max_distance_mm: None,
                ..
            }
        ));
        assert_eq!(ops[0].params()["radius_mm"], 5.0);
        assert!(parse_script(r#"[{"op":"brush","label":1}]"#).is_err());
        assert!(parse_script(r#"[{"op":"paint"}]"#).is_err());
    }
}
