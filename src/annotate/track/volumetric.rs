//! Volumetric response: the RECIST 1.1 rules of [`super::recist`] applied to
//! the sum of the target lesions' volumes (mL) instead of their diameters.
//!
//! Thresholds: **PR** at a volume sum ≤ 35 % of baseline (−65 %), **PD** at
//! ≥ 173 % of the nadir volume sum (+73 %), no absolute minimum; CR, new
//! lesions, non-target lesions, reappearance and the overall table as RECIST.
//! Source: the volumes of spheres whose diameters change by RECIST's −30 %
//! and +20 %, 0.7³ = 0.343 (−65.7 %) and 1.2³ = 1.728 (+72.8 %), rounded to
//! the values used in the literature on volumetric response (a comparison
//! of response criteria in AJNR lists "volumetric extrapolated from RECIST"
//! as PD at a ≥ 73 % increase from the nadir; its PR rounds the same 65.7 %
//! to ≥ 66 %). PR at −65 % is thus a little more lenient than the exact
//! sphere equivalent. Being a derivation, not a validated standard, these
//! categories are reported beside RECIST, never instead of it.

use super::recist::Thresholds;

/// Volume thresholds: −65 % from baseline, +73 % from the nadir.
pub const VOLUMETRIC: Thresholds = Thresholds {
    pr_fraction_of_baseline: 0.35,
    pd_fraction_of_nadir: 1.73,
    pd_min_increase: 0.0,
};
