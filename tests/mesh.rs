//! Surface meshes of labels, checked independently of the library's own
//! measurements: edge and vertex manifoldness, Euler characteristic, enclosed
//! volume by the divergence theorem against the voxel volume, world bounds
//! against the label's voxel extent, LPS/RAS, and files read back.

use std::collections::HashMap;

use glam::{DMat3, DMat4, DVec3};
use rayseg::annotate::mesh::{
    MeshError, MeshFormat, MeshOptions, MeshSpace, SurfaceMesh, encode_mesh, label_surface,
    try_label_surface, write_mesh,
};

/// A label map of `shape` holding 1 where `inside(i, j, k)`.
fn grid(shape: [usize; 3], inside: impl Fn(f64, f64, f64) -> bool) -> Vec<u8> {
    let mut labels = vec![0u8; shape[0] * shape[1] * shape[2]];
    for k in 0..shape[2] {
        for j in 0..shape[1] {
            for i in 0..shape[0] {
                if inside(i as f64, j as f64, k as f64) {
                    labels[i + shape[0] * (j + shape[1] * k)] = 1;
                }
            }
        }
    }
    labels
}

fn diag(spacing_mm: [f64; 3]) -> DMat4 {
    DMat4::from_scale(DVec3::from(spacing_mm))
}

/// An oblique, anisotropic, mirroring grid: rotated about a skew axis,
/// spacing 0.8 × 1.1 × 2.5 mm, i axis flipped, offset origin.
fn oblique() -> DMat4 {
    let rotation = DMat3::from_axis_angle(DVec3::new(1.0, 2.0, 0.5).normalize(), 0.7);
    let linear = rotation * DMat3::from_diagonal(DVec3::new(-0.8, 1.1, 2.5));
    let mut m = DMat4::from_mat3(linear);
    m.w_axis = glam::DVec4::new(-120.0, 35.5, 410.0, 1.0);
    m
}

fn voxel_mm3(m: DMat4) -> f64 {
    DMat3::from_mat4(m).determinant().abs()
}

fn count(labels: &[u8], label: u8) -> usize {
    labels.iter().filter(|&&v| v == label).count()
}

/// Every undirected edge used once in each direction (closed, consistently
/// oriented, no edge of three or more triangles).
fn assert_watertight(mesh: &SurfaceMesh) {
    let mut directed: HashMap<(u32, u32), u32> = HashMap::new();
    for t in &mesh.triangles {
        assert!(
            t[0] != t[1] && t[1] != t[2] && t[0] != t[2],
            "degenerate {t:?}"
        );
        for e in 0..3 {
            *directed.entry((t[e], t[(e + 1) % 3])).or_default() += 1;
        }
    }
    for (&(a, b), &n) in &directed {
        assert_eq!(n, 1, "edge {a}→{b} used {n} times in one direction");
        assert_eq!(directed.get(&(b, a)), Some(&1), "edge {a}→{b} has no twin");
    }
}

/// Every vertex's triangles form one disk: the edges opposite the vertex
/// chain into a single cycle.
fn assert_manifold_vertices(mesh: &SurfaceMesh) {
    let mut opposite: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
    for t in &mesh.triangles {
        for e in 0..3 {
            opposite
                .entry(t[e])
                .or_default()
                .push((t[(e + 1) % 3], t[(e + 2) % 3]));
        }
    }
    for (v, edges) in opposite {
        let next: HashMap<u32, u32> = edges.iter().copied().collect();
        assert_eq!(next.len(), edges.len(), "vertex {v}: fan repeats a vertex");
        let start = edges[0].0;
        let mut at = start;
        let mut steps = 0;
        loop {
            at = next[&at];
            steps += 1;
            if at == start {
                break;
            }
            assert!(steps <= edges.len(), "vertex {v}: fan does not close");
        }
        assert_eq!(
            steps,
            edges.len(),
            "vertex {v}: {} fans",
            edges.len() / steps.max(1)
        );
    }
}

