//! Consensus of several raters' label maps on one grid: STAPLE, as ITK's
//! `STAPLEImageFilter` computes it, and majority vote.
//!
//! * **STAPLE** (Warfield et al. 2004) runs once per label present in any
//!   input, binary (that label foreground, every other value background),
//!   over the whole image, and reproduces ITK's sensitivities,
//!   specificities, iteration count and probabilities bit for bit (see
//!   `staple.rs`). A voxel takes the label whose probability is
//!   ≥ 0.5; if several are, the most probable, ties to the lower label; if
//!   none, background. As in ITK, voxels where all raters agree get no
//!   special treatment (their probability is almost always beyond 0.5).
//! * **Majority vote**: the label most raters gave (background counts as a
//!   label); a tie for the most votes gives background, where ITK's
//!   `LabelVotingImageFilter` gives its "undecided" value (so it equals
//!   `LabelVoting` with undecided label 0).
//!
//! Both work on runs of consecutive voxels (file order) where every rater
//! gives the same label, so the time grows with the voxel count once and
//! then with the boundary length, not the volume.

use std::path::{Path, PathBuf};

use glam::{DMat4, DVec3};
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

mod majority;
mod runs;
mod staple;

use runs::{RaterRuns, pattern};

pub use staple::{StapleLabel, StapleOptions};

/// Inputs' grids may differ by this much (voxel-box corners, RAS mm).
pub const GRID_TOLERANCE_MM: f64 = 1e-3;
/// A voxel's raters are a 64-bit mask inside STAPLE.
pub const MAX_RATERS: usize = 64;

#[derive(Debug, Error)]
pub enum ConsensusError {
    #[error("consensus needs at least 2 label maps, got {got}")]
    TooFewRaters { got: usize },
    #[error("consensus takes at most {MAX_RATERS} label maps, got {got}")]
    TooManyRaters { got: usize },
    #[error("the label maps are empty")]
    Empty,
    #[error("label map {index} has {got} voxels, the first has {want}")]
    LengthMismatch {
        index: usize,
        got: usize,
        want: usize,
    },
    #[error("{}: not on the grid of {}: {detail}", other.display(), first.display())]
    GridMismatch {
        first: PathBuf,
        other: PathBuf,
        detail: String,
    },
    #[error("confidence weight {0} must be finite and > 0")]
    ConfidenceWeight(f64),
    #[error("STAPLE needs at least 1 iteration")]
    ZeroIterations,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Staple,
    Majority,
}

/// One label present in any input.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelSummary {
    pub label: u8,
    /// Voxels with this label in the consensus.
    pub consensus_voxels: u64,
    /// Voxels each rater gave this label, in input order.
    pub rater_voxels: Vec<u64>,
    /// STAPLE's estimates; `None` for majority vote.
    pub staple: Option<StapleLabel>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Consensus {
    /// The consensus label map, on the inputs' grid.
    pub labels: Vec<u8>,
    /// Labels present in any input, ascending, background left out.
    pub summary: Vec<LabelSummary>,
}

/// The consensus of `raters` (label maps on one grid, ≥ 2).
pub fn consensus(
    raters: &[&[u8]],
    method: Method,
    options: &StapleOptions,
) -> Result<Consensus, ConsensusError> {
    check_raters(raters)?;
    check_options(options)?;
    let runs = RaterRuns::build(raters);
    let present = runs.labels_present();
    let (decided, staple): (Vec<u8>, Vec<Option<StapleLabel>>) = match method {
        Method::Majority => (
            majority::decide(&runs),
            present.iter().map(|_| None).collect(),
        ),
        Method::Staple => {
            let estimates: Vec<StapleLabel> = present
                .par_iter()
                .map(|&label| staple_label(&runs, label, options))
                .collect();
            (
                decide_staple(&runs, &estimates),
                estimates.into_iter().map(Some).collect(),
            )
        }
    };
    let labels = runs.expand(&decided);
    let mut consensus_voxels = [0u64; 256];
    let mut rater_voxels = vec![[0u64; 256]; raters.len()];
    for (j, &label) in decided.iter().enumerate() {
        let n = runs.run_len(j) as u64;
        consensus_voxels[label as usize] += n;
        for (counts, &l) in rater_voxels.iter_mut().zip(runs.tuple(j)) {
            counts[l as usize] += n;
        }
    }
    let summary = present
        .iter()
        .zip(staple)
        .map(|(&label, staple)| LabelSummary {
            label,
            consensus_voxels: consensus_voxels[label as usize],
            rater_voxels: rater_voxels.iter().map(|c| c[label as usize]).collect(),
            staple,
        })
        .collect();
    Ok(Consensus { labels, summary })
}

