//! Matching a follow-up's lesions to the lesions tracked so far, in baseline
//! space.
//!
//! Every appearance of a lesion is mapped onto the baseline grid: each voxel
//! centre goes through the follow-up-to-baseline transform to the nearest
//! baseline voxel (centres falling off the grid are dropped), and the set of
//! baseline voxels hit is kept. A follow-up on a coarser grid than the
//! baseline leaves gaps in that set; overlap is then smaller but still found.
//!
//! 1. Overlap: pairs (tracked, current) sharing baseline voxels are taken
//!    greedily, largest shared voxel count first (ties: lower tracked id,
//!    then lower current index), one to one.
//! 2. Split: a current lesion left over that overlaps tracked lesions is a
//!    fragment of the one it overlaps most (already matched, or step 1 would
//!    have paired them); RECIST 1.1 section 4.3.1 adds fragments' diameters.
//! 3. Merge: a tracked lesion left over that overlaps a matched current
//!    lesion has coalesced into that lesion's track: it is absent, with
//!    `merged_into` naming the lesion (RECIST 1.1 section 4.3.1: a coalesced
//!    lesion is measured as one).
//! 4. Distance: left-over current and tracked lesions with centroids (in
//!    baseline RAS) within `max_distance_mm` are paired greedily, nearest
//!    first.
//! 5. Current lesions still left are new.

use glam::{DMat4, DVec3};

use super::TimePoint;
use super::lesions::{Component, ijk};

/// A lesion appearance in baseline space.
#[derive(Clone, Debug, PartialEq)]
pub struct Appearance {
    /// Baseline-grid linear voxel indices, ascending, distinct.
    pub baseline_voxels: Vec<usize>,
    pub centroid_baseline_ras_mm: DVec3,
}

impl Appearance {
    pub fn union(parts: &[Appearance]) -> Appearance {
        let mut voxels: Vec<usize> = parts
            .iter()
            .flat_map(|p| p.baseline_voxels.iter().copied())
            .collect();
        voxels.sort_unstable();
        voxels.dedup();
        let n: f64 = parts
            .iter()
            .map(|p| p.baseline_voxels.len().max(1) as f64)
            .sum();
        let centroid = parts.iter().fold(DVec3::ZERO, |acc, p| {
            acc + p.centroid_baseline_ras_mm * p.baseline_voxels.len().max(1) as f64
        }) / n.max(1.0);
        Appearance {
            baseline_voxels: voxels,
            centroid_baseline_ras_mm: centroid,
        }
    }
}

/// `c` of time point `tp` in baseline space; `baseline_ras_from_tp_ras`
/// maps this time point's RAS to baseline RAS.
pub fn to_baseline(
    tp: &TimePoint,
    c: &Component,
    baseline_ras_from_tp_ras: &DMat4,
    baseline_shape: [usize; 3],
    baseline_voxel_from_ras: &DMat4,
) -> Appearance {
    let m = *baseline_voxel_from_ras * *baseline_ras_from_tp_ras * tp.ras_from_voxel;
    let mut voxels = Vec::with_capacity(c.voxels.len());
    let mut sum = DVec3::ZERO;
    for &v in &c.voxels {
        let p = DVec3::from_array(ijk(tp.shape, v).map(|x| x as f64));
        sum += p;
        let q = m.transform_point3(p).round();
        let inside = (0..3).all(|a| q[a] >= 0.0 && q[a] < baseline_shape[a] as f64);
        if inside {
            let [i, j, k] = [q.x as usize, q.y as usize, q.z as usize];
            voxels.push(i + baseline_shape[0] * (j + baseline_shape[1] * k));
        }
    }
    voxels.sort_unstable();
    voxels.dedup();
    let n = c.voxels.len().max(1) as f64;
    let centroid = (*baseline_ras_from_tp_ras * tp.ras_from_voxel).transform_point3(sum / n);
    Appearance {
        baseline_voxels: voxels,
        centroid_baseline_ras_mm: centroid,
    }
}

/// How a current lesion joined a track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Link {
    Overlap { voxels: usize },
    Fragment { voxels: usize },
    Distance { mm: f64 },
}

/// Result of matching one time point.
#[derive(Clone, Debug, PartialEq)]
pub struct Matching {
    /// Per current lesion: (index into `tracked`, how), or `None` when new.
    pub current: Vec<Option<(usize, Link)>>,
    /// Per tracked lesion left unmatched but overlapping a matched current
    /// lesion: the tracked index that current lesion joined.
    pub merged_into: Vec<Option<usize>>,
}

fn shared(a: &[usize], b: &[usize]) -> usize {
    if a.is_empty() || b.is_empty() || a[a.len() - 1] < b[0] || b[b.len() - 1] < a[0] {
        return 0;
    }
    let (mut x, mut y, mut n) = (0, 0, 0);
    while x < a.len() && y < b.len() {
        match a[x].cmp(&b[y]) {
            std::cmp::Ordering::Less => x += 1,
            std::cmp::Ordering::Greater => y += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                x += 1;
                y += 1;
            }
        }
    }
    n
}

/// Matches `current` lesions to `tracked` ones (each its latest appearance;
/// index order = lesion id order), both in baseline space.
pub fn match_lesions(
    tracked: &[&Appearance],
    current: &[Appearance],
    max_distance_mm: f64,
) -> Matching {
    let mut overlaps: Vec<(usize, usize, usize)> = Vec::new();
    for (t, a) in tracked.iter().enumerate() {
        for (c, b) in current.iter().enumerate() {
            let n = shared(&a.baseline_voxels, &b.baseline_voxels);
            if n > 0 {
                overlaps.push((n, t, c));
            }
        }
    }
    overlaps.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut of_current: Vec<Option<(usize, Link)>> = vec![None; current.len()];
    let mut taken = vec![false; tracked.len()];
    for &(n, t, c) in &overlaps {
        if !taken[t] && of_current[c].is_none() {
            taken[t] = true;
            of_current[c] = Some((t, Link::Overlap { voxels: n }));
        }
    }
    // Fragments: the first pair of a left-over current lesion is its largest.
    for &(n, t, c) in &overlaps {
        if of_current[c].is_none() {
            of_current[c] = Some((t, Link::Fragment { voxels: n }));
        }
    }
    let mut merged_into = vec![None; tracked.len()];
    for &(_, t, c) in &overlaps {
        if !taken[t] && merged_into[t].is_none() {
            merged_into[t] = of_current[c].map(|(into, _)| into);
        }
    }
    let mut near: Vec<(f64, usize, usize)> = Vec::new();
    for (t, a) in tracked.iter().enumerate() {
        if taken[t] || merged_into[t].is_some() {
            continue;
        }
        for (c, b) in current.iter().enumerate() {
            if of_current[c].is_some() {
                continue;
            }
            let d = a
                .centroid_baseline_ras_mm
                .distance(b.centroid_baseline_ras_mm);
            if d <= max_distance_mm {
                near.push((d, t, c));
            }
        }
    }
    near.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    for (d, t, c) in near {
        if !taken[t] && of_current[c].is_none() {
            taken[t] = true;
            of_current[c] = Some((t, Link::Distance { mm: d }));
        }
    }
    Matching {
        current: of_current,
        merged_into,
    }
}