fn euler(mesh: &SurfaceMesh) -> i64 {
    let mut edges = std::collections::HashSet::new();
    let mut vertices = std::collections::HashSet::new();
    for t in &mesh.triangles {
        for e in 0..3 {
            let (a, b) = (t[e], t[(e + 1) % 3]);
            edges.insert((a.min(b), a.max(b)));
            vertices.insert(a);
        }
    }
    vertices.len() as i64 - edges.len() as i64 + mesh.triangles.len() as i64
}

fn volume(mesh: &SurfaceMesh) -> f64 {
    let p = |v: u32| DVec3::from(mesh.positions_ras_mm[v as usize].map(f64::from));
    mesh.triangles
        .iter()
        .map(|t| p(t[0]).dot(p(t[1]).cross(p(t[2]))) / 6.0)
        .sum()
}

fn relative_volume_error(mesh: &SurfaceMesh, labels: &[u8], m: DMat4) -> f64 {
    let voxels = count(labels, 1) as f64 * voxel_mm3(m);
    (volume(mesh) - voxels) / voxels
}

/// World AABB of the label's voxels (their corners) and half a voxel along
/// each world axis (the voxel's extent projected on it, halved), in mm.
fn voxel_extent(labels: &[u8], shape: [usize; 3], m: DMat4) -> (DVec3, DVec3, DVec3) {
    let mut lo = DVec3::splat(f64::INFINITY);
    let mut hi = DVec3::splat(f64::NEG_INFINITY);
    for k in 0..shape[2] {
        for j in 0..shape[1] {
            for i in 0..shape[0] {
                if labels[i + shape[0] * (j + shape[1] * k)] != 1 {
                    continue;
                }
                for c in 0..8 {
                    let corner = DVec3::new(
                        i as f64 + (c & 1) as f64 - 0.5,
                        j as f64 + (c >> 1 & 1) as f64 - 0.5,
                        k as f64 + (c >> 2 & 1) as f64 - 0.5,
                    );
                    let w = m.transform_point3(corner);
                    lo = lo.min(w);
                    hi = hi.max(w);
                }
            }
        }
    }
    let l = DMat3::from_mat4(m);
    let half = 0.5 * (l.x_axis.abs() + l.y_axis.abs() + l.z_axis.abs());
    (lo, hi, half)
}

fn assert_bounds(mesh: &SurfaceMesh, labels: &[u8], shape: [usize; 3], m: DMat4) {
    let (lo, hi, half) = voxel_extent(labels, shape, m);
    let mut mlo = DVec3::splat(f64::INFINITY);
    let mut mhi = DVec3::splat(f64::NEG_INFINITY);
    for p in &mesh.positions_ras_mm {
        let p = DVec3::from(p.map(f64::from));
        mlo = mlo.min(p);
        mhi = mhi.max(p);
    }
    for a in 0..3 {
        assert!(
            (mlo[a] - lo[a]).abs() <= half[a] && (mhi[a] - hi[a]).abs() <= half[a],
            "axis {a}: mesh [{}, {}] vs voxels [{}, {}] ± {}",
            mlo[a],
            mhi[a],
            lo[a],
            hi[a],
            half[a]
        );
    }
}

fn assert_normals_unit(mesh: &SurfaceMesh) {
    assert_eq!(mesh.normals.len(), mesh.positions_ras_mm.len());
    for n in &mesh.normals {
        let len = DVec3::from(n.map(f64::from)).length();
        assert!((len - 1.0).abs() < 1e-3, "normal length {len}");
    }
}

fn check_closed_ball(labels: &[u8], shape: [usize; 3], m: DMat4, tolerance: f64) -> f64 {
    let mesh = label_surface(labels, shape, m, 1, &MeshOptions::default());
    assert_watertight(&mesh);
    assert_manifold_vertices(&mesh);
    assert_eq!(euler(&mesh), 2, "Euler characteristic of a sphere");
    let error = relative_volume_error(&mesh, labels, m);
    assert!(
        error.abs() <= tolerance,
        "volume off by {:.3} %",
        100.0 * error
    );
    assert_bounds(&mesh, labels, shape, m);
    assert_normals_unit(&mesh);
    error
}

