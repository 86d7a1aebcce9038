//! A change to the label map confined to a box: what undo, the journal,
//! statistics and the GPU upload consume. Its cost follows the box, never the grid.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::annotate::undo::VoxelBox;

/// Voxels a change gave to and took from one label value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelDelta {
    pub added: u64,
    pub removed: u64,
}

/// The labels of `region` before and after an edit (box-local, i fastest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub region: VoxelBox,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
}

/// Calls `f(box_offset, grid_range)` for each row of `bx` (i fastest).
pub(crate) fn for_box_rows(
    shape: [usize; 3],
    bx: &VoxelBox,
    mut f: impl FnMut(usize, std::ops::Range<usize>),
) {
    let row = bx.max[0] + 1 - bx.min[0];
    let mut at = 0;
    for k in bx.min[2]..=bx.max[2] {
        for j in bx.min[1]..=bx.max[1] {
            let start = bx.min[0] + shape[0] * (j + shape[1] * k);
            f(at, start..start + row);
            at += row;
        }
    }
}

/// Copies the labels of `bx` out of a whole map.
pub fn gather(labels: &[u8], shape: [usize; 3], bx: &VoxelBox) -> Vec<u8> {
    let mut out = Vec::with_capacity(bx.size().iter().product());
    for_box_rows(shape, bx, |_, r| out.extend_from_slice(&labels[r]));
    out
}

/// Writes box-local `values` into `bx` of a whole map.
pub fn scatter(labels: &mut [u8], shape: [usize; 3], bx: &VoxelBox, values: &[u8]) {
    for_box_rows(shape, bx, |at, r| {
        let n = r.len();
        labels[r].copy_from_slice(&values[at..at + n]);
    });
}

/// Copies `bx` from one whole map into another.
pub fn copy_box(from: &[u8], to: &mut [u8], shape: [usize; 3], bx: &VoxelBox) {
    for_box_rows(shape, bx, |_, r| to[r.clone()].copy_from_slice(&from[r]));
}

/// True when `bx` is non-empty and inside `shape`.
pub fn box_fits(bx: &VoxelBox, shape: [usize; 3]) -> bool {
    (0..3).all(|a| bx.min[a] <= bx.max[a] && bx.max[a] < shape[a])
}

/// The part of `bx` inside `shape`, if any.
pub fn clip_box(min: [i64; 3], max: [i64; 3], shape: [usize; 3]) -> Option<VoxelBox> {
    let lo = [0, 1, 2].map(|a| min[a].max(0));
    let hi = [0, 1, 2].map(|a| max[a].min(shape[a] as i64 - 1));
    (0..3).all(|a| lo[a] <= hi[a]).then(|| VoxelBox {
        min: lo.map(|x| x as usize),
        max: hi.map(|x| x as usize),
    })
}

impl Change {
    /// Number of voxels whose label differs.
    pub fn voxels_changed(&self) -> u64 {
        self.before
            .iter()
            .zip(&self.after)
            .filter(|(a, b)| a != b)
            .count() as u64
    }

    /// Voxels gained and lost per label value (0 included when it changed).
    pub fn per_label(&self) -> BTreeMap<u8, LabelDelta> {
        let mut counts = [[0u64; 2]; 256];
        for (&a, &b) in self.before.iter().zip(&self.after) {
            if a != b {
                counts[a as usize][1] += 1;
                counts[b as usize][0] += 1;
            }
        }
        (0..=255u8)
            .filter(|&l| counts[l as usize] != [0, 0])
            .map(|l| {
                let [added, removed] = counts[l as usize];
                (l, LabelDelta { added, removed })
            })
            .collect()
    }

    /// `before ^ after`, box-local: the delta that undoes and redoes the change.
    pub fn xor(&self) -> Vec<u8> {
        self.before
            .iter()
            .zip(&self.after)
            .map(|(a, b)| a ^ b)
            .collect()
    }

    /// The same change on the smallest box holding every changed voxel; None
    /// when nothing changed.
    pub fn tightened(self) -> Option<Change> {
        let size = self.region.size();
        let mut lo = [usize::MAX; 3];
        let mut hi = [0usize; 3];
        for (n, (a, b)) in self.before.iter().zip(&self.after).enumerate() {
            if a != b {
                let p = [
                    n % size[0],
                    (n / size[0]) % size[1],
                    n / (size[0] * size[1]),
                ];
                for ax in 0..3 {
                    lo[ax] = lo[ax].min(p[ax]);
                    hi[ax] = hi[ax].max(p[ax]);
                }
            }
        }
        if lo[0] == usize::MAX {
            return None;
        }
        if lo == [0; 3] && hi == size.map(|n| n - 1) {
            return Some(self);
        }
        let local = VoxelBox { min: lo, max: hi };
        let region = VoxelBox {
            min: [0, 1, 2].map(|a| self.region.min[a] + lo[a]),
            max: [0, 1, 2].map(|a| self.region.min[a] + hi[a]),
        };
        Some(Change {
            region,
            before: gather(&self.before, size, &local),
            after: gather(&self.after, size, &local),
        })
    }

    /// Writes the change's "after" into a whole map.
    pub fn apply(&self, labels: &mut [u8], shape: [usize; 3]) {
        scatter(labels, shape, &self.region, &self.after);
    }

    /// Writes the change's "before" into a whole map.
    pub fn revert(&self, labels: &mut [u8], shape: [usize; 3]) {
        scatter(labels, shape, &self.region, &self.before);
    }
}

/// The smallest box holding every voxel where two whole maps differ (one pass).
pub fn diff_box(a: &[u8], b: &[u8], shape: [usize; 3]) -> Option<VoxelBox> {
    let ni = shape[0].max(1);
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for (row, (ra, rb)) in a.chunks(ni).zip(b.chunks(ni)).enumerate() {
        if ra == rb {
            continue;
        }
        let first = ra.iter().zip(rb).position(|(x, y)| x != y).unwrap_or(0);
        let last = ra.iter().zip(rb).rposition(|(x, y)| x != y).unwrap_or(0);
        let (j, k) = (row % shape[1], row / shape[1]);
        lo = [lo[0].min(first), lo[1].min(j), lo[2].min(k)];
        hi = [hi[0].max(last), hi[1].max(j), hi[2].max(k)];
    }
    (lo[0] != usize::MAX).then_some(VoxelBox { min: lo, max: hi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tightened_keeps_only_the_changed_box_and_counts_per_label() {
        let shape = [4, 3, 2];
        let before = vec![0u8; 24];
        let mut after = before.clone();
        after[1 + 4 * (2 + 3)] = 2; // (1, 2, 1)
        after[2 + 4 * 2] = 2; // (2, 2, 0)
        let whole = VoxelBox::whole(shape);
        let c = Change {
            region: whole,
            before: before.clone(),
            after: after.clone(),
        }
        .tightened()
        .unwrap();
        assert_eq!(c.region.min, [1, 2, 0]);
        assert_eq!(c.region.max, [2, 2, 1]);
        assert_eq!(c.voxels_changed(), 2);
        assert_eq!(
            c.per_label().get(&2),
            Some(&LabelDelta {
                added: 2,
                removed: 0
            })
        );
        let mut map = before.clone();
        c.apply(&mut map, shape);
        assert_eq!(map, after);
        c.revert(&mut map, shape);
        assert_eq!(map, before);
        assert_eq!(diff_box(&before, &after, shape), Some(c.region));
        assert_eq!(diff_box(&before, &before, shape), None);
    }
}
