//! Putting a label map's voxels on the image grid: the same grid, or a box of
//! it with the same voxel axes and a whole-voxel offset (a 3D Slicer
//! segmentation cropped to its segments' extent). Any other grid is
//! resampled ([`super::resample`]).

use glam::{DMat3, DMat4, DVec3};
use thiserror::Error;

use crate::volume::{Volume, VoxelData, each_variant};

/// Largest label value (0 is background).
pub const MAX_LABEL: u8 = 255;

/// Float32 header fields round to about 1e-5 mm; 1e-3 mm is far below any voxel.
const TOLERANCE_MM: f64 = 1e-3;

#[derive(Debug, Error, PartialEq)]
pub enum GridError {
    #[error("label map grid {mask:?} differs from the image grid {image:?}")]
    Shape { mask: [usize; 3], image: [usize; 3] },
    #[error("label map voxel-to-RAS matrix differs from the image's by up to {worst:.4} mm")]
    Matrix { worst: f64 },
    #[error(
        "label map voxel axes (spacing and direction) differ from the image's by up to \
         {worst:.4} mm: it is not on the image grid (resample it first)"
    )]
    Axes { worst: f64 },
    #[error(
        "label map grid is shifted from the image grid by ({:.3}, {:.3}, {:.3}) voxels, \
         not a whole number",
        offset[0], offset[1], offset[2]
    )]
    Offset { offset: [f64; 3] },
    #[error("label map box {shape:?} at voxel {offset:?} lies outside the image grid {image:?}")]
    Outside {
        shape: [usize; 3],
        offset: [i64; 3],
        image: [usize; 3],
    },
    #[error("label map holds {value}, not a label in 0..=255")]
    Value { value: f64 },
    #[error(
        "label map grid {mask:?} does not overlap the image grid {image:?}: no image voxel \
         centre lies inside it (is it a label map of another image?)"
    )]
    NoOverlap { mask: [usize; 3], image: [usize; 3] },
    #[error("{got} labels for a label map grid of {want} voxels")]
    Length { got: usize, want: usize },
    #[error("{which} voxel-to-RAS matrix is singular (determinant {determinant:e})")]
    Singular {
        which: &'static str,
        determinant: f64,
    },
}

/// Where a label grid lies on the image grid: its voxel (i, j, k) is image
/// voxel (i, j, k) + `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub shape: [usize; 3],
    pub offset: [i64; 3],
    image: [usize; 3],
}