fn sphere(radius: f64) -> ([usize; 3], Vec<u8>) {
    let n = (2.0 * radius) as usize + 5;
    let c = (n as f64 - 1.0) / 2.0 + 0.3;
    let shape = [n, n, n];
    let labels = grid(shape, |i, j, k| {
        (i - c).powi(2) + (j - c).powi(2) + (k - c).powi(2) <= radius * radius
    });
    (shape, labels)
}

#[test]
fn spheres_are_closed_balls_with_their_voxel_volume() {
    for radius in [5.0, 10.0, 20.0] {
        let (shape, labels) = sphere(radius);
        check_closed_ball(&labels, shape, diag([1.0, 1.0, 1.0]), 0.02);
    }
}

#[test]
fn smoothing_alone_keeps_sphere_volumes_within_two_percent() {
    // Without the volume correction, Taubin smoothing alone.
    let options = MeshOptions {
        preserve_volume: false,
        ..MeshOptions::default()
    };
    for radius in [5.0, 10.0, 20.0] {
        let (shape, labels) = sphere(radius);
        let m = diag([1.0, 1.0, 1.0]);
        let mesh = label_surface(&labels, shape, m, 1, &options);
        assert_watertight(&mesh);
        let error = relative_volume_error(&mesh, &labels, m);
        assert!(error.abs() <= 0.02, "r {radius}: {:.3} %", 100.0 * error);
    }
}

#[test]
fn anisotropic_ellipsoid() {
    // 60 × 40 × 30 mm semi-axes ⁄ 2 on 0.7 × 0.7 × 3 mm voxels.
    let m = diag([0.7, 0.7, 3.0]);
    let shape = [70, 50, 16];
    let c = [34.6, 24.4, 7.3];
    let labels = grid(shape, |i, j, k| {
        let (x, y, z) = ((i - c[0]) * 0.7, (j - c[1]) * 0.7, (k - c[2]) * 3.0);
        (x / 22.0).powi(2) + (y / 15.0).powi(2) + (z / 18.0).powi(2) <= 1.0
    });
    check_closed_ball(&labels, shape, m, 0.02);
}

#[test]
fn oblique_mirrored_grid_keeps_triangles_outward() {
    let m = oblique();
    assert!(DMat3::from_mat4(m).determinant() < 0.0);
    let (shape, labels) = sphere(9.0);
    let error = check_closed_ball(&labels, shape, m, 0.02);
    let mesh = label_surface(&labels, shape, m, 1, &MeshOptions::default());
    assert!(
        volume(&mesh) > 0.0,
        "outward winding gives a positive volume ({error})"
    );
    // Normals point away from the centre.
    let centre = mesh
        .positions_ras_mm
        .iter()
        .map(|p| DVec3::from(p.map(f64::from)))
        .sum::<DVec3>()
        / mesh.positions_ras_mm.len() as f64;
    let outward = mesh
        .positions_ras_mm
        .iter()
        .zip(&mesh.normals)
        .filter(|(p, n)| {
            (DVec3::from(p.map(f64::from)) - centre).dot(DVec3::from(n.map(f64::from))) > 0.0
        })
        .count();
    assert_eq!(outward, mesh.normals.len());
}

#[test]
fn thin_structures_keep_their_volume() {
    let m = diag([0.8, 0.8, 1.5]);
    // A plate two voxels thick.
    let shape = [30, 30, 8];
    let plate = grid(shape, |i, j, k| {
        (3.0..=26.0).contains(&i) && (4.0..=25.0).contains(&j) && (3.0..=4.0).contains(&k)
    });
    check_closed_ball(&plate, shape, m, 0.02);
    // A rod one voxel across, bent.
    let shape = [40, 12, 12];
    let rod = grid(shape, |i, j, k| {
        k == 6.0
            && ((2.0..=30.0).contains(&i) && j == 5.0 || i == 30.0 && (5.0..=10.0).contains(&j))
    });
    check_closed_ball(&rod, shape, m, 0.02);
    // A thin tube wall (a hollow cylinder is a torus: Euler characteristic 0).
    let shape = [24, 24, 20];
    let tube = grid(shape, |i, j, k| {
        let r = ((i - 11.5).powi(2) + (j - 11.5).powi(2)).sqrt();
        (7.0..=9.0).contains(&r) && (3.0..=16.0).contains(&k)
    });
    let mesh = label_surface(&tube, shape, m, 1, &MeshOptions::default());
    assert_watertight(&mesh);
    assert_manifold_vertices(&mesh);
    assert_eq!(euler(&mesh), 0);
    assert!(relative_volume_error(&mesh, &tube, m).abs() <= 0.02);
}

