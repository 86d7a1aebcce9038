//! Mesh files: STL (binary or ASCII), Wavefront OBJ, PLY (binary
//! little-endian or ASCII), in LPS or RAS millimetres.
//!
//! The coordinate system is written the way 3D Slicer writes and reads it
//! (`vtkMRMLModelStorageNode`: it looks for `SPACE=LPS` or `SPACE=RAS`
//! anywhere in the header): in the 80-byte binary STL header or on the
//! `solid` line of ASCII STL, as an OBJ `#` comment, as a PLY `comment`.
//! Slicer's own files say `3D Slicer output. SPACE=LPS`; ours start with
//! `SPACE=LPS` so readers that only look at the start find it too. Without
//! it Slicer assumes LPS (since 4.11), so LPS is the default.

use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::SurfaceMesh;

/// The frame the file's coordinates are in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeshSpace {
    /// DICOM's patient frame: x to the patient's left, y posterior (what
    /// Slicer and most medical software write in files).
    #[default]
    Lps,
    /// x to the right, y anterior (RAS = LPS with x and y negated).
    Ras,
}

impl MeshSpace {
    pub fn name(self) -> &'static str {
        match self {
            MeshSpace::Lps => "LPS",
            MeshSpace::Ras => "RAS",
        }
    }

    /// A RAS point or direction in this frame (a rotation about z for LPS,
    /// so triangle winding is kept).
    pub fn from_ras(self, ras: [f32; 3]) -> [f32; 3] {
        match self {
            MeshSpace::Lps => [-ras[0], -ras[1], ras[2]],
            MeshSpace::Ras => ras,
        }
    }
}

/// A mesh file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshFormat {
    StlBinary,
    StlAscii,
    Obj,
    PlyBinary,
    PlyAscii,
}

