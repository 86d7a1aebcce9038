//! Measurements of a surface mesh: enclosed volume, bounds, edge topology.

use std::collections::HashMap;

use super::SurfaceMesh;

/// How the mesh's undirected edges are used by its triangles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    pub edges: usize,
    /// Edges of one triangle only (holes).
    pub boundary_edges: usize,
    /// Edges of three or more triangles.
    pub non_manifold_edges: usize,
    /// Edges of two triangles that run them the same way (flipped winding).
    pub misoriented_edges: usize,
}

impl Topology {
    pub fn is_watertight(&self) -> bool {
        self.boundary_edges == 0 && self.non_manifold_edges == 0 && self.misoriented_edges == 0
    }
}

pub(crate) fn enclosed_volume_mm3(mesh: &SurfaceMesh) -> f64 {
    let p = |v: u32| glam::DVec3::from(mesh.positions_ras_mm[v as usize].map(f64::from));
    mesh.triangles
        .iter()
        .map(|t| p(t[0]).dot(p(t[1]).cross(p(t[2]))) / 6.0)
        .sum()
}

pub(crate) fn bounds(mesh: &SurfaceMesh) -> Option<([f64; 3], [f64; 3])> {
    let first = mesh.positions_ras_mm.first()?;
    let mut lo = first.map(f64::from);
    let mut hi = lo;
    for p in &mesh.positions_ras_mm {
        for a in 0..3 {
            lo[a] = lo[a].min(f64::from(p[a]));
            hi[a] = hi[a].max(f64::from(p[a]));
        }
    }
    Some((lo, hi))
}

pub(crate) fn topology(mesh: &SurfaceMesh) -> Topology {
    // Per undirected edge: (uses from low to high, uses from high to low).
    let mut uses: HashMap<(u32, u32), (u32, u32)> =
        HashMap::with_capacity(mesh.triangles.len() * 3 / 2);
    for t in &mesh.triangles {
        for e in 0..3 {
            let (a, b) = (t[e], t[(e + 1) % 3]);
            let entry = uses.entry((a.min(b), a.max(b))).or_default();
            if a < b {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    let mut topology = Topology {
        edges: uses.len(),
        ..Topology::default()
    };
    for &(forward, backward) in uses.values() {
        match forward + backward {
            1 => topology.boundary_edges += 1,
            2 if forward != 1 => topology.misoriented_edges += 1,
            2 => {}
            _ => topology.non_manifold_edges += 1,
        }
    }
    topology
}

pub(crate) fn euler_characteristic(mesh: &SurfaceMesh) -> i64 {
    let mut used = vec![false; mesh.positions_ras_mm.len()];
    for t in &mesh.triangles {
        for &v in t {
            if let Some(u) = used.get_mut(v as usize) {
                *u = true;
            }
        }
    }
    let vertices = used.iter().filter(|&&u| u).count() as i64;
    vertices - topology(mesh).edges as i64 + mesh.triangles.len() as i64
}