#[test]
fn voxels_touching_at_an_edge_or_corner_are_separate_surfaces() {
    let m = diag([1.0, 1.0, 1.0]);
    let shape = [6, 6, 6];
    for other in [[3, 3, 2], [3, 3, 3]] {
        let mut labels = vec![0u8; 216];
        labels[2 + 6 * (2 + 6 * 2)] = 1;
        labels[other[0] + 6 * (other[1] + 6 * other[2])] = 1;
        for smoothing in [0, 20] {
            let options = MeshOptions {
                smoothing_iterations: smoothing,
                ..MeshOptions::default()
            };
            let mesh = label_surface(&labels, shape, m, 1, &options);
            assert_watertight(&mesh);
            assert_manifold_vertices(&mesh);
            assert_eq!(euler(&mesh), 4, "two spheres");
            assert_eq!(mesh.triangles.len(), 24);
            assert!(relative_volume_error(&mesh, &labels, m).abs() < 0.02);
            // No two vertices coincide, so readers that merge equal
            // positions (STL has no shared vertices) keep the topology.
            let mut seen = std::collections::HashSet::new();
            for p in &mesh.positions_ras_mm {
                assert!(seen.insert(p.map(f32::to_bits)), "duplicate position {p:?}");
            }
        }
    }
}

#[test]
fn label_looping_round_an_edge_stays_manifold() {
    // Voxels A = (1,1,2) and C = (2,2,2) meet along the edge at x = y = 1.5;
    // they are also joined below (z = 1) and above (z = 3), so both ends of
    // that edge see one surface: the pinch needs vertices of its own.
    let m = diag([1.0, 1.0, 1.0]);
    let shape = [5, 5, 5];
    let mut labels = vec![0u8; 125];
    let mut set = |i: usize, j: usize, k: usize| labels[i + 5 * (j + 5 * k)] = 1;
    set(1, 1, 2);
    set(2, 2, 2);
    set(1, 1, 1);
    set(2, 1, 1);
    set(2, 2, 1);
    set(1, 1, 3);
    set(1, 2, 3);
    set(2, 2, 3);
    for smoothing in [0, 20] {
        let options = MeshOptions {
            smoothing_iterations: smoothing,
            ..MeshOptions::default()
        };
        let mesh = label_surface(&labels, shape, m, 1, &options);
        assert_watertight(&mesh);
        assert_manifold_vertices(&mesh);
        assert!(relative_volume_error(&mesh, &labels, m).abs() < 0.02);
    }
}

/// A small deterministic generator (xorshift) for random label maps.
fn noise(shape: [usize; 3], seed: u64, fill: f64) -> Vec<u8> {
    let mut state = seed;
    (0..shape[0] * shape[1] * shape[2])
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            u8::from(((state >> 11) as f64 / (1u64 << 53) as f64) < fill)
        })
        .collect()
}

#[test]
fn random_label_maps_always_give_closed_manifolds() {
    let m = oblique();
    for (seed, fill) in [(1, 0.3), (2, 0.5), (3, 0.7), (4, 0.5), (5, 0.15)] {
        let shape = [9, 8, 7];
        let labels = noise(shape, seed, fill);
        for smoothing in [0, 3, 20] {
            let options = MeshOptions {
                smoothing_iterations: smoothing,
                ..MeshOptions::default()
            };
            let mesh = label_surface(&labels, shape, m, 1, &options);
            assert_watertight(&mesh);
            assert_manifold_vertices(&mesh);
            if smoothing == 0 {
                // The raw surface is the voxel boundary: its volume is exact.
                assert!(relative_volume_error(&mesh, &labels, m).abs() < 1e-2);
            }
        }
    }
}

