//! Plain CPU reference of the brush, with the GPU pass's exact semantics.

use super::{BrushError, BrushStroke, brushed_label, check_grid, stroke_pieces};
use crate::volume::Volume;

/// Applies `stroke` to `labels` (one u8 per voxel on `image`'s grid) and
/// returns how many voxels changed.
pub fn apply_stroke(
    image: &Volume,
    labels: &mut [u8],
    stroke: &BrushStroke,
) -> Result<u64, BrushError> {
    check_grid(image.shape, labels.len())?;
    let pieces = stroke_pieces(stroke, image.shape, &image.ras_from_voxel)?;
    let [ni, nj, _] = image.shape;
    let mut changed = 0u64;
    for piece in &pieces {
        let b = piece.bounds;
        let dj = b.max[1] - b.min[1] + 1;
        for k in b.min[2]..=b.max[2] {
            for j in b.min[1]..=b.max[1] {
                let [lo, hi] = piece.spans[(j - b.min[1]) + dj * (k - b.min[2])];
                if lo > hi {
                    continue;
                }
                for i in lo as usize..=hi as usize {
                    let index = i + ni * (j + nj * k);
                    let in_range = match stroke.intensity_range {
                        None => true,
                        Some((lo, hi)) => image
                            .data
                            .get_f64(index)
                            .is_some_and(|v| v >= lo && v <= hi),
                    };
                    let current = labels[index];
                    let next = brushed_label(
                        current,
                        in_range,
                        stroke.mode,
                        stroke.policy,
                        &stroke.locked_bits,
                    );
                    if next != current {
                        labels[index] = next;
                        changed += 1;
                    }
                }
            }
        }
    }
    Ok(changed)
}
