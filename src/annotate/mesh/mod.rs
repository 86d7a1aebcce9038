//! Surface meshes of labels: watertight, smoothed, in world millimetres.
//!
//! The surface is the label's voxel boundary (see [`extract`]), made a closed
//! 2-manifold by a local rule, then smoothed with Taubin's λ|μ filter and
//! moved along its normals until it encloses the label's voxel volume again
//! (see [`smooth`]). Everything runs on the label's bounding box only, so a
//! small lesion in a large CT meshes in milliseconds.

mod check;
mod extract;
mod smooth;
mod write;

use glam::{DMat4, DVec3};
use thiserror::Error;

pub use check::Topology;
pub use write::{MeshFormat, MeshSpace, MeshWriteError, encode_mesh, write_mesh};

/// A triangle mesh in RAS millimetres (counter-clockwise triangles seen from
/// outside), one normal per vertex.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SurfaceMesh {
    pub positions_ras_mm: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    pub triangles: Vec<[u32; 3]>,
}

/// Taubin passes by default: enough to take the voxel staircase off spheres
/// of radius 5–20 voxels, few enough to keep corners of small structures.
pub const DEFAULT_SMOOTHING_ITERATIONS: usize = 15;

/// How a label's surface is built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeshOptions {
    /// Smoothing passes (0: the raw surface).
    pub smoothing_iterations: usize,
    /// After smoothing, move each connected surface along its normals until
    /// it encloses the label's voxel volume again (on by default; smoothing
    /// alone shrinks structures one or two voxels thick).
    pub preserve_volume: bool,
}

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions {
            smoothing_iterations: DEFAULT_SMOOTHING_ITERATIONS,
            preserve_volume: true,
        }
    }
}

/// Why a label map cannot be meshed.
#[derive(Debug, Error, PartialEq)]
pub enum MeshError {
    #[error("the label map holds {len} values but its grid {shape:?} needs {needed}")]
    GridMismatch {
        len: usize,
        shape: [usize; 3],
        needed: usize,
    },
    #[error("the voxel-to-RAS matrix has non-finite entries")]
    NonFiniteMatrix,
    #[error("the surface would have {vertices} vertices, more than 32-bit indices hold")]
    TooLarge { vertices: usize },
}

/// The surface of `label` in a label map (`labels[i + ni·(j + nj·k)]`) on the
/// grid `shape` with `ras_from_voxel`, in RAS millimetres. Empty when the
/// label has no voxels, or when the input is inconsistent (see
/// [`try_label_surface`] for why).
pub fn label_surface(
    labels: &[u8],
    shape: [usize; 3],
    ras_from_voxel: glam::DMat4,
    label: u8,
    options: &MeshOptions,
) -> SurfaceMesh {
    try_label_surface(labels, shape, ras_from_voxel, label, options).unwrap_or_default()
}

/// [`label_surface`], saying why when the input is inconsistent.
pub fn try_label_surface(
    labels: &[u8],
    shape: [usize; 3],
    ras_from_voxel: DMat4,
    label: u8,
    options: &MeshOptions,
) -> Result<SurfaceMesh, MeshError> {
    let needed = shape
        .iter()
        .try_fold(1usize, |n, &s| n.checked_mul(s))
        .unwrap_or(usize::MAX);
    if labels.len() != needed {
        return Err(MeshError::GridMismatch {
            len: labels.len(),
            shape,
            needed,
        });
    }
    if !ras_from_voxel.is_finite() {
        return Err(MeshError::NonFiniteMatrix);
    }
    let Some(crop) = extract::crop(labels, shape, label) else {
        return Ok(SurfaceMesh::default());
    };
    let boundary = extract::boundary_mesh(&crop);
    drop(crop);
    if boundary.positions_voxel.len() > u32::MAX as usize {
        return Err(MeshError::TooLarge {
            vertices: boundary.positions_voxel.len(),
        });
    }

    let mut positions: Vec<DVec3> = boundary
        .positions_voxel
        .iter()
        .map(|&p| ras_from_voxel.transform_point3(p))
        .collect();
    // A mirroring matrix turns index-space counter-clockwise into clockwise.
    let flip = glam::DMat3::from_mat4(ras_from_voxel).determinant() < 0.0;
    // Triangulating before smoothing only to measure the raw volumes: the raw
    // quads are planar, so any diagonal gives the same volume.
    let raw_triangles = smooth::triangulate(&boundary, &positions, flip);
    let (component, count) = smooth::components(positions.len(), &raw_triangles);
    let target_volumes = smooth::component_volumes(&positions, &raw_triangles, &component, count);
    drop(raw_triangles);

    let adjacency = smooth::Adjacency::of(&boundary);
    smooth::taubin(&mut positions, &adjacency, options.smoothing_iterations);
    drop(adjacency);
    let triangles = smooth::triangulate(&boundary, &positions, flip);
    if options.preserve_volume && options.smoothing_iterations > 0 {
        smooth::restore_volumes(&mut positions, &triangles, &component, &target_volumes);
    }
    let normals = smooth::vertex_normals(&positions, &triangles);
    Ok(SurfaceMesh {
        positions_ras_mm: positions.iter().map(|p| p.as_vec3().to_array()).collect(),
        normals: normals.iter().map(|n| n.as_vec3().to_array()).collect(),
        triangles,
    })
}

/// How many voxels hold `label`.
pub fn label_voxel_count(labels: &[u8], label: u8) -> usize {
    use rayon::prelude::*;
    labels
        .par_chunks(1 << 20)
        .map(|c| c.iter().filter(|&&v| v == label).count())
        .sum()
}

/// Volume of one voxel of the grid, in mm³.
pub fn voxel_volume_mm3(ras_from_voxel: DMat4) -> f64 {
    glam::DMat3::from_mat4(ras_from_voxel).determinant().abs()
}

impl SurfaceMesh {
    /// Enclosed volume in mm³ (divergence theorem; positive when the
    /// triangles face outwards).
    pub fn enclosed_volume_mm3(&self) -> f64 {
        check::enclosed_volume_mm3(self)
    }

    /// Axis-aligned bounds in RAS mm, `None` when empty.
    pub fn bounds_ras_mm(&self) -> Option<([f64; 3], [f64; 3])> {
        check::bounds(self)
    }

    /// Edge use of the mesh: what makes it watertight or not.
    pub fn topology(&self) -> Topology {
        check::topology(self)
    }

    /// Every edge shared by exactly two triangles, in opposite directions.
    pub fn is_watertight(&self) -> bool {
        self.topology().is_watertight()
    }

    /// V − E + F (2 for each closed surface of a ball).
    pub fn euler_characteristic(&self) -> i64 {
        check::euler_characteristic(self)
    }
}
