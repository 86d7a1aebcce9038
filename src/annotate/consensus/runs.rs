//! Runs: stretches of consecutive voxels (file order, i fastest) where
//! every rater gives the same label. Consensus works per run, so after one
//! pass over the voxels its cost grows with the boundaries, not the volume.

use rayon::prelude::*;

/// Bit r set when rater r gave `label`.
pub(super) fn pattern(tuple: &[u8], label: u8) -> u64 {
    tuple
        .iter()
        .enumerate()
        .fold(0, |bits, (r, &l)| bits | (u64::from(l == label) << r))
}

/// Stretches of consecutive voxels (file order) where every rater gives the
/// same label.
pub(super) struct RaterRuns {
    pub raters: usize,
    pub voxels: usize,
    /// First voxel of each run.
    starts: Vec<usize>,
    /// Each run's labels, `raters` bytes per run.
    tuples: Vec<u8>,
}

impl RaterRuns {
    pub fn build(raters: &[&[u8]]) -> Self {
        const CHUNK_VOXELS: usize = 1 << 20;
        let voxels = raters[0].len();
        let chunks: Vec<(Vec<usize>, Vec<u8>)> = (0..voxels.div_ceil(CHUNK_VOXELS))
            .into_par_iter()
            .map(|c| {
                let lo = c * CHUNK_VOXELS;
                let hi = (lo + CHUNK_VOXELS).min(voxels);
                // changed[v - lo]: voxel v differs from v − 1 for some rater
                // (one pass per rater, which vectorises).
                let mut changed = vec![false; hi - lo];
                for r in raters {
                    let here = &r[lo + 1..hi];
                    let before = &r[lo..hi - 1];
                    for ((c, a), b) in changed[1..].iter_mut().zip(here).zip(before) {
                        *c |= a != b;
                    }
                }
                changed[0] = true;
                let mut starts = Vec::new();
                let mut tuples = Vec::new();
                for (i, _) in changed.iter().enumerate().filter(|(_, c)| **c) {
                    starts.push(lo + i);
                    tuples.extend(raters.iter().map(|r| r[lo + i]));
                }
                (starts, tuples)
            })
            .collect();
        let n = raters.len();
        let mut starts = Vec::with_capacity(chunks.iter().map(|c| c.0.len()).sum());
        let mut tuples = Vec::with_capacity(starts.capacity() * n);
        for (chunk_starts, chunk_tuples) in chunks {
            // A chunk's first run continues the last one when labels agree.
            let skip =
                usize::from(tuples.len() >= n && tuples[tuples.len() - n..] == chunk_tuples[..n]);
            starts.extend_from_slice(&chunk_starts[skip..]);
            tuples.extend_from_slice(&chunk_tuples[skip * n..]);
        }
        RaterRuns {
            raters: n,
            voxels,
            starts,
            tuples,
        }
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn run_len(&self, j: usize) -> usize {
        self.starts.get(j + 1).copied().unwrap_or(self.voxels) - self.starts[j]
    }

    pub fn tuple(&self, j: usize) -> &[u8] {
        &self.tuples[j * self.raters..(j + 1) * self.raters]
    }

    /// Non-zero labels any rater gave, ascending.
    pub fn labels_present(&self) -> Vec<u8> {
        let mut seen = [false; 256];
        for &l in &self.tuples {
            seen[l as usize] = true;
        }
        (1..=255u8).filter(|&l| seen[l as usize]).collect()
    }

    /// One label per run to one per voxel.
    pub fn expand(&self, per_run: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; self.voxels];
        let mut rest = out.as_mut_slice();
        for (j, &label) in per_run.iter().enumerate() {
            let (run, tail) = rest.split_at_mut(self.run_len(j));
            if label != 0 {
                run.fill(label);
            }
            rest = tail;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_across_chunks_and_expand_back() {
        let n = (1 << 20) * 2 + 17;
        let a: Vec<u8> = (0..n)
            .map(|v| u8::from(v > 1000 && v < (1 << 20) + 5))
            .collect();
        let b: Vec<u8> = (0..n)
            .map(|v| if v % 700_000 < 3 { 2 } else { 0 })
            .collect();
        let runs = RaterRuns::build(&[&a, &b]);
        let per_run: Vec<u8> = (0..runs.len()).map(|j| runs.tuple(j)[0]).collect();
        assert_eq!(runs.expand(&per_run), a);
        // Runs are maximal: neighbours differ.
        for j in 1..runs.len() {
            assert_ne!(runs.tuple(j), runs.tuple(j - 1));
        }
        assert_eq!(runs.labels_present(), vec![1, 2]);
    }
}
