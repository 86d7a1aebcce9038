//! A synthetic CT phantom with lesions of known analytic volume.
//!
//! Contents (HU), later objects replacing earlier ones: air −1000; a body
//! (elliptic cylinder along S, −50 HU); a liver-like ellipsoid (60 HU); two
//! lungs (−850 HU); a spine cylinder (700 HU); six lesions (spheres and
//! ellipsoids, 0.5–29 mL) at +40 HU over the tissue around them, each well
//! inside its lung or the liver. Geometry is fixed in RAS mm around the grid
//! centre and shrunk uniformly only when the field of view is too small (the
//! truth then reports the shrunken sizes).
//!
//! Partial volume: voxels whose cube may straddle a surface (a conservative
//! test from the ellipsoid's scaled-radius bounds) take the mean value of
//! `supersample³` sub-voxel samples; others the value at their centre. Noise is
//! Gaussian from a seeded xorshift64* per slice (same output on any thread
//! count), added before rounding to int16.

use std::io::Write;
use std::path::Path;

use glam::{DMat4, DVec3, DVec4};
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

use crate::volume::{Modality, Provenance, Volume, VoxelData};

pub const LESION_CONTRAST_HU: f64 = 40.0;
/// Field of view (mm) the unscaled phantom needs along R, A, S.
const FOV_MM: [f64; 3] = [360.0, 260.0, 330.0];

#[derive(Clone, Debug, PartialEq)]
pub struct PhantomSpec {
    pub shape: [usize; 3],
    pub spacing_mm: [f64; 3],
    pub seed: u64,
    /// Gaussian noise SD in HU (0 = noise-free).
    pub noise_sd_hu: f64,
    /// Sub-samples per axis in boundary voxels.
    pub supersample: usize,
}

impl Default for PhantomSpec {
    fn default() -> Self {
        PhantomSpec {
            shape: [256; 3],
            spacing_mm: [1.5; 3],
            seed: 1,
            noise_sd_hu: 10.0,
            supersample: 4,
        }
    }
}

/// Ground truth of one lesion.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LesionTruth {
    pub name: String,
    pub centre_ras_mm: [f64; 3],
    /// Semi-axes along R, A, S.
    pub radii_mm: [f64; 3],
    /// 4/3·π·a·b·c.
    pub volume_ml: f64,
    pub hu: f64,
    /// HU of the tissue around the lesion.
    pub surrounding_hu: f64,
    /// "lung" or "liver".
    pub location: String,
}

#[derive(Debug, Error)]
pub enum PhantomError {
    #[error("phantom grid {0:?} must have 2..=2048 voxels per axis")]
    Shape([usize; 3]),
    #[error("phantom spacing {0:?} mm must be positive and finite")]
    Spacing([f64; 3]),
    #[error("supersample {0} must be 1..=8")]
    Supersample(usize),
    #[error("noise SD {0} HU must be finite and ≥ 0")]
    Noise(f64),
    #[error("{0}")]
    Volume(#[from] super::VolumeError),
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Write {
        path: std::path::PathBuf,
        message: String,
    },
}

/// An axis-aligned ellipsoid, or an elliptic cylinder along S when `r[2]` is infinite.
#[derive(Clone, Copy)]
struct Solid {
    c: DVec3,
    r: DVec3,
    hu: f64,
}

impl Solid {
    fn level(&self, p: DVec3) -> f64 {
        let q = (p - self.c) / self.r;
        q.length_squared()
    }