#[test]
fn label_on_the_image_border_is_closed() {
    let m = diag([1.0, 2.0, 1.0]);
    let shape = [6, 5, 4];
    let labels = vec![1u8; 120];
    let mesh = check_closed_ball(&labels, shape, m, 0.02);
    assert!(mesh.abs() <= 0.02);
}

#[test]
fn other_labels_and_empty_labels() {
    let m = diag([1.0, 1.0, 1.0]);
    let (shape, mut labels) = sphere(6.0);
    for v in labels.iter_mut().take(40) {
        *v = 2;
    }
    let mesh = label_surface(&labels, shape, m, 3, &MeshOptions::default());
    assert!(mesh.triangles.is_empty() && mesh.positions_ras_mm.is_empty());
    let two = label_surface(&labels, shape, m, 2, &MeshOptions::default());
    assert_watertight(&two);
    assert_eq!(
        try_label_surface(&labels[1..], shape, m, 1, &MeshOptions::default()),
        Err(MeshError::GridMismatch {
            len: labels.len() - 1,
            shape,
            needed: labels.len()
        })
    );
    let mut nan = m;
    nan.x_axis.x = f64::NAN;
    assert_eq!(
        try_label_surface(&labels, shape, nan, 1, &MeshOptions::default()),
        Err(MeshError::NonFiniteMatrix)
    );
    assert_eq!(
        label_surface(&labels[1..], shape, m, 1, &MeshOptions::default()),
        SurfaceMesh::default()
    );
}

// ----- files read back -----

fn f32_at(bytes: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Triangles as corner positions, from a binary STL.
fn parse_stl_binary(bytes: &[u8]) -> (String, Vec<[[f32; 3]; 3]>) {
    let header = String::from_utf8_lossy(&bytes[..80]).trim_end().to_string();
    let n = u32::from_le_bytes(bytes[80..84].try_into().unwrap()) as usize;
    assert_eq!(bytes.len(), 84 + 50 * n);
    let tris = (0..n)
        .map(|t| {
            let base = 84 + 50 * t + 12;
            [0, 1, 2].map(|c| [0, 1, 2].map(|a| f32_at(bytes, base + 12 * c + 4 * a)))
        })
        .collect();
    (header, tris)
}

fn parse_stl_ascii(text: &str) -> (String, Vec<[[f32; 3]; 3]>) {
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .strip_prefix("solid ")
        .unwrap()
        .to_string();
    let vertices: Vec<[f32; 3]> = lines
        .filter_map(|l| l.trim().strip_prefix("vertex "))
        .map(|v| {
            let xs: Vec<f32> = v.split_whitespace().map(|x| x.parse().unwrap()).collect();
            [xs[0], xs[1], xs[2]]
        })
        .collect();
    assert!(text.trim_end().ends_with(&format!("endsolid {header}")));
    (
        header,
        vertices.chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
    )
}

/// An OBJ file's comments, positions, normals and triangles.
struct Obj {
    comments: Vec<String>,
    v: Vec<[f32; 3]>,
    vn: Vec<[f32; 3]>,
    f: Vec<[u32; 3]>,
}

fn parse_obj(text: &str) -> Obj {
    let mut comments = Vec::new();
    let (mut v, mut vn, mut f) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("#") => comments.push(line[2..].to_string()),
            Some("v") => v.push([0; 3].map(|_| words.next().unwrap().parse().unwrap())),
            Some("vn") => vn.push([0; 3].map(|_| words.next().unwrap().parse().unwrap())),
            Some("f") => f.push([0; 3].map(|_| {
                let w = words.next().unwrap();
                let (a, b) = w.split_once("//").unwrap();
                assert_eq!(a, b);
                a.parse::<u32>().unwrap() - 1
            })),
            _ => {}
        }
    }
    Obj { comments, v, vn, f }
}

