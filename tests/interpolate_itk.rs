//! Fill between slices against ITK's `MorphologicalContourInterpolator`, the
//! method rayseg implements (with `UseDistanceTransform` off), on the small
//! drawn shapes of `tests/data/interpolate_itk/` (64×64×30, every 5th–7th
//! slice across k drawn; made by `benches/peers/make_interpolate_oracles.py`
//! with ITK 5.4.7, one thread, see that folder's README.md).
//!
//! Agreement is Dice over the filled slices only (between the first and the
//! last drawn slice, drawn slices left out: both keep those as drawn, which
//! would only inflate the figure). Measured (rayseg vs ITK with the distance
//! transform off / vs ITK's default distance-transform median):
//!
//! | shape | vs ITK | vs ITK (distance transform) | voxels rayseg / ITK |
//! |---|---|---|---|
//! | cone (two discs of different radius) | 0.9916 | 0.9598 | 6880 / 6996 |
//! | shifted disc | 0.9935 | 0.9934 | 3960 / 4012 |
//! | split into two | 0.9707 | 0.9749 | 5769 / 6010 |
//! | appearing and ending region | 0.9924 | 0.9694 | 3640 / 3696 |
//! | rotating ellipse | 0.9674 | 0.9437 | 5406 / 5770 |
//! | crescent (concave) | 0.9631 | 0.9643 | 6204 / 6430 |
//! | pooled | 0.9784 | | |
//!
//! Against the analytic shapes (filled slices) rayseg scores 0.918–0.974 and
//! ITK 0.926–0.962 (oracles.json has ITK's). The differences are not noise:
//! rayseg's filled slices are almost a subset of ITK's (ITK has 1–6 % more
//! voxels there), on some slices only (cone: k = 9 and 21, each next to a
//! drawn slice; the others are identical). Hence the thresholds: every shape ≥ 0.95 and the pool
//! ≥ 0.97, a little under what was measured, so that a regression in
//! matching, alignment, splitting or extrapolation (each moves a shape by
//! 0.03 or more: against ITK with extrapolation off, "appear" scored 0.85) fails
//! while the known small offset does not.
//!
//! The drawn slices must come back unchanged.

use std::path::{Path, PathBuf};

use rayseg::annotate::effects::interpolate::{drawn_slices, interpolate};
use rayseg::annotate::effects::mask::Mask;
use rayseg::volume::{LoadOptions, load};

/// (shape, least Dice vs ITK without the distance transform on filled slices).
const SHAPES: [(&str, f64); 6] = [
    ("cone", 0.95),
    ("shifted", 0.95),
    ("split", 0.95),
    ("appear", 0.95),
    ("rotate", 0.95),
    ("crescent", 0.95),
];
/// Least Dice over all shapes' filled slices together.
const POOLED: f64 = 0.97;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/interpolate_itk")
}

fn mask(path: &Path) -> Mask {
    let v =
        load(path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bits = (0..v.voxel_count())
        .map(|n| v.data.get_f64(n).is_some_and(|x| x != 0.0))
        .collect();
    Mask::from_bits(v.shape, bits)
}

/// (voxels in both, voxels in a, voxels in b) over the slices k where `keep`.
fn overlap(a: &Mask, b: &Mask, keep: &[bool]) -> (u64, u64, u64) {
    let plane = a.size[0] * a.size[1];
    let (mut both, mut na, mut nb) = (0, 0, 0);
    for (n, (&x, &y)) in a.bits.iter().zip(&b.bits).enumerate() {
        if keep[n / plane] {
            na += u64::from(x);
            nb += u64::from(y);
            both += u64::from(x && y);
        }
    }
    (both, na, nb)
}

fn dice((both, na, nb): (u64, u64, u64)) -> f64 {
    if na + nb == 0 {
        1.0
    } else {
        2.0 * both as f64 / (na + nb) as f64
    }
}

#[test]
fn fill_between_slices_agrees_with_itk() {
    let mut pooled = (0, 0, 0);
    let mut failures = Vec::new();
    for (name, least) in SHAPES {
        let input = mask(&dir().join(format!("{name}_input.nii.gz")));
        let itk = mask(&dir().join(format!("{name}_itk.nii.gz")));
        let itk_dt = mask(&dir().join(format!("{name}_itk_dt.nii.gz")));
        assert_eq!(input.size, [64, 64, 30], "{name}");
        let drawn = drawn_slices(&input, 2);
        let ours = interpolate(&input, 2).expect("interpolate");
        let (first, last) = (drawn[0], drawn[drawn.len() - 1]);
        let filled: Vec<bool> = (0..input.size[2])
            .map(|k| (first..=last).contains(&k) && !drawn.contains(&k))
            .collect();
        let on_drawn: Vec<bool> = filled.iter().map(|&f| !f).collect();
        let same_drawn = overlap(&ours, &input, &on_drawn);
        assert!(
            same_drawn.0 == same_drawn.1 && same_drawn.1 == same_drawn.2,
            "{name}: rayseg changed drawn or outer slices"
        );
        let o = overlap(&ours, &itk, &filled);
        let d = dice(o);
        let d_dt = dice(overlap(&ours, &itk_dt, &filled));
        let mismatch = ours
            .bits
            .iter()
            .zip(&itk.bits)
            .filter(|(a, b)| a != b)
            .count();
        eprintln!(
            "{name:9} drawn {drawn:?}: Dice vs ITK {d:.4} ({mismatch} voxels differ; rayseg {} \
             ITK {} on filled slices), vs ITK distance-transform median {d_dt:.4}",
            o.1, o.2
        );
        if d < least {
            failures.push(format!("{name}: Dice {d:.4} < {least}"));
        }
        pooled = (pooled.0 + o.0, pooled.1 + o.1, pooled.2 + o.2);
    }
    eprintln!("pooled Dice vs ITK {:.4}", dice(pooled));
    assert!(failures.is_empty(), "{failures:?}");
    assert!(dice(pooled) >= POOLED, "pooled Dice {:.4}", dice(pooled));
}