/// Binary STAPLE for `label` and its probability per voxel: ITK's output
/// image for `STAPLE(raters, label)`.
pub fn staple_probability(
    raters: &[&[u8]],
    label: u8,
    options: &StapleOptions,
) -> Result<(StapleLabel, Vec<f64>), ConsensusError> {
    check_raters(raters)?;
    check_options(options)?;
    let runs = RaterRuns::build(raters);
    let estimate = staple_label(&runs, label, options);
    let probability = (0..runs.len())
        .map(|j| estimate.probability(pattern(runs.tuple(j), label)))
        .collect::<Vec<f64>>();
    let mut out = Vec::with_capacity(runs.voxels);
    for (j, &p) in probability.iter().enumerate() {
        out.resize(out.len() + runs.run_len(j), p);
    }
    Ok((estimate, out))
}

/// Checks that every grid is the first's: same shape, and voxel boxes
/// whose corners lie within [`GRID_TOLERANCE_MM`] (an affine map's largest
/// difference over the grid is at a corner).
pub fn check_same_grid(grids: &[(&Path, [usize; 3], DMat4)]) -> Result<(), ConsensusError> {
    let Some(&(first, shape, ras_from_voxel)) = grids.first() else {
        return Ok(());
    };
    for &(other, other_shape, other_ras) in &grids[1..] {
        let mismatch = |detail: String| ConsensusError::GridMismatch {
            first: first.to_owned(),
            other: other.to_owned(),
            detail,
        };
        if other_shape != shape {
            return Err(mismatch(format!(
                "shape {}×{}×{}, not {}×{}×{}",
                other_shape[0], other_shape[1], other_shape[2], shape[0], shape[1], shape[2]
            )));
        }
        let mut worst_mm: f64 = 0.0;
        for corner in 0..8 {
            let ijk = DVec3::from_array(std::array::from_fn(|a| {
                if corner >> a & 1 == 1 {
                    shape[a] as f64 - 0.5
                } else {
                    -0.5
                }
            }));
            let d = ras_from_voxel.transform_point3(ijk) - other_ras.transform_point3(ijk);
            // f64::max would drop a NaN.
            let len = d.length();
            if !worst_mm.is_nan() && (len.is_nan() || len > worst_mm) {
                worst_mm = len;
            }
        }
        // NaN (a broken matrix) fails too.
        if worst_mm.is_nan() || worst_mm > GRID_TOLERANCE_MM {
            return Err(mismatch(format!(
                "voxel-to-RAS differs by up to {worst_mm:.4} mm at the grid's corners \
                 (tolerance {GRID_TOLERANCE_MM} mm)"
            )));
        }
    }
    Ok(())
}

fn check_raters(raters: &[&[u8]]) -> Result<(), ConsensusError> {
    if raters.len() < 2 {
        return Err(ConsensusError::TooFewRaters { got: raters.len() });
    }
    if raters.len() > MAX_RATERS {
        return Err(ConsensusError::TooManyRaters { got: raters.len() });
    }
    let want = raters[0].len();
    if want == 0 {
        return Err(ConsensusError::Empty);
    }
    if let Some((index, r)) = raters.iter().enumerate().find(|(_, r)| r.len() != want) {
        return Err(ConsensusError::LengthMismatch {
            index,
            got: r.len(),
            want,
        });
    }
    Ok(())
}

fn check_options(options: &StapleOptions) -> Result<(), ConsensusError> {
    let w = options.confidence_weight;
    if !(w.is_finite() && w > 0.0) {
        return Err(ConsensusError::ConfidenceWeight(w));
    }
    if options.max_iterations == 0 {
        return Err(ConsensusError::ZeroIterations);
    }
    Ok(())
}