/// (comments, vertices with normals, faces) of a PLY file.
fn parse_ply(bytes: &[u8]) -> (Vec<String>, Vec<[f32; 6]>, Vec<[u32; 3]>) {
    let end = bytes
        .windows(11)
        .position(|w| w == b"end_header\n")
        .unwrap()
        + 11;
    let header = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut comments = Vec::new();
    let (mut nv, mut nf, mut binary) = (0, 0, false);
    for line in header.lines() {
        if let Some(c) = line.strip_prefix("comment ") {
            comments.push(c.to_string());
        } else if let Some(n) = line.strip_prefix("element vertex ") {
            nv = n.parse().unwrap();
        } else if let Some(n) = line.strip_prefix("element face ") {
            nf = n.parse().unwrap();
        } else if line.starts_with("format ") {
            binary = line == "format binary_little_endian 1.0";
        }
    }
    let body = &bytes[end..];
    if binary {
        assert_eq!(body.len(), nv * 24 + nf * 13);
        let verts = (0..nv)
            .map(|i| [0, 1, 2, 3, 4, 5].map(|a| f32_at(body, 24 * i + 4 * a)))
            .collect();
        let faces = (0..nf)
            .map(|i| {
                let at = nv * 24 + 13 * i;
                assert_eq!(body[at], 3);
                [0, 1, 2].map(|c| {
                    i32::from_le_bytes(body[at + 1 + 4 * c..at + 5 + 4 * c].try_into().unwrap())
                        as u32
                })
            })
            .collect();
        (comments, verts, faces)
    } else {
        let text = std::str::from_utf8(body).unwrap();
        let mut lines = text.lines();
        let verts = (0..nv)
            .map(|_| {
                let xs: Vec<f32> = lines
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .map(|x| x.parse().unwrap())
                    .collect();
                [xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]]
            })
            .collect();
        let faces = (0..nf)
            .map(|_| {
                let xs: Vec<u32> = lines
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .map(|x| x.parse().unwrap())
                    .collect();
                assert_eq!(xs[0], 3);
                [xs[1], xs[2], xs[3]]
            })
            .collect();
        (comments, verts, faces)
    }
}

fn small_mesh() -> SurfaceMesh {
    let (shape, labels) = sphere(4.0);
    label_surface(&labels, shape, oblique(), 1, &MeshOptions::default())
}

fn lps(p: [f32; 3]) -> [f32; 3] {
    [-p[0], -p[1], p[2]]
}

#[test]
fn stl_files_read_back_in_lps_and_ras() {
    let mesh = small_mesh();
    for space in [MeshSpace::Lps, MeshSpace::Ras] {
        let map = |p: [f32; 3]| if space == MeshSpace::Lps { lps(p) } else { p };
        let expected: Vec<[[f32; 3]; 3]> = mesh
            .triangles
            .iter()
            .map(|t| t.map(|v| map(mesh.positions_ras_mm[v as usize])))
            .collect();
        let binary = encode_mesh(&mesh, MeshFormat::StlBinary, space, "tumour").unwrap();
        let (header, tris) = parse_stl_binary(&binary);
        assert!(
            header.starts_with(&format!("SPACE={}", space.name())),
            "{header}"
        );
        assert!(!header.starts_with("solid"));
        assert_eq!(tris, expected);
        let ascii = encode_mesh(&mesh, MeshFormat::StlAscii, space, "tumour").unwrap();
        let (header, tris) = parse_stl_ascii(std::str::from_utf8(&ascii).unwrap());
        assert!(
            header.starts_with(&format!("SPACE={}", space.name())),
            "{header}"
        );
        assert_eq!(tris, expected);
        // LPS flips x and y, a rotation: the volume keeps its sign.
        let v: f64 = tris
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|p| DVec3::from(p.map(f64::from)));
                a.dot(b.cross(c)) / 6.0
            })
            .sum();
        assert!((v - volume(&mesh)).abs() < 1e-3 * v);
    }
}