    fn r_min(&self) -> f64 {
        self.r.min_element()
    }
}

const BODY_HU: f64 = -50.0;
const LIVER_HU: f64 = 60.0;
const LUNG_HU: f64 = -850.0;
const BONE_HU: f64 = 700.0;
const AIR_HU: f64 = -1000.0;

/// (name, centre, radii, location) of the unscaled lesions.
const LESIONS: [(&str, [f64; 3], [f64; 3], &str); 6] = [
    ("lung sphere 10 mm", [70.0, 10.0, 80.0], [5.0; 3], "lung"),
    ("lung sphere 16 mm", [-70.0, -10.0, 100.0], [8.0; 3], "lung"),
    (
        "lung ellipsoid",
        [75.0, -20.0, 50.0],
        [10.0, 8.0, 6.0],
        "lung",
    ),
    (
        "liver sphere 24 mm",
        [-60.0, 10.0, -80.0],
        [12.0; 3],
        "liver",
    ),
    (
        "liver ellipsoid",
        [-100.0, -25.0, -75.0],
        [20.0, 15.0, 12.0],
        "liver",
    ),
    (
        "liver sphere 38 mm",
        [-40.0, 20.0, -110.0],
        [19.0; 3],
        "liver",
    ),
];

fn solids(scale: f64) -> (Vec<Solid>, Vec<LesionTruth>) {
    let s = |x: [f64; 3]| DVec3::from_array(x) * scale;
    let inf = f64::INFINITY;
    let mut solids = vec![
        Solid {
            c: DVec3::ZERO,
            r: DVec3::new(170.0 * scale, 120.0 * scale, inf),
            hu: BODY_HU,
        },
        Solid {
            c: s([-60.0, 0.0, -80.0]),
            r: s([80.0, 70.0, 70.0]),
            hu: LIVER_HU,
        },
        Solid {
            c: s([70.0, 0.0, 80.0]),
            r: s([55.0, 70.0, 90.0]),
            hu: LUNG_HU,
        },
        Solid {
            c: s([-70.0, 0.0, 80.0]),
            r: s([55.0, 70.0, 90.0]),
            hu: LUNG_HU,
        },
        Solid {
            c: s([0.0, -85.0, 0.0]),
            r: DVec3::new(15.0 * scale, 15.0 * scale, inf),
            hu: BONE_HU,
        },
    ];
    let mut truth = Vec::new();
    for (name, c, r, location) in LESIONS {
        let around = if location == "lung" {
            LUNG_HU
        } else {
            LIVER_HU
        };
        let (c, r) = (s(c), s(r));
        let hu = around + LESION_CONTRAST_HU;
        solids.push(Solid { c, r, hu });
        truth.push(LesionTruth {
            name: name.into(),
            centre_ras_mm: c.to_array(),
            radii_mm: r.to_array(),
            volume_ml: 4.0 / 3.0 * std::f64::consts::PI * r.x * r.y * r.z / 1000.0,
            hu,
            surrounding_hu: around,
            location: location.into(),
        });
    }
    (solids, truth)
}

fn material(solids: &[Solid], p: DVec3) -> f64 {
    solids
        .iter()
        .rev()
        .find(|s| s.level(p) <= 1.0)
        .map_or(AIR_HU, |s| s.hu)
}

/// splitmix64, to seed each slice's stream.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

struct XorShift(u64);

impl XorShift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Box–Muller.
    fn gaussian(&mut self) -> f64 {
        let (u, v) = (self.next_f64(), self.next_f64());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Builds the phantom and its lesion truth.
pub fn ct_phantom(spec: &PhantomSpec) -> Result<(Volume, Vec<LesionTruth>), PhantomError> {
    if spec.shape.iter().any(|&n| !(2..=2048).contains(&n)) {
        return Err(PhantomError::Shape(spec.shape));
    }
    if spec.spacing_mm.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
        return Err(PhantomError::Spacing(spec.spacing_mm));
    }
    if !(1..=8).contains(&spec.supersample) {
        return Err(PhantomError::Supersample(spec.supersample));
    }
    if !(spec.noise_sd_hu.is_finite() && spec.noise_sd_hu >= 0.0) {
        return Err(PhantomError::Noise(spec.noise_sd_hu));
    }
    let sp = DVec3::from_array(spec.spacing_mm);
    let [ni, nj, nk] = spec.shape;
    let extent = DVec3::new(ni as f64, nj as f64, nk as f64) * sp;
    let scale = (0..3).map(|a| extent[a] / FOV_MM[a]).fold(1.0, f64::min);
    let (solids, truth) = solids(scale);
    let origin = -0.5 * (DVec3::new(ni as f64, nj as f64, nk as f64) - 1.0) * sp;
    let half_diag = 0.5 * sp.length();
    let n = spec.supersample;
    let sub: Vec<DVec3> = (0..n * n * n)
        .map(|s| {
            let t = |x: usize| (x as f64 + 0.5) / n as f64 - 0.5;
            DVec3::new(t(s % n), t((s / n) % n), t(s / (n * n))) * sp
        })
        .collect();
    let mut data = vec![0i16; ni * nj * nk];
    data.par_chunks_mut(ni * nj)
        .enumerate()
        .for_each(|(k, slice)| {
            let mut rng = XorShift(splitmix(spec.seed ^ splitmix(k as u64)) | 1);
            for j in 0..nj {
                for i in 0..ni {
                    let p = origin + DVec3::new(i as f64, j as f64, k as f64) * sp;
                    let straddles = solids.iter().any(|s| {
                        let q = s.level(p).sqrt();
                        let h = half_diag / s.r_min();
                        q > 1.0 - h && q < 1.0 + h
                    });
                    let mut v = if straddles {
                        sub.iter().map(|&d| material(&solids, p + d)).sum::<f64>()
                            / sub.len() as f64
                    } else {
                        material(&solids, p)
                    };
                    if spec.noise_sd_hu > 0.0 {
                        v += spec.noise_sd_hu * rng.gaussian();
                    }
                    slice[i + ni * j] = v.round().clamp(-32768.0, 32767.0) as i16;
                }
            }
        });
    let m = DMat4::from_cols(
        DVec4::new(sp.x, 0.0, 0.0, 0.0),
        DVec4::new(0.0, sp.y, 0.0, 0.0),
        DVec4::new(0.0, 0.0, sp.z, 0.0),
        origin.extend(1.0),
    );
    let mut volume = Volume::new(spec.shape, VoxelData::I16(data), m, Modality::Ct)
        .map_err(PhantomError::Volume)?;
    volume.provenance = Provenance {
        format: "phantom".into(),
        volumes_in_source: 1,
        ..Default::default()
    };
    Ok((volume, truth))
}

/// Writes an int16 volume with a diagonal, positive-spacing affine (as the
/// phantom's) as NIfTI-1 (gzip for `.gz`), atomically. The header layout is
/// that of `nifti::write` (sform and qform both set; the qform is the
/// identity rotation, exact for diagonal affines, which is why others are refused).
pub fn save_ct_nifti(path: &Path, volume: &Volume) -> Result<(), PhantomError> {
    let fail = |message: String| PhantomError::Write {
        path: path.to_owned(),
        message,
    };
    let VoxelData::I16(values) = &volume.data else {
        return Err(fail(format!(
            "data is {}, not int16",
            volume.data.type_name()
        )));
    };
    let m = volume.ras_from_voxel;
    let diag = [m.x_axis.x, m.y_axis.y, m.z_axis.z];
    let off_diag = [
        m.x_axis.y, m.x_axis.z, m.y_axis.x, m.y_axis.z, m.z_axis.x, m.z_axis.y,
    ];
    if off_diag.iter().any(|&x| x != 0.0) || diag.iter().any(|&x| x <= 0.0) {
        return Err(fail(
            "only diagonal affines with positive spacing are written here".into(),
        ));
    }
    if volume.shape.iter().any(|&n| n > i16::MAX as usize) {
        return Err(fail(format!(
            "grid {:?} exceeds NIfTI-1's 32767 per axis",
            volume.shape
        )));
    }
    let mut h = vec![0u8; 352];
    let put = |h: &mut Vec<u8>, at: usize, b: &[u8]| h[at..at + b.len()].copy_from_slice(b);
    put(&mut h, 0, &348i32.to_le_bytes());
    let s = volume.shape;
    for (a, d) in [3, s[0] as i16, s[1] as i16, s[2] as i16, 1, 1, 1, 1]
        .iter()
        .enumerate()
    {
        put(&mut h, 40 + 2 * a, &d.to_le_bytes());
    }
    put(&mut h, 70, &4i16.to_le_bytes()); // int16
    put(&mut h, 72, &16i16.to_le_bytes());
    for (a, p) in [1.0, diag[0], diag[1], diag[2], 0.0, 0.0, 0.0, 0.0]
        .iter()
        .enumerate()
    {
        put(&mut h, 76 + 4 * a, &(*p as f32).to_le_bytes());
    }
    put(&mut h, 108, &352f32.to_le_bytes());
    put(&mut h, 112, &1f32.to_le_bytes());
    put(&mut h, 123, &[2u8]);
    put(&mut h, 148, b"rayseg CT phantom");
    put(&mut h, 252, &1i16.to_le_bytes());
    put(&mut h, 254, &2i16.to_le_bytes());
    let t = m.w_axis;
    for (a, q) in [0.0, 0.0, 0.0, t.x, t.y, t.z].iter().enumerate() {
        put(&mut h, 256 + 4 * a, &(*q as f32).to_le_bytes());
    }
    let rows = m.transpose().to_cols_array_2d();
    for (r, row) in rows.iter().take(3).enumerate() {
        for (c, x) in row.iter().enumerate() {
            put(&mut h, 280 + 16 * r + 4 * c, &(*x as f32).to_le_bytes());
        }
    }
    put(&mut h, 344, b"n+1\0");
    h.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    let io = |source| PhantomError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = crate::atomic_file::temp_file_for(path).map_err(io)?;
    let gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
    if gz {
        let mut enc = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(tmp.as_file_mut()),
            flate2::Compression::new(4),
        );
        enc.write_all(&h).map_err(io)?;
        enc.finish().and_then(|mut w| w.flush()).map_err(io)?;
    } else {
        tmp.write_all(&h).map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
