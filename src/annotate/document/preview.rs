//! A pending region (a grow shown before Accept): only its box is held, so its
//! memory follows the region, not the grid.

use crate::annotate::grow::VoxelBits;
use crate::annotate::undo::VoxelBox;

/// The voxels a pending edit would give `label`, inside `region`.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionPreview {
    pub label: u8,
    /// Bounding box of the region; None when it is empty.
    pub region: Option<VoxelBox>,
    /// One byte per voxel of `region` (i fastest): 1 inside, 0 outside.
    pub mask: Vec<u8>,
    pub voxel_count: u64,
    /// The tool and its parameters, for the journal entry made on Accept.
    pub tool: String,
    pub params: serde_json::Value,
    /// A multi-label preview (grow from seeds): the box's labels after the
    /// edit, which Accept writes (locked voxels excepted); `mask` then marks
    /// the voxels it changes.
    pub after: Option<Vec<u8>>,
}

impl RegionPreview {
    /// Crops a whole-grid bitmask (a grow's result) to its bounding box.
    pub fn from_bits(
        bits: &VoxelBits,
        label: u8,
        tool: &str,
        params: serde_json::Value,
    ) -> RegionPreview {
        let region = bits_box(bits);
        let mask = region.map_or_else(Vec::new, |bx| crop_bits(bits, &bx));
        RegionPreview {
            label,
            region,
            voxel_count: mask.iter().map(|&m| u64::from(m)).sum(),
            mask,
            tool: tool.to_owned(),
            params,
            after: None,
        }
    }

    /// A multi-label preview: `after` holds the labels of `region` after the
    /// edit, `before` those now; `label` is the one the tool is about.
    pub fn from_after(
        region: VoxelBox,
        before: &[u8],
        after: Vec<u8>,
        label: u8,
        tool: &str,
        params: serde_json::Value,
    ) -> RegionPreview {
        let mask: Vec<u8> = before
            .iter()
            .zip(&after)
            .map(|(a, b)| u8::from(a != b))
            .collect();
        RegionPreview {
            label,
            region: Some(region),
            voxel_count: mask.iter().map(|&m| u64::from(m)).sum(),
            mask,
            tool: tool.to_owned(),
            params,
            after: Some(after),
        }
    }

    /// The label the preview shows at voxel (i, j, k) of the grid, if it
    /// changes it.
    pub fn shown_at(&self, ijk: [usize; 3]) -> Option<u8> {
        let bx = self.region?;
        if (0..3).any(|a| ijk[a] < bx.min[a] || ijk[a] > bx.max[a]) {
            return None;
        }
        let s = bx.size();
        let l = [0, 1, 2].map(|a| ijk[a] - bx.min[a]);
        let at = l[0] + s[0] * (l[1] + s[1] * l[2]);
        (self.mask[at] != 0).then(|| self.after.as_ref().map_or(self.label, |a| a[at]))
    }

    /// Whether voxel (i, j, k) of the grid is in the region.
    pub fn contains(&self, ijk: [usize; 3]) -> bool {
        let Some(bx) = self.region else {
            return false;
        };
        if (0..3).any(|a| ijk[a] < bx.min[a] || ijk[a] > bx.max[a]) {
            return false;
        }
        let s = bx.size();
        let l = [0, 1, 2].map(|a| ijk[a] - bx.min[a]);
        self.mask[l[0] + s[0] * (l[1] + s[1] * l[2])] != 0
    }

    /// Bytes held (the box mask, and the labels after for a multi-label preview).
    pub fn bytes(&self) -> usize {
        self.mask.capacity() + self.after.as_ref().map_or(0, Vec::capacity)
    }
}

/// Bounding box of the set bits (rows scanned word by word).
pub fn bits_box(bits: &VoxelBits) -> Option<VoxelBox> {
    let [_, nj, _] = bits.shape;
    let wpr = VoxelBits::words_per_row(bits.shape);
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    if wpr == 0 {
        return None;
    }
    for (row, words) in bits.words.chunks(wpr).enumerate() {
        let Some(first) = words.iter().position(|&w| w != 0) else {
            continue;
        };
        let last = words.iter().rposition(|&w| w != 0).unwrap_or(first);
        let i_lo = first * 32 + words[first].trailing_zeros() as usize;
        let i_hi = last * 32 + 31 - words[last].leading_zeros() as usize;
        let (j, k) = (row % nj, row / nj);
        lo = [lo[0].min(i_lo), lo[1].min(j), lo[2].min(k)];
        hi = [hi[0].max(i_hi), hi[1].max(j), hi[2].max(k)];
    }
    (lo[0] != usize::MAX).then_some(VoxelBox { min: lo, max: hi })
}

/// The bits of `bx` as one byte per voxel.
fn crop_bits(bits: &VoxelBits, bx: &VoxelBox) -> Vec<u8> {
    let mut out = Vec::with_capacity(bx.size().iter().product());
    for k in bx.min[2]..=bx.max[2] {
        for j in bx.min[1]..=bx.max[1] {
            for i in bx.min[0]..=bx.max[0] {
                out.push(u8::from(bits.get([i, j, k])));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_holds_only_the_box_of_its_region() {
        let shape = [100, 50, 40];
        let mut bits = VoxelBits::empty(shape);
        let wpr = VoxelBits::words_per_row(shape);
        for (i, j, k) in [(33, 4, 7), (70, 9, 8)] {
            bits.words[(j + 50 * k) * wpr + i / 32] |= 1 << (i % 32);
        }
        let p = RegionPreview::from_bits(&bits, 2, "grow", serde_json::Value::Null);
        assert_eq!(
            p.region,
            Some(VoxelBox {
                min: [33, 4, 7],
                max: [70, 9, 8]
            })
        );
        assert_eq!(p.mask.len(), 38 * 6 * 2);
        assert_eq!(p.voxel_count, 2);
        assert!(p.contains([70, 9, 8]) && p.contains([33, 4, 7]));
        assert!(!p.contains([34, 4, 7]));
        let none =
            RegionPreview::from_bits(&VoxelBits::empty(shape), 2, "grow", Default::default());
        assert_eq!((none.region, none.voxel_count), (None, 0));
    }
}