#[test]
fn obj_and_ply_files_read_back() {
    let mesh = small_mesh();
    let Obj { comments, v, vn, f } = parse_obj(
        std::str::from_utf8(
            &encode_mesh(&mesh, MeshFormat::Obj, MeshSpace::Lps, "left kidney").unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(comments[0], "SPACE=LPS");
    assert_eq!(f, mesh.triangles);
    assert_eq!(
        v,
        mesh.positions_ras_mm
            .iter()
            .map(|&p| lps(p))
            .collect::<Vec<_>>()
    );
    assert_eq!(vn, mesh.normals.iter().map(|&n| lps(n)).collect::<Vec<_>>());
    for format in [MeshFormat::PlyBinary, MeshFormat::PlyAscii] {
        let (comments, verts, faces) =
            parse_ply(&encode_mesh(&mesh, format, MeshSpace::Ras, "x\ny").unwrap());
        assert_eq!(comments[0], "SPACE=RAS");
        assert!(comments.iter().all(|c| !c.contains('\n')));
        assert_eq!(faces, mesh.triangles);
        for (i, v) in verts.iter().enumerate() {
            assert_eq!(&v[..3], &mesh.positions_ras_mm[i]);
            assert_eq!(&v[3..], &mesh.normals[i]);
        }
    }
}

#[test]
fn write_mesh_is_atomic_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = small_mesh();
    let path = dir.path().join("lesion.stl");
    let format = MeshFormat::from_path(&path, false).unwrap();
    assert_eq!(format, MeshFormat::StlBinary);
    write_mesh(&path, &mesh, format, MeshSpace::Lps, "lesion").unwrap();
    let (_, tris) = parse_stl_binary(&std::fs::read(&path).unwrap());
    assert_eq!(tris.len(), mesh.triangles.len());
    // Only the file itself is left (the temporary was renamed onto it).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let missing = dir.path().join("no/such/folder/x.ply");
    let err = write_mesh(&missing, &mesh, MeshFormat::PlyBinary, MeshSpace::Lps, "x").unwrap_err();
    assert!(err.to_string().contains("no/such/folder"), "{err}");
    let err = MeshFormat::from_path(std::path::Path::new("x.vtk"), false).unwrap_err();
    assert!(err.to_string().contains("x.vtk"), "{err}");
}

// ----- the command line -----

mod cli {
    use super::*;
    use rayseg::annotate::label_formats::write_label_map;
    use rayseg::annotate::labels::{LabelInfo, LabelSet};
    use rayseg::volume::{Modality, Volume, VoxelData};
    use std::path::Path;
    use std::process::Command;

    /// Two named labels (spheres) on an anisotropic grid, as NIfTI and sidecar.
    fn two_label_mask(dir: &Path) -> (std::path::PathBuf, Vec<u8>, [usize; 3], DMat4) {
        let shape = [30, 28, 20];
        let m = {
            let mut m = diag([0.9, 1.1, 2.0]);
            m.w_axis = glam::DVec4::new(-10.0, 20.0, -30.0, 1.0);
            m
        };
        let mut labels = grid(shape, |i, j, k| {
            (i - 9.0).powi(2) + (j - 10.0).powi(2) + ((k - 8.0) * 2.0).powi(2) <= 36.0
        });
        let other = grid(shape, |i, j, k| {
            (i - 21.0).powi(2) + (j - 18.0).powi(2) + ((k - 11.0) * 2.0).powi(2) <= 25.0
        });
        for (l, o) in labels.iter_mut().zip(&other) {
            if *o == 1 {
                *l = 2;
            }
        }
        let path = dir.join("mask.nii.gz");
        let volume = Volume::new(shape, VoxelData::U8(labels.clone()), m, Modality::Unknown)
            .expect("volume");
        let set = LabelSet {
            labels: vec![
                LabelInfo::new(1, "left kidney"),
                LabelInfo::new(2, "tumour"),
            ],
        };
        write_label_map(&path, &labels, &set, &volume, None).expect("write mask");
        (path, labels, shape, m)
    }

    fn rayseg(args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_rayseg"))
            .args(args)
            .output()
            .expect("run rayseg")
    }

    /// An STL triangle soup indexed by exact positions (no two vertices of
    /// our meshes coincide, so this recovers the topology).
    fn indexed(tris: &[[[f32; 3]; 3]]) -> SurfaceMesh {
        let mut index: HashMap<[u32; 3], u32> = HashMap::new();
        let mut mesh = SurfaceMesh::default();
        for t in tris {
            let ids = t.map(|p| {
                *index.entry(p.map(f32::to_bits)).or_insert_with(|| {
                    mesh.positions_ras_mm.push(p);
                    mesh.positions_ras_mm.len() as u32 - 1
                })
            });
            mesh.triangles.push(ids);
        }
        mesh
    }

    #[test]
    fn every_label_gets_a_closed_lps_file_named_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mask, labels, shape, m) = two_label_mask(dir.path());
        let out = dir.path().join("case.stl");
        let run = rayseg(&["mesh", mask.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            stdout.contains("left kidney") && stdout.contains("tumour"),
            "{stdout}"
        );
        for (value, file) in [(1u8, "case_left_kidney.stl"), (2, "case_tumour.stl")] {
            let (header, tris) = parse_stl_binary(&std::fs::read(dir.path().join(file)).unwrap());
            assert!(header.starts_with("SPACE=LPS"), "{header}");
            // Back to RAS to compare with the grid.
            let ras: Vec<[[f32; 3]; 3]> = tris.iter().map(|t| t.map(lps)).collect();
            let mesh = indexed(&ras);
            assert_watertight(&mesh);
            assert_eq!(euler(&mesh), 2);
            let one: Vec<u8> = labels.iter().map(|&l| u8::from(l == value)).collect();
            assert!(relative_volume_error(&mesh, &one, m).abs() <= 0.02);
            assert_bounds(&mesh, &one, shape, m);
        }
    }

    #[test]
    fn one_label_in_ras_as_ply() {
        let dir = tempfile::tempdir().unwrap();
        let (mask, labels, shape, m) = two_label_mask(dir.path());
        let out = dir.path().join("tumour.ply");
        let run = rayseg(&[
            "mesh",
            mask.to_str().unwrap(),
            "--label",
            "2",
            "--space",
            "ras",
            "--smooth",
            "5",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (comments, verts, faces) = parse_ply(&std::fs::read(&out).unwrap());
        assert_eq!(comments[0], "SPACE=RAS");
        let mesh = SurfaceMesh {
            positions_ras_mm: verts.iter().map(|v| [v[0], v[1], v[2]]).collect(),
            normals: verts.iter().map(|v| [v[3], v[4], v[5]]).collect(),
            triangles: faces,
        };
        assert_watertight(&mesh);
        let one: Vec<u8> = labels.iter().map(|&l| u8::from(l == 2)).collect();
        assert!(relative_volume_error(&mesh, &one, m).abs() <= 0.02);
        assert_bounds(&mesh, &one, shape, m);
        // Only the file asked for.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn refusals_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let (mask, _, _, _) = two_label_mask(dir.path());
        let mask = mask.to_str().unwrap();
        let out = dir.path().join("x.stl");
        let out = out.to_str().unwrap();
        for (args, says) in [
            (vec!["--label", "7"], "label 7 has no voxels"),
            (vec!["--label", "0"], "background"),
        ] {
            let mut all = vec!["mesh", mask, "-o", out];
            all.extend(args);
            let run = rayseg(&all);
            assert!(!run.status.success());
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(stderr.contains(says), "{stderr}");
        }
        let run = rayseg(&["mesh", mask, "-o", "x.vtk"]);
        assert!(String::from_utf8_lossy(&run.stderr).contains("x.vtk"));
        let run = rayseg(&["mesh", mask, "-o", mask]);
        assert!(!run.status.success());
        assert!(std::fs::metadata(mask).unwrap().len() > 0);
        assert!(!Path::new(out).exists());
    }
}
