//! One pass over two label maps: voxel counts, overlaps and the bounding box
//! of every label in either map.

use rayon::prelude::*;

/// Per label value (index 0 unused): counts and the union bounding box.
#[derive(Clone, Debug)]
pub struct Census {
    pub voxels_a: [u64; 256],
    pub voxels_b: [u64; 256],
    /// Voxels labelled with the value in both maps.
    pub voxels_both: [u64; 256],
    /// Inclusive voxel box of the value in A ∪ B; `lo > hi` when absent.
    pub lo: [[usize; 3]; 256],
    pub hi: [[usize; 3]; 256],
}

impl Default for Census {
    fn default() -> Census {
        Census {
            voxels_a: [0; 256],
            voxels_b: [0; 256],
            voxels_both: [0; 256],
            lo: [[usize::MAX; 3]; 256],
            hi: [[0; 3]; 256],
        }
    }
}

impl Census {
    /// Labels 1–255 present in A or B, ascending.
    pub fn present(&self) -> impl Iterator<Item = u8> + '_ {
        (1..=255u8).filter(|&l| self.voxels_a[usize::from(l)] + self.voxels_b[usize::from(l)] > 0)
    }

    fn extend(&mut self, label: u8, ijk: [usize; 3]) {
        let l = usize::from(label);
        let (lo, hi) = (&mut self.lo[l], &mut self.hi[l]);
        for ((lo, hi), v) in lo.iter_mut().zip(hi.iter_mut()).zip(ijk) {
            *lo = (*lo).min(v);
            *hi = (*hi).max(v);
        }
    }

    fn merge(mut self, other: Census) -> Census {
        for l in 1..256 {
            self.voxels_a[l] += other.voxels_a[l];
            self.voxels_b[l] += other.voxels_b[l];
            self.voxels_both[l] += other.voxels_both[l];
            for x in 0..3 {
                self.lo[l][x] = self.lo[l][x].min(other.lo[l][x]);
                self.hi[l][x] = self.hi[l][x].max(other.hi[l][x]);
            }
        }
        self
    }
}

/// Counts and boxes of `a` and `b` (one label per voxel of `shape`, i
/// fastest; the caller checks the lengths), in parallel over k-planes.
pub fn census(a: &[u8], b: &[u8], shape: [usize; 3]) -> Census {
    let plane = shape[0] * shape[1];
    if plane == 0 {
        return Census::default();
    }
    a.par_chunks(plane)
        .zip(b.par_chunks(plane))
        .enumerate()
        .fold(Census::default, |mut c, (k, (pa, pb))| {
            for (j, (ra, rb)) in pa.chunks(shape[0]).zip(pb.chunks(shape[0])).enumerate() {
                for (i, (&la, &lb)) in ra.iter().zip(rb).enumerate() {
                    if la == 0 && lb == 0 {
                        continue;
                    }
                    if la != 0 {
                        c.voxels_a[usize::from(la)] += 1;
                        c.extend(la, [i, j, k]);
                    }
                    if lb != 0 {
                        c.voxels_b[usize::from(lb)] += 1;
                        if lb == la {
                            c.voxels_both[usize::from(lb)] += 1;
                        } else {
                            c.extend(lb, [i, j, k]);
                        }
                    }
                }
            }
            c
        })
        .reduce(Census::default, Census::merge)
}

/// Dice and Jaccard from voxel counts; `None` when both are empty.
pub fn dice_jaccard(voxels_a: u64, voxels_b: u64, voxels_both: u64) -> Option<(f64, f64)> {
    let sum = voxels_a + voxels_b;
    if sum == 0 {
        return None;
    }
    let union = sum - voxels_both;
    Some((
        2.0 * voxels_both as f64 / sum as f64,
        voxels_both as f64 / union as f64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_overlaps_and_union_boxes() {
        let shape = [4, 3, 2];
        let mut a = vec![0u8; 24];
        let mut b = vec![0u8; 24];
        let at = |i: usize, j: usize, k: usize| i + 4 * (j + 3 * k);
        a[at(1, 0, 0)] = 2;
        a[at(2, 1, 0)] = 2;
        b[at(2, 1, 0)] = 2;
        b[at(3, 2, 1)] = 2;
        a[at(0, 2, 1)] = 9;
        b[at(0, 2, 1)] = 5;
        let c = census(&a, &b, shape);
        assert_eq!((c.voxels_a[2], c.voxels_b[2], c.voxels_both[2]), (2, 2, 1));
        assert_eq!((c.lo[2], c.hi[2]), ([1, 0, 0], [3, 2, 1]));
        assert_eq!((c.voxels_a[9], c.voxels_b[9], c.voxels_both[9]), (1, 0, 0));
        assert_eq!((c.lo[5], c.hi[5]), ([0, 2, 1], [0, 2, 1]));
        assert_eq!(c.present().collect::<Vec<_>>(), vec![2, 5, 9]);
    }

    #[test]
    fn dice_and_jaccard_from_counts() {
        assert_eq!(dice_jaccard(3, 5, 2), Some((0.5, 2.0 / 6.0)));
        assert_eq!(dice_jaccard(4, 0, 0), Some((0.0, 0.0)));
        assert_eq!(dice_jaccard(0, 0, 0), None);
    }
}
