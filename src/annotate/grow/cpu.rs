//! Plain CPU reference: breadth-first flood fill from the seeds. Slow but
//! obviously right; the GPU implementation is tested against it voxel for voxel.

use std::collections::VecDeque;

use glam::DMat3;

use super::{
    Connectivity, GrowError, GrowOutcome, GrowRequest, VoxelBits, near_any_seed, validate,
};
use crate::annotate::labels::is_locked;
use crate::volume::Volume;

/// Grows the region on the CPU and writes `request.label` into `labels`
/// (one u8 per voxel on `volume`'s grid). Values are compared as f64.
pub fn grow_cpu(
    volume: &Volume,
    labels: &mut [u8],
    request: &GrowRequest,
) -> Result<GrowOutcome, GrowError> {
    let (region, outcome) = grow_region_cpu(volume, labels, request)?;
    region.apply(labels, request.label)?;
    Ok(outcome)
}

/// The region of `request` as a bitmask, `labels` (for the locks) untouched.
pub fn grow_region_cpu(
    volume: &Volume,
    labels: &[u8],
    request: &GrowRequest,
) -> Result<(VoxelBits, GrowOutcome), GrowError> {
    let shape = volume.shape;
    validate(request, shape)?;
    if labels.len() != volume.voxel_count() {
        return Err(GrowError::ShapeMismatch(format!(
            "label map has {} voxels, the image {}",
            labels.len(),
            volume.voxel_count()
        )));
    }
    let [ni, nj, nk] = shape;
    let linear = DMat3::from_mat4(request.ras_from_voxel);
    let max_d2 = request.max_distance_mm.map(|d| d * d);
    let passes = |n: usize| -> bool {
        let i = n % ni;
        let j = (n / ni) % nj;
        let k = n / (ni * nj);
        if is_locked(&request.locked_bits, labels[n]) {
            return false;
        }
        let Some(v) = volume.data.get_f64(n) else {
            return false;
        };
        if !(v >= request.lower && v <= request.upper) {
            return false;
        }
        match max_d2 {
            Some(d2) => near_any_seed(
                &linear,
                d2,
                &request.seeds_ijk,
                [i as i64, j as i64, k as i64],
            ),
            None => true,
        }
    };

    let offsets: Vec<[i64; 3]> = neighbour_offsets(request.connectivity);
    let mut in_region = vec![false; labels.len()];
    let mut queue = VecDeque::new();
    let mut outcome = GrowOutcome::default();
    for s in &request.seeds_ijk {
        let n = s[0] as usize + ni * (s[1] as usize + nj * s[2] as usize);
        let used = passes(n);
        outcome.seed_used.push(used);
        if used && !in_region[n] {
            in_region[n] = true;
            queue.push_back(n);
        }
    }
    while let Some(n) = queue.pop_front() {
        let p = [
            (n % ni) as i64,
            ((n / ni) % nj) as i64,
            (n / (ni * nj)) as i64,
        ];
        for d in &offsets {
            let q = [p[0] + d[0], p[1] + d[1], p[2] + d[2]];
            if q[0] < 0
                || q[1] < 0
                || q[2] < 0
                || q[0] >= ni as i64
                || q[1] >= nj as i64
                || q[2] >= nk as i64
            {
                continue;
            }
            let m = q[0] as usize + ni * (q[1] as usize + nj * q[2] as usize);
            if !in_region[m] && passes(m) {
                in_region[m] = true;
                queue.push_back(m);
            }
        }
    }
    let mut region = VoxelBits::empty(shape);
    let wpr = VoxelBits::words_per_row(shape);
    for (n, _) in in_region.iter().enumerate().filter(|(_, r)| **r) {
        let (i, row) = (n % ni, n / ni);
        region.words[row * wpr + i / 32] |= 1 << (i % 32);
        outcome.voxel_count += 1;
    }
    outcome.warn_unused_seeds(&request.seeds_ijk);
    Ok((region, outcome))
}

fn neighbour_offsets(connectivity: Connectivity) -> Vec<[i64; 3]> {
    let mut out = Vec::new();
    for dk in -1..=1i64 {
        for dj in -1..=1i64 {
            for di in -1..=1i64 {
                let nonzero = (di != 0) as u32 + (dj != 0) as u32 + (dk != 0) as u32;
                let wanted = match connectivity {
                    Connectivity::Face => nonzero == 1,
                    Connectivity::Full => nonzero >= 1,
                };
                if wanted {
                    out.push([di, dj, dk]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbourhoods_have_6_and_26_entries() {
        assert_eq!(neighbour_offsets(Connectivity::Face).len(), 6);
        assert_eq!(neighbour_offsets(Connectivity::Full).len(), 26);
    }
}
