//! The tracking report: serde JSON and a readable text table.

use std::fmt::Write;

use serde::Serialize;

use super::measure::Measurement;
use super::recist::{Category, Rule, Thresholds};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackReport {
    pub time_points: Vec<TimePointInfo>,
    pub options: OptionsReport,
    /// Smallest long axis (mm) of a measurable baseline lesion.
    pub measurable_min_long_axis_mm: f64,
    /// Target lesion ids (at most 5), largest baseline long axis first.
    pub targets: Vec<u32>,
    /// "largest measurable" or "given".
    pub targets_chosen: &'static str,
    /// Baseline lesions that are not targets.
    pub non_targets: Vec<u32>,
    pub lesions: Vec<LesionTrack>,
    /// One per follow-up time point (1, 2, ...).
    pub responses: Vec<TimePointResponse>,
    pub recist_thresholds: Thresholds,
    pub volumetric_thresholds: Thresholds,
    /// What the reader should know (no measurable lesion at baseline, ...).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimePointInfo {
    pub index: usize,
    pub name: String,
    pub shape: [usize; 3],
    pub voxel_volume_ml: f64,
    pub slice_thickness_mm: f64,
    /// Rows of the 4×4 matrix mapping a baseline RAS point to this time
    /// point's RAS (identity at baseline).
    pub ras_from_baseline_ras: [[f64; 4]; 4],
    pub lesion_count: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptionsReport {
    /// "components" or "labels".
    pub lesions: &'static str,
    /// 6 or 26; absent with labels as lesions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectivity: Option<u8>,
    pub match_distance_mm: f64,
    pub matching: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LesionTrack {
    pub id: u32,
    /// The label value of its first appearance.
    pub label: u8,
    pub first_time_point: usize,
    /// "target", "non-target" or "new".
    pub role: &'static str,
    /// From its first appearance on, one per time point.
    pub time_points: Vec<LesionAt>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Present at baseline.
    Baseline,
    Present,
    /// First seen at this follow-up.
    New,
    /// Absent now, present at the previous time point.
    Disappeared,
    /// Absent now and at the previous time point.
    Absent,
    /// Present now, absent at the previous time point.
    Reappeared,
    /// Coalesced into another lesion (`merged_into`): measured as 0.
    Merged,
}

impl Status {
    pub fn present(self) -> bool {
        matches!(
            self,
            Status::Baseline | Status::Present | Status::New | Status::Reappeared
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum MatchedBy {
    /// Shared voxels in baseline space with the lesion's previous appearance.
    Overlap { voxels: usize },
    /// Centroid distance (baseline RAS) to the previous appearance.
    Distance { mm: f64 },
    /// Same label value (`--by-label`).
    Label,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LesionAt {
    pub time_point: usize,
    pub status: Status,
    #[serde(flatten)]
    pub measurement: Measurement,
    /// Components making up the lesion now (more than 1: it split).
    pub parts: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<u32>,
    /// Percent changes; `null` where the reference is 0 or absent.
    pub long_axis_change_from_baseline_pct: Option<f64>,
    pub long_axis_change_from_nadir_pct: Option<f64>,
    pub volume_change_from_baseline_pct: Option<f64>,
    pub volume_change_from_nadir_pct: Option<f64>,
}

/// Response at one follow-up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimePointResponse {
    pub time_point: usize,
    /// Lesions not seen at baseline that are present now.
    pub new_lesions: Vec<u32>,
    pub recist: RecistResponse,
    pub volumetric: VolumetricResponse,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecistResponse {
    pub sum_mm: f64,
    pub baseline_sum_mm: f64,
    pub nadir_sum_mm: f64,
    pub change_from_baseline_pct: Option<f64>,
    pub change_from_nadir_mm: f64,
    pub change_from_nadir_pct: Option<f64>,
    #[serde(flatten)]
    pub categories: Categories,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VolumetricResponse {
    pub sum_ml: f64,
    pub baseline_sum_ml: f64,
    pub nadir_sum_ml: f64,
    pub change_from_baseline_pct: Option<f64>,
    pub change_from_nadir_ml: f64,
    pub change_from_nadir_pct: Option<f64>,
    #[serde(flatten)]
    pub categories: Categories,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Categories {
    pub targets_present: usize,
    pub target: Category,
    pub target_rule: Rule,
    pub non_target: Category,
    pub non_target_rule: Rule,
    pub overall: Category,
    pub overall_rule: Rule,
}

pub fn percent(value: f64, reference: f64) -> Option<f64> {
    (reference > 0.0).then(|| 100.0 * (value - reference) / reference)
}

fn pct(p: Option<f64>) -> String {
    p.map_or("-".into(), |p| format!("{p:+.1}%"))
}

impl TrackReport {
    /// A readable table: time points, lesions per time point, responses.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Time points");
        for t in &self.time_points {
            let _ = writeln!(
                s,
                "  T{}  {}  ({} lesions, slices {:.2} mm)",
                t.index, t.name, t.lesion_count, t.slice_thickness_mm
            );
        }
        let role = |id: u32| {
            self.lesions
                .iter()
                .find(|l| l.id == id)
                .map_or("", |l| l.role)
        };
        let _ = writeln!(
            s,
            "\nLesions (long / short axis mm, volume mL; measurable: long axis >= {:.1} mm)",
            self.measurable_min_long_axis_mm
        );
        let _ = writeln!(
            s,
            "  {:>4} {:>5} {:<10} {:>3} {:<11} {:>8} {:>8} {:>10} {:>9} {:>9}",
            "id", "label", "role", "T", "status", "long", "short", "volume", "long/BL", "long/nad"
        );
        for l in &self.lesions {
            for a in &l.time_points {
                let m = &a.measurement;
                let mut status = format!("{:?}", a.status).to_lowercase();
                if let Some(into) = a.merged_into {
                    status = format!("merged>{into}");
                }
                let _ = writeln!(
                    s,
                    "  {:>4} {:>5} {:<10} {:>3} {:<11} {:>8.2} {:>8.2} {:>10.3} {:>9} {:>9}",
                    l.id,
                    l.label,
                    role(l.id),
                    a.time_point,
                    status,
                    m.long_axis_mm,
                    m.short_axis_mm,
                    m.volume_ml,
                    pct(a.long_axis_change_from_baseline_pct),
                    pct(a.long_axis_change_from_nadir_pct),
                );
            }
        }
        let ids = |v: &[u32]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            }
        };
        let _ = writeln!(
            s,
            "\nTargets ({}): {}; non-targets: {}",
            self.targets_chosen,
            ids(&self.targets),
            ids(&self.non_targets)
        );
        let _ = writeln!(s, "\nRECIST 1.1 (sum of long axes)");
        let _ = writeln!(
            s,
            "  {:>3} {:>9} {:>9} {:>9} {:>8} {:>8} {:<6} {:<14} {:<9} {:<8} reason",
            "T",
            "sum mm",
            "nadir mm",
            "d nadir",
            "vs BL",
            "vs nadir",
            "target",
            "non-target",
            "new",
            "overall"
        );
        for r in &self.responses {
            let x = &r.recist;
            let c = &x.categories;
            let _ = writeln!(
                s,
                "  {:>3} {:>9.2} {:>9.2} {:>+9.2} {:>8} {:>8} {:<6} {:<14} {:<9} {:<8} {:?}/{:?}",
                r.time_point,
                x.sum_mm,
                x.nadir_sum_mm,
                x.change_from_nadir_mm,
                pct(x.change_from_baseline_pct),
                pct(x.change_from_nadir_pct),
                c.target.short(),
                c.non_target.short(),
                ids(&r.new_lesions),
                c.overall.short(),
                c.target_rule,
                c.overall_rule,
            );
        }
        let _ = writeln!(
            s,
            "\nVolumetric (sum of target volumes; PR <= {:.0}%, PD >= {:+.0}% from nadir)",
            100.0 * (self.volumetric_thresholds.pr_fraction_of_baseline - 1.0),
            100.0 * (self.volumetric_thresholds.pd_fraction_of_nadir - 1.0)
        );
        let _ = writeln!(
            s,
            "  {:>3} {:>10} {:>10} {:>8} {:>8} {:<6} {:<8} reason",
            "T", "sum mL", "nadir mL", "vs BL", "vs nadir", "target", "overall"
        );
        for r in &self.responses {
            let x = &r.volumetric;
            let c = &x.categories;
            let _ = writeln!(
                s,
                "  {:>3} {:>10.3} {:>10.3} {:>8} {:>8} {:<6} {:<8} {:?}/{:?}",
                r.time_point,
                x.sum_ml,
                x.nadir_sum_ml,
                pct(x.change_from_baseline_pct),
                pct(x.change_from_nadir_pct),
                c.target.short(),
                c.overall.short(),
                c.target_rule,
                c.overall_rule,
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "\nnote: {n}");
        }
        s
    }
}
