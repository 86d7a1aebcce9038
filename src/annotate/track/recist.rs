//! RECIST 1.1 response categories as pure functions of sums and flags
//! (Eisenhauer et al., "New response evaluation criteria in solid tumours:
//! Revised RECIST guideline (version 1.1)", Eur J Cancer 2009;45:228–247).
//!
//! - Target lesions (section 4.3.1): **CR** when every target lesion has
//!   disappeared; **PD** when the sum of diameters is at least 20 % above the
//!   nadir (the smallest sum on study, baseline included) *and* at least
//!   5 mm above it; **PR** when the sum is at least 30 % below the baseline
//!   sum; **SD** otherwise. PD is tested before PR: it is measured from the
//!   nadir, so a sum can be both 30 % under baseline and 20 % over the nadir,
//!   and progression wins. Boundaries are inclusive ("at least"), compared
//!   with a tolerance of [`TOLERANCE`] so that exact 20 %, 30 % and 5 mm
//!   cases fall on the inclusive side despite rounding.
//! - Non-target lesions (section 4.3.2): **CR** when all have disappeared,
//!   else **Non-CR/Non-PD**. "Unequivocal progression" of non-target disease
//!   is a reader's overall judgement and is not automated here.
//! - New lesions (section 4.3.4): the appearance of a new lesion is **PD**.
//! - Overall response: Table 1 (patients with target disease) and Table 2
//!   (non-target disease only) of section 4.4.1.
//! - A lesion that disappeared and reappears (EORTC RECIST working group,
//!   "Questions and clarifications" to RECIST 1.1, and its FAQ "Does a new
//!   lesion always result in PD?"): it is measured again and its diameter
//!   added to the sum; it is PD by itself only when the overall response at
//!   the previous assessment was **CR** — then the reappearance of any
//!   lesion is PD. Otherwise the sums decide.

use serde::Serialize;

/// Absolute tolerance for the inclusive comparisons (mm or mL).
pub const TOLERANCE: f64 = 1e-9;

/// A response category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Category {
    #[serde(rename = "CR")]
    CompleteResponse,
    #[serde(rename = "PR")]
    PartialResponse,
    #[serde(rename = "SD")]
    StableDisease,
    #[serde(rename = "PD")]
    ProgressiveDisease,
    #[serde(rename = "Non-CR/Non-PD")]
    NonCrNonPd,
    /// Not evaluable.
    #[serde(rename = "NE")]
    NotEvaluable,
    /// No lesions of this kind at baseline.
    #[serde(rename = "NA")]
    NotApplicable,
}

impl Category {
    pub fn short(self) -> &'static str {
        match self {
            Category::CompleteResponse => "CR",
            Category::PartialResponse => "PR",
            Category::StableDisease => "SD",
            Category::ProgressiveDisease => "PD",
            Category::NonCrNonPd => "Non-CR/Non-PD",
            Category::NotEvaluable => "NE",
            Category::NotApplicable => "NA",
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.short())
    }
}

/// Which rule decided a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Every target (or non-target) lesion has disappeared.
    AllGone,
    /// Sum ≥ nadir × PD factor and sum − nadir ≥ the absolute minimum.
    IncreaseFromNadir,
    /// Sum ≤ baseline × PR factor.
    DecreaseFromBaseline,
    /// Neither enough shrinkage for PR nor enough growth for PD.
    Neither,
    /// The relative increase from the nadir reached the PD factor but the
    /// absolute increase fell short of the minimum (RECIST's 5 mm).
    IncreaseBelowAbsoluteMinimum,
    /// Some lesion remains.
    SomePresent,
    /// No lesions of this kind at baseline.
    NoneAtBaseline,
    /// A new lesion.
    NewLesion,
    /// A lesion reappeared after an overall CR at the previous time point.
    ReappearanceAfterCompleteResponse,
    /// Target PD.
    TargetProgression,
    /// RECIST 1.1 Table 1 (target disease at baseline).
    Table1,
    /// RECIST 1.1 Table 2 (non-target disease only).
    Table2,
    /// No lesion at baseline and none new: nothing to assess.
    NoDisease,
}