fn worst(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

impl Placement {
    /// The label grid must be the image grid itself.
    pub fn same_grid(image: &Volume, shape: [usize; 3], ras: &DMat4) -> Result<Self, GridError> {
        if shape != image.shape {
            return Err(GridError::Shape {
                mask: shape,
                image: image.shape,
            });
        }
        let w = worst(&image.ras_from_voxel.to_cols_array(), &ras.to_cols_array());
        if w > TOLERANCE_MM {
            return Err(GridError::Matrix { worst: w });
        }
        Ok(Placement {
            shape,
            offset: [0; 3],
            image: image.shape,
        })
    }

    /// The label grid may be any box of the image's voxel lattice (same
    /// spacing and directions, a whole-voxel offset) that overlaps the image.
    pub fn sub_box(image: &Volume, shape: [usize; 3], ras: &DMat4) -> Result<Self, GridError> {
        let axes = |m: &DMat4| DMat3::from_mat4(*m).to_cols_array();
        let w = worst(&axes(&image.ras_from_voxel), &axes(ras));
        if w > TOLERANCE_MM {
            return Err(GridError::Axes { worst: w });
        }
        let origin = DVec3::new(ras.w_axis.x, ras.w_axis.y, ras.w_axis.z);
        let at = image.index_from_ras(origin);
        let offset = at.round();
        let predicted = image.ras_from_voxel * DMat4::from_translation(offset);
        let w = worst(&predicted.to_cols_array(), &ras.to_cols_array());
        if w > TOLERANCE_MM {
            return Err(GridError::Offset {
                offset: at.to_array(),
            });
        }
        let offset = offset.to_array().map(|x| x as i64);
        let overlaps =
            (0..3).all(|a| offset[a] < image.shape[a] as i64 && offset[a] + shape[a] as i64 > 0);
        if !overlaps {
            return Err(GridError::Outside {
                shape,
                offset,
                image: image.shape,
            });
        }
        Ok(Placement {
            shape,
            offset,
            image: image.shape,
        })
    }

    /// True when the label grid is the image grid.
    pub fn is_whole_image(&self) -> bool {
        self.offset == [0; 3] && self.shape == self.image
    }

    /// Calls `f(label index, image index)` for every label voxel, in storage
    /// order, with `None` for voxels outside the image.
    pub fn for_each(&self, mut f: impl FnMut([usize; 3], usize, Option<usize>)) {
        let [ni, nj, nk] = self.shape;
        let [ii, ij, ik] = self.image.map(|n| n as i64);
        let mut n = 0;
        for k in 0..nk {
            let tk = k as i64 + self.offset[2];
            for j in 0..nj {
                let tj = j as i64 + self.offset[1];
                let row_inside = (0..ik).contains(&tk) && (0..ij).contains(&tj);
                for i in 0..ni {
                    let ti = i as i64 + self.offset[0];
                    let target = (row_inside && (0..ii).contains(&ti))
                        .then(|| (ti + ii * (tj + ij * tk)) as usize);
                    f([i, j, k], n, target);
                    n += 1;
                }
            }
        }
    }
}

/// One label per voxel from a volume's values, which must be whole numbers
/// in 0..=255.
pub fn to_labels(data: &VoxelData) -> Result<Vec<u8>, GridError> {
    if let VoxelData::U8(v) = data {
        return Ok(v.clone());
    }
    let mut bad = None;
    let labels = each_variant!(data, v => v
        .iter()
        .map(|&x| {
            #[allow(clippy::unnecessary_cast)]
            let x = x as f64;
            if !(0.0..=MAX_LABEL as f64).contains(&x) || x.fract() != 0.0 {
                bad.get_or_insert(x);
            }
            x as u8
        })
        .collect::<Vec<u8>>());
    match bad {
        Some(value) => Err(GridError::Value { value }),
        None => Ok(labels),
    }
}

/// Checks that `mask` lies on `image`'s grid and turns it into one u8 label
/// per voxel.
pub fn labels_on_grid(image: &Volume, mask: &Volume) -> Result<Vec<u8>, GridError> {
    Placement::same_grid(image, mask.shape, &mask.ras_from_voxel)?;
    to_labels(&mask.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Modality;

    fn image() -> Volume {
        let m = DMat4::from_cols_array(&[
            0.0, 2.0, 0.0, 0.0, //
            -1.5, 0.0, 0.0, 0.0, //
            0.0, 0.0, 3.0, 0.0, //
            10.0, -20.0, 5.0, 1.0,
        ]);
        Volume::new([6, 5, 4], VoxelData::U8(vec![0; 120]), m, Modality::Ct).unwrap()
    }

    #[test]
    fn sub_box_offsets_are_found_and_checked() {
        let v = image();
        let box_ras = v.ras_from_voxel * DMat4::from_translation(DVec3::new(2.0, 1.0, -1.0));
        let p = Placement::sub_box(&v, [3, 2, 3], &box_ras).unwrap();
        assert_eq!(p.offset, [2, 1, -1]);
        assert!(!p.is_whole_image());
        let mut inside = 0;
        p.for_each(|[i, j, k], _, t| {
            if let Some(t) = t {
                inside += 1;
                assert_eq!(t, (i + 2) + 6 * ((j + 1) + 5 * (k - 1)));
            } else {
                assert_eq!(k, 0);
            }
        });
        assert_eq!(inside, 12);
        let half = v.ras_from_voxel * DMat4::from_translation(DVec3::new(0.5, 0.0, 0.0));
        assert!(matches!(
            Placement::sub_box(&v, [3, 2, 3], &half),
            Err(GridError::Offset { .. })
        ));
        let scaled = v.ras_from_voxel * DMat4::from_scale(DVec3::new(1.0, 1.0, 2.0));
        assert!(matches!(
            Placement::sub_box(&v, [3, 2, 3], &scaled),
            Err(GridError::Axes { .. })
        ));
        let far = v.ras_from_voxel * DMat4::from_translation(DVec3::new(6.0, 0.0, 0.0));
        assert!(matches!(
            Placement::sub_box(&v, [3, 2, 3], &far),
            Err(GridError::Outside { .. })
        ));
        assert!(matches!(
            Placement::same_grid(&v, [3, 2, 3], &box_ras),
            Err(GridError::Shape { .. })
        ));
    }

    #[test]
    fn values_must_be_labels() {
        assert_eq!(
            to_labels(&VoxelData::I16(vec![0, 3, 255])).unwrap(),
            [0, 3, 255]
        );
        assert_eq!(
            to_labels(&VoxelData::F32(vec![0.0, 1.5])),
            Err(GridError::Value { value: 1.5 })
        );
        assert_eq!(
            to_labels(&VoxelData::I16(vec![-1])),
            Err(GridError::Value { value: -1.0 })
        );
    }
}
