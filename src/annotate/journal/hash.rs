//! Hashes the journal records: of the label map after each edit, and of the
//! image a journal belongs to.
//!
//! `label_sha256` is a SHA-256 over brick hashes, so that it follows the edit
//! (a whole-map SHA-256 of 512×512×1000 labels takes about half a second):
//! the map is cut into 32³-voxel bricks (partial at the far edges, ordered
//! i fastest, then j, then k); each brick's hash is SHA-256 of its labels
//! in row order (i fastest); the map's hash is
//! SHA-256("rayseg-labels-v1" ‖ ni ‖ nj ‖ nk (u64 LE) ‖ brick hashes).
//! An edit rehashes only the bricks it touched. Any tool can recompute it.
//!
//! `image_sha256` identifies the image by content, never by path or header
//! text: SHA-256("rayseg-image-v1" ‖ ni ‖ nj ‖ nk (u64 LE) ‖ the 16 entries
//! of ras_from_voxel rounded to 1e-6 mm (f64 LE, column-major) ‖ the stored
//! type's numpy name ‖ SHA-256 of each 4 MiB chunk of the voxel values in
//! that type, little-endian, i fastest).

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::annotate::undo::{BRICK, VoxelBox};
use crate::volume::{Volume, each_variant};

pub type Hash = [u8; 32];

pub fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tree hash of a label map, updated per edit (see the module notes).
#[derive(Clone, Debug)]
pub struct LabelHasher {
    shape: [usize; 3],
    bricks: Vec<Hash>,
}

fn bricks_per_axis(shape: [usize; 3]) -> [usize; 3] {
    shape.map(|n| n.div_ceil(BRICK))
}

fn brick_hash(labels: &[u8], shape: [usize; 3], b: [usize; 3]) -> Hash {
    let mut h = Sha256::new();
    let lo = b.map(|x| x * BRICK);
    let hi = [0, 1, 2].map(|a| ((b[a] + 1) * BRICK).min(shape[a]));
    for k in lo[2]..hi[2] {
        for j in lo[1]..hi[1] {
            let start = lo[0] + shape[0] * (j + shape[1] * k);
            h.update(&labels[start..start + hi[0] - lo[0]]);
        }
    }
    h.finalize().into()
}

impl LabelHasher {
    /// Hashes a whole map (in parallel over bricks).
    pub fn new(labels: &[u8], shape: [usize; 3]) -> Self {
        let [bi, bj, bk] = bricks_per_axis(shape);
        let bricks = (0..bi * bj * bk)
            .into_par_iter()
            .map(|n| brick_hash(labels, shape, [n % bi, (n / bi) % bj, n / (bi * bj)]))
            .collect();
        LabelHasher { shape, bricks }
    }

    /// Rehashes the bricks meeting `region` of the (edited) map.
    pub fn update(&mut self, labels: &[u8], region: &VoxelBox) {
        let [bi, bj, _] = bricks_per_axis(self.shape);
        let lo = region.min.map(|x| x / BRICK);
        let hi = region.max.map(|x| x / BRICK);
        for k in lo[2]..=hi[2] {
            for j in lo[1]..=hi[1] {
                for i in lo[0]..=hi[0] {
                    self.bricks[i + bi * (j + bj * k)] = brick_hash(labels, self.shape, [i, j, k]);
                }
            }
        }
    }

    pub fn digest(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(b"rayseg-labels-v1");
        for n in self.shape {
            h.update((n as u64).to_le_bytes());
        }
        for b in &self.bricks {
            h.update(b);
        }
        h.finalize().into()
    }
}

/// `label_sha256` of a whole map, from scratch.
pub fn label_map_hash(labels: &[u8], shape: [usize; 3]) -> Hash {
    LabelHasher::new(labels, shape).digest()
}

/// `image_sha256`: the image's identity (see the module notes).
pub fn image_hash(volume: &Volume) -> Hash {
    let mut h = Sha256::new();
    h.update(b"rayseg-image-v1");
    for n in volume.shape {
        h.update((n as u64).to_le_bytes());
    }
    for x in volume.ras_from_voxel.to_cols_array() {
        h.update(((x * 1e6).round() / 1e6).to_le_bytes());
    }
    h.update(volume.data.type_name().as_bytes());
    // Chunks hashed in parallel, then their hashes in order.
    const CHUNK: usize = 4 << 20;
    let bytes: &[u8] = each_variant!(&volume.data, v => bytemuck::cast_slice(v.as_slice()));
    let chunks: Vec<Hash> = bytes
        .par_chunks(CHUNK)
        .map(|c| Sha256::digest(c).into())
        .collect();
    for c in &chunks {
        h.update(c);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updating_the_touched_bricks_equals_hashing_from_scratch() {
        let shape = [70, 40, 35];
        let mut labels = vec![0u8; 70 * 40 * 35];
        let mut hasher = LabelHasher::new(&labels, shape);
        let empty = hasher.digest();
        let at = 65 + 70 * (33 + 40 * 34);
        labels[at] = 3;
        let region = VoxelBox {
            min: [65, 33, 34],
            max: [65, 33, 34],
        };
        hasher.update(&labels, &region);
        assert_eq!(hasher.digest(), label_map_hash(&labels, shape));
        assert_ne!(hasher.digest(), empty);
        labels[at] = 0;
        hasher.update(&labels, &region);
        assert_eq!(hasher.digest(), empty);
    }
}