fn staple_label(runs: &RaterRuns, label: u8, options: &StapleOptions) -> StapleLabel {
    let pieces = (0..runs.len()).map(|j| (pattern(runs.tuple(j), label), runs.run_len(j)));
    let patterns = staple::PatternRuns::from_pieces(pieces);
    staple::run(label, &patterns, runs.raters, runs.voxels, options)
}

/// Per run: the label whose probability is ≥ 0.5, the most probable if
/// several (ties to the lower label), else background.
fn decide_staple(runs: &RaterRuns, estimates: &[StapleLabel]) -> Vec<u8> {
    // A label no rater gave at a voxel still has a probability there (that
    // of the empty pattern); the few labels where that is ≥ 0.5, best first.
    let mut unmarked: Vec<(f64, u8)> = estimates
        .iter()
        .map(|e| (e.probability(0), e.label))
        .filter(|&(p, _)| p >= 0.5)
        .collect();
    unmarked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let index: Vec<Option<usize>> = {
        let mut index = vec![None; 256];
        for (i, e) in estimates.iter().enumerate() {
            index[e.label as usize] = Some(i);
        }
        index
    };
    (0..runs.len())
        .into_par_iter()
        .map(|j| {
            let tuple = runs.tuple(j);
            let mut best: Option<(f64, u8)> = unmarked
                .iter()
                .find(|(_, label)| !tuple.contains(label))
                .copied();
            for (r, &label) in tuple.iter().enumerate() {
                // Each label once: at its first rater.
                if label == 0 || tuple[..r].contains(&label) {
                    continue;
                }
                let Some(i) = index[label as usize] else {
                    continue;
                };
                let p = estimates[i].probability(pattern(tuple, label));
                let better = match best {
                    None => true,
                    Some((bp, bl)) => p > bp || (p == bp && label < bl),
                };
                if p >= 0.5 && better {
                    best = Some((p, label));
                }
            }
            best.map_or(0, |(_, label)| label)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_are_errors() {
        let a = [0u8, 1, 1];
        let opts = StapleOptions::default();
        assert!(matches!(
            consensus(&[&a], Method::Staple, &opts),
            Err(ConsensusError::TooFewRaters { got: 1 })
        ));
        assert!(matches!(
            consensus(&[&a, &a[..2]], Method::Majority, &opts),
            Err(ConsensusError::LengthMismatch {
                index: 1,
                got: 2,
                want: 3
            })
        ));
        let bad = StapleOptions {
            confidence_weight: f64::NAN,
            ..opts
        };
        assert!(consensus(&[&a, &a], Method::Staple, &bad).is_err());
        let zero = StapleOptions {
            max_iterations: 0,
            ..opts
        };
        assert!(consensus(&[&a, &a], Method::Staple, &zero).is_err());
        let many: Vec<&[u8]> = vec![&a; 65];
        assert!(matches!(
            consensus(&many, Method::Majority, &opts),
            Err(ConsensusError::TooManyRaters { got: 65 })
        ));
    }

    #[test]
    fn unanimous_raters_give_their_map() {
        let a: Vec<u8> = (0..1000).map(|v| (v % 7 % 3) as u8).collect();
        for method in [Method::Staple, Method::Majority] {
            let c = consensus(&[&a, &a, &a], method, &StapleOptions::default()).unwrap();
            assert_eq!(c.labels, a);
        }
    }

    #[test]
    fn grids_must_agree() {
        let p = Path::new("a.nii");
        let q = Path::new("b.nii");
        let m = DMat4::from_scale(DVec3::new(0.5, 0.5, 2.0));
        assert!(check_same_grid(&[(p, [4, 4, 4], m), (q, [4, 4, 4], m)]).is_ok());
        let err = check_same_grid(&[(p, [4, 4, 4], m), (q, [4, 4, 5], m)]).unwrap_err();
        assert!(err.to_string().contains("b.nii") && err.to_string().contains("a.nii"));
        let shifted = DMat4::from_translation(DVec3::new(0.0, 0.002, 0.0)) * m;
        assert!(check_same_grid(&[(p, [4, 4, 4], m), (q, [4, 4, 4], shifted)]).is_err());
        let close = DMat4::from_translation(DVec3::new(0.0, 0.0005, 0.0)) * m;
        assert!(check_same_grid(&[(p, [4, 4, 4], m), (q, [4, 4, 4], close)]).is_ok());
    }
}