/// Thresholds on a sum of target sizes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// PR when sum ≤ this × baseline sum.
    pub pr_fraction_of_baseline: f64,
    /// PD when sum ≥ this × nadir sum (and the absolute minimum is met).
    pub pd_fraction_of_nadir: f64,
    /// PD also needs sum − nadir ≥ this (RECIST: 5 mm).
    pub pd_min_increase: f64,
}

/// RECIST 1.1 on the sum of longest diameters (mm): −30 %, +20 % and 5 mm.
pub const RECIST_1_1: Thresholds = Thresholds {
    pr_fraction_of_baseline: 0.7,
    pd_fraction_of_nadir: 1.2,
    pd_min_increase: 5.0,
};

/// Target sums at one time point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sums {
    pub sum: f64,
    pub baseline: f64,
    /// Smallest sum at the time points before this one, baseline included.
    pub nadir: f64,
    /// Target lesions present now (a present lesion may measure 0 mm: one
    /// voxel in its slice).
    pub present: usize,
}

/// Target response (`NotApplicable` when there are no targets).
pub fn target_response(targets: usize, s: &Sums, t: &Thresholds) -> (Category, Rule) {
    if targets == 0 {
        return (Category::NotApplicable, Rule::NoneAtBaseline);
    }
    if s.present == 0 {
        return (Category::CompleteResponse, Rule::AllGone);
    }
    let relative = s.sum >= t.pd_fraction_of_nadir * s.nadir - TOLERANCE;
    let absolute = s.sum - s.nadir >= t.pd_min_increase - TOLERANCE;
    if relative && absolute {
        return (Category::ProgressiveDisease, Rule::IncreaseFromNadir);
    }
    if s.sum <= t.pr_fraction_of_baseline * s.baseline + TOLERANCE {
        return (Category::PartialResponse, Rule::DecreaseFromBaseline);
    }
    if relative {
        return (Category::StableDisease, Rule::IncreaseBelowAbsoluteMinimum);
    }
    (Category::StableDisease, Rule::Neither)
}

/// Non-target response: CR when all are gone, else Non-CR/Non-PD
/// (unequivocal progression is not automated).
pub fn non_target_response(non_targets: usize, present: usize) -> (Category, Rule) {
    match (non_targets, present) {
        (0, _) => (Category::NotApplicable, Rule::NoneAtBaseline),
        (_, 0) => (Category::CompleteResponse, Rule::AllGone),
        _ => (Category::NonCrNonPd, Rule::SomePresent),
    }
}

/// Overall response from the target and non-target categories, whether a
/// new lesion is present, and whether a lesion reappeared after an overall
/// CR at the previous time point.
pub fn overall_response(
    target: Category,
    non_target: Category,
    new_lesion: bool,
    reappeared_after_cr: bool,
) -> (Category, Rule) {
    use Category::*;
    if new_lesion {
        return (ProgressiveDisease, Rule::NewLesion);
    }
    if reappeared_after_cr {
        return (ProgressiveDisease, Rule::ReappearanceAfterCompleteResponse);
    }
    if target == ProgressiveDisease {
        return (ProgressiveDisease, Rule::TargetProgression);
    }
    let category = match (target, non_target) {
        (NotApplicable, NotApplicable) => return (NotEvaluable, Rule::NoDisease),
        (NotApplicable, CompleteResponse) => CompleteResponse,
        (NotApplicable, NonCrNonPd) => NonCrNonPd,
        (NotApplicable, _) => NotEvaluable,
        (CompleteResponse, CompleteResponse | NotApplicable) => CompleteResponse,
        (CompleteResponse, _) => PartialResponse,
        (PartialResponse, _) => PartialResponse,
        (StableDisease, _) => StableDisease,
        _ => NotEvaluable,
    };
    let table = match target {
        NotApplicable => Rule::Table2,
        _ => Rule::Table1,
    };
    (category, table)
}

/// Minimum long axis of a measurable lesion (section 3.1.1): 10 mm, or
/// twice the slice thickness when slices are thicker than 5 mm.
pub fn measurable_min_mm(slice_thickness_mm: f64) -> f64 {
    if slice_thickness_mm > 5.0 {
        2.0 * slice_thickness_mm
    } else {
        10.0
    }
}
