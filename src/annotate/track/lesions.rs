//! Lesions of one time point: the connected components of each label, or
//! (`by_label`) each label value as one lesion.

use crate::annotate::effects::components::components;
use crate::annotate::effects::mask::{Mask, Neighbours};

/// One lesion of one time point, on that time point's grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// The label value its voxels hold.
    pub label: u8,
    /// Linear voxel indices (i fastest), ascending.
    pub voxels: Vec<usize>,
    /// Inclusive voxel box.
    pub lo: [usize; 3],
    pub hi: [usize; 3],
}

impl Component {
    /// One bool per voxel of the box `lo..=hi` (i fastest).
    pub fn box_mask(&self, shape: [usize; 3]) -> Vec<bool> {
        let size = [0, 1, 2].map(|a| self.hi[a] + 1 - self.lo[a]);
        let mut bits = vec![false; size.iter().product()];
        for &v in &self.voxels {
            let p = ijk(shape, v);
            let q = [0, 1, 2].map(|a| p[a] - self.lo[a]);
            bits[q[0] + size[0] * (q[1] + size[1] * q[2])] = true;
        }
        bits
    }
}

pub fn ijk(shape: [usize; 3], index: usize) -> [usize; 3] {
    [
        index % shape[0],
        (index / shape[0]) % shape[1],
        index / (shape[0] * shape[1]),
    ]
}

/// Lesions of a label map (`labels.len()` equals the product of `shape`),
/// by label value, then (components) largest first, ties by lowest voxel.
/// `neighbours` is ignored when `by_label`.
pub fn find_lesions(
    shape: [usize; 3],
    labels: &[u8],
    by_label: bool,
    neighbours: Neighbours,
) -> Vec<Component> {
    // Per label: its voxel box, so components run on the box only.
    let mut lo = [[usize::MAX; 3]; 256];
    let mut hi = [[0usize; 3]; 256];
    let mut count = [0usize; 256];
    for (v, &l) in labels.iter().enumerate() {
        if l == 0 {
            continue;
        }
        let p = ijk(shape, v);
        let l = l as usize;
        count[l] += 1;
        for a in 0..3 {
            lo[l][a] = lo[l][a].min(p[a]);
            hi[l][a] = hi[l][a].max(p[a]);
        }
    }
    let mut out = Vec::new();
    for l in (1..256).filter(|&l| count[l] > 0) {
        let (lo, hi) = (lo[l], hi[l]);
        let size = [0, 1, 2].map(|a| hi[a] + 1 - lo[a]);
        let global = |q: [usize; 3]| {
            (q[0] + lo[0]) + shape[0] * ((q[1] + lo[1]) + shape[1] * (q[2] + lo[2]))
        };
        let mut bits = Vec::with_capacity(size.iter().product());
        for k in 0..size[2] {
            for j in 0..size[1] {
                let row = global([0, j, k]);
                bits.extend(labels[row..row + size[0]].iter().map(|&x| x as usize == l));
            }
        }
        let mask = Mask::from_bits(size, bits);
        if by_label {
            let voxels = (0..mask.bits.len())
                .filter(|&v| mask.bits[v])
                .map(|v| global(mask.ijk(v)))
                .collect();
            out.push(Component {
                label: l as u8,
                voxels,
                lo,
                hi,
            });
            continue;
        }
        let c = components(&mask, neighbours);
        let mut parts: Vec<Component> = (0..c.sizes.len())
            .map(|_| Component {
                label: l as u8,
                voxels: Vec::new(),
                lo: [usize::MAX; 3],
                hi: [0; 3],
            })
            .collect();
        // Box order is i fastest, so global indices come out ascending.
        for (v, &id) in c.ids.iter().enumerate() {
            if id == 0 {
                continue;
            }
            let q = mask.ijk(v);
            let part = &mut parts[id as usize - 1];
            part.voxels.push(global(q));
            for a in 0..3 {
                part.lo[a] = part.lo[a].min(q[a] + lo[a]);
                part.hi[a] = part.hi[a].max(q[a] + lo[a]);
            }
        }
        out.extend(parts);
    }
    out
}