#[derive(Debug, Error)]
pub enum MeshWriteError {
    #[error("{}: not a mesh file name (it should end in .stl, .obj or .ply)", path.display())]
    UnknownExtension { path: PathBuf },
    #[error("{}: {triangles} triangles are more than a binary STL holds", path.display())]
    TooLarge { path: PathBuf, triangles: usize },
    #[error("{}: the folder {} does not exist", path.display(), folder.display())]
    NoFolder { path: PathBuf, folder: PathBuf },
    // The I/O error is in the message, not a `source`: `{:#}` chains would
    // repeat it.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl MeshFormat {
    /// The format a file name asks for; `ascii` picks text STL or PLY (OBJ
    /// is always text).
    pub fn from_path(path: &Path, ascii: bool) -> Result<MeshFormat, MeshWriteError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match (ext.as_deref(), ascii) {
            (Some("stl"), false) => Ok(MeshFormat::StlBinary),
            (Some("stl"), true) => Ok(MeshFormat::StlAscii),
            (Some("obj"), _) => Ok(MeshFormat::Obj),
            (Some("ply"), false) => Ok(MeshFormat::PlyBinary),
            (Some("ply"), true) => Ok(MeshFormat::PlyAscii),
            _ => Err(MeshWriteError::UnknownExtension {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// Printable one-line text for headers and comments.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn face_normal(a: [f32; 3], b: [f32; 3], c: [f32; 3]) -> [f32; 3] {
    let (a, b, c) = (
        glam::Vec3::from(a),
        glam::Vec3::from(b),
        glam::Vec3::from(c),
    );
    (b - a).cross(c - a).normalize_or_zero().to_array()
}

/// The file's bytes. `name` (the label's, say) goes into the header.
/// Fails only when a binary STL would need more than 2³² − 1 triangles.
pub fn encode_mesh(
    mesh: &SurfaceMesh,
    format: MeshFormat,
    space: MeshSpace,
    name: &str,
) -> Result<Vec<u8>, usize> {
    let positions: Vec<[f32; 3]> = mesh
        .positions_ras_mm
        .iter()
        .map(|&p| space.from_ras(p))
        .collect();
    let normals: Vec<[f32; 3]> = mesh.normals.iter().map(|&n| space.from_ras(n)).collect();
    let name = one_line(name);
    let tag = format!("SPACE={}", space.name());
    let corners = |t: &[u32; 3]| t.map(|v| positions[v as usize]);
    let mut out = Vec::new();
    match format {
        MeshFormat::StlBinary => {
            let count = u32::try_from(mesh.triangles.len()).map_err(|_| mesh.triangles.len())?;
            out.reserve(84 + 50 * mesh.triangles.len());
            // Never starting with "solid", which would make readers try ASCII.
            let header = format!("{tag} rayseg surface: {name}");
            let mut header = header.into_bytes();
            header.resize(80, b' ');
            out.extend_from_slice(&header[..80]);
            out.extend_from_slice(&count.to_le_bytes());
            for t in &mesh.triangles {
                let [a, b, c] = corners(t);
                for v in [face_normal(a, b, c), a, b, c] {
                    for x in v {
                        out.extend_from_slice(&x.to_le_bytes());
                    }
                }
                out.extend_from_slice(&0u16.to_le_bytes());
            }
        }
        MeshFormat::StlAscii => {
            let solid = format!("{tag} rayseg surface: {name}");
            let _ = writeln!(out, "solid {solid}");
            for t in &mesh.triangles {
                let [a, b, c] = corners(t);
                let n = face_normal(a, b, c);
                let _ = writeln!(out, "  facet normal {} {} {}", n[0], n[1], n[2]);
                let _ = writeln!(out, "    outer loop");
                for v in [a, b, c] {
                    let _ = writeln!(out, "      vertex {} {} {}", v[0], v[1], v[2]);
                }
                let _ = writeln!(out, "    endloop");
                let _ = writeln!(out, "  endfacet");
            }
            let _ = writeln!(out, "endsolid {solid}");
        }
        MeshFormat::Obj => {
            let _ = writeln!(out, "# {tag}");
            let _ = writeln!(out, "# rayseg surface: {name}");
            let object: String = name
                .chars()
                .map(|c| if c.is_whitespace() { '_' } else { c })
                .collect();
            let _ = writeln!(
                out,
                "o {}",
                if object.is_empty() {
                    "surface"
                } else {
                    &object
                }
            );
            for p in &positions {
                let _ = writeln!(out, "v {} {} {}", p[0], p[1], p[2]);
            }
            for n in &normals {
                let _ = writeln!(out, "vn {} {} {}", n[0], n[1], n[2]);
            }
            for t in &mesh.triangles {
                let [a, b, c] = t.map(|v| v + 1);
                let _ = writeln!(out, "f {a}//{a} {b}//{b} {c}//{c}");
            }
        }
        MeshFormat::PlyBinary | MeshFormat::PlyAscii => {
            let binary = format == MeshFormat::PlyBinary;
            let _ = writeln!(out, "ply");
            let _ = writeln!(
                out,
                "format {} 1.0",
                if binary {
                    "binary_little_endian"
                } else {
                    "ascii"
                }
            );
            let _ = writeln!(out, "comment {tag}");
            let _ = writeln!(out, "comment rayseg surface: {name}");
            let _ = writeln!(out, "element vertex {}", positions.len());
            for p in ["x", "y", "z", "nx", "ny", "nz"] {
                let _ = writeln!(out, "property float {p}");
            }
            let _ = writeln!(out, "element face {}", mesh.triangles.len());
            let _ = writeln!(out, "property list uchar int vertex_indices");
            let _ = writeln!(out, "end_header");
            let zero = [0.0f32; 3];
            for (i, p) in positions.iter().enumerate() {
                let n = normals.get(i).unwrap_or(&zero);
                if binary {
                    for x in p.iter().chain(n) {
                        out.extend_from_slice(&x.to_le_bytes());
                    }
                } else {
                    let _ = writeln!(out, "{} {} {} {} {} {}", p[0], p[1], p[2], n[0], n[1], n[2]);
                }
            }
            for t in &mesh.triangles {
                if binary {
                    out.push(3);
                    for v in t {
                        // PLY's `int`: vertex counts stay far below 2³¹.
                        out.extend_from_slice(&(*v as i32).to_le_bytes());
                    }
                } else {
                    let _ = writeln!(out, "3 {} {} {}", t[0], t[1], t[2]);
                }
            }
        }
    }
    Ok(out)
}

/// Writes `mesh` to `path` atomically (a temporary file in the same folder,
/// renamed onto `path`), so a failed write never leaves half a file.
pub fn write_mesh(
    path: &Path,
    mesh: &SurfaceMesh,
    format: MeshFormat,
    space: MeshSpace,
    name: &str,
) -> Result<(), MeshWriteError> {
    let bytes =
        encode_mesh(mesh, format, space, name).map_err(|triangles| MeshWriteError::TooLarge {
            path: path.to_path_buf(),
            triangles,
        })?;
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(MeshWriteError::NoFolder {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        });
    }
    let io = |error: std::io::Error| MeshWriteError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut tmp = crate::atomic_file::temp_file_for(path).map_err(io)?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
