//! NIfTI-1 (via the `nifti` crate) and NIfTI-2 header parsing into one
//! common form, and the voxel-to-world choice nibabel makes.

use glam::{DMat3, DMat4, DVec3, DVec4};

use crate::volume::LoadErrorKind;

fn bad(message: String) -> LoadErrorKind {
    LoadErrorKind::BadHeader(message)
}

/// The header fields rayseg uses, widened to the NIfTI-2 types.
#[derive(Clone, Debug)]
pub struct Header {
    pub version: u8,
    pub big_endian: bool,
    /// dim[0..8] as stored (dim[0] is the rank).
    pub dim: [i64; 8],
    pub datatype: i16,
    pub bitpix: i16,
    pub pixdim: [f64; 8],
    pub vox_offset: f64,
    pub scl_slope: f64,
    pub scl_inter: f64,
    pub qform_code: i32,
    pub sform_code: i32,
    pub quatern: [f64; 3],
    pub qoffset: [f64; 3],
    pub srow: [[f64; 4]; 3],
    /// Size of the header proper (348 or 540); the data can't start before this + 4.
    pub header_size: usize,
}

pub const NIFTI1_SIZE: usize = 348;
pub const NIFTI2_SIZE: usize = 540;

/// Which header (if any) the first bytes hold, and in which byte order.
pub fn sniff(bytes: &[u8]) -> Option<(u8, bool)> {
    let first: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    for (size, version) in [(NIFTI1_SIZE, 1u8), (NIFTI2_SIZE, 2u8)] {
        if i32::from_le_bytes(first) == size as i32 {
            return Some((version, false));
        }
        if i32::from_be_bytes(first) == size as i32 {
            return Some((version, true));
        }
    }
    None
}

pub fn parse(bytes: &[u8]) -> Result<Header, LoadErrorKind> {
    match sniff(bytes) {
        Some((1, _)) => parse_nifti1(bytes),
        Some((2, big_endian)) => parse_nifti2(bytes, big_endian),
        _ => Err(bad(
            "first four bytes are not a NIfTI-1 (348) or NIfTI-2 (540) header size".into(),
        )),
    }
}

fn parse_nifti1(bytes: &[u8]) -> Result<Header, LoadErrorKind> {
    let raw = bytes.get(..NIFTI1_SIZE).ok_or_else(|| {
        bad(format!(
            "NIfTI-1 header needs 348 bytes, file has {}",
            bytes.len()
        ))
    })?;
    let h =
        nifti::NiftiHeader::from_reader(raw).map_err(|e| bad(format!("NIfTI-1 header: {e}")))?;
    // The crate reads dim as u16; NIfTI-1 stores i16, so values above i16::MAX were negative.
    let mut dim = [0i64; 8];
    for (d, &raw_d) in dim.iter_mut().zip(h.dim.iter()) {
        *d = raw_d as i16 as i64;
    }
    let f = |x: f32| x as f64;
    Ok(Header {
        version: 1,
        big_endian: h.endianness == nifti::Endianness::Big,
        dim,
        datatype: h.datatype,
        bitpix: h.bitpix,
        pixdim: h.pixdim.map(f),
        vox_offset: f(h.vox_offset),
        scl_slope: f(h.scl_slope),
        scl_inter: f(h.scl_inter),
        qform_code: h.qform_code as i32,
        sform_code: h.sform_code as i32,
        quatern: [f(h.quatern_b), f(h.quatern_c), f(h.quatern_d)],
        qoffset: [f(h.quatern_x), f(h.quatern_y), f(h.quatern_z)],
        srow: [h.srow_x.map(f), h.srow_y.map(f), h.srow_z.map(f)],
        header_size: NIFTI1_SIZE,
    })
}

/// Little reader over the 540-byte NIfTI-2 header (the `nifti` crate reads NIfTI-1 only).
struct Fields<'a> {
    bytes: &'a [u8],
    big_endian: bool,
}

impl Fields<'_> {
    fn take<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[at..at + N]);
        if self.big_endian {
            out.reverse();
        }
        out
    }
    fn i16(&self, at: usize) -> i16 {
        i16::from_le_bytes(self.take(at))
    }
    fn i32(&self, at: usize) -> i32 {
        i32::from_le_bytes(self.take(at))
    }
    fn i64(&self, at: usize) -> i64 {
        i64::from_le_bytes(self.take(at))
    }
    fn f64(&self, at: usize) -> f64 {
        f64::from_le_bytes(self.take(at))
    }
}

fn parse_nifti2(bytes: &[u8], big_endian: bool) -> Result<Header, LoadErrorKind> {
    let raw = bytes.get(..NIFTI2_SIZE).ok_or_else(|| {
        bad(format!(
            "NIfTI-2 header needs 540 bytes, file has {}",
            bytes.len()
        ))
    })?;
    if &raw[4..8] != b"n+2\0" && &raw[4..8] != b"ni2\0" {
        return Err(bad("NIfTI-2 magic is not \"n+2\"".into()));
    }
    let r = Fields {
        bytes: raw,
        big_endian,
    };
    let f8 = |base: usize| std::array::from_fn::<f64, 8, _>(|n| r.f64(base + 8 * n));
    let row = |base: usize| std::array::from_fn::<f64, 4, _>(|n| r.f64(base + 8 * n));
    Ok(Header {
        version: 2,
        big_endian,
        dim: std::array::from_fn(|n| r.i64(16 + 8 * n)),
        datatype: r.i16(12),
        bitpix: r.i16(14),
        pixdim: f8(104),
        vox_offset: r.i64(168) as f64,
        scl_slope: r.f64(176),
        scl_inter: r.f64(184),
        qform_code: r.i32(344),
        sform_code: r.i32(348),
        quatern: [r.f64(352), r.f64(360), r.f64(368)],
        qoffset: [r.f64(376), r.f64(384), r.f64(392)],
        srow: [row(400), row(432), row(464)],
        header_size: NIFTI2_SIZE,
    })
}

/// How the voxel-to-world matrix was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AffineSource {
    Sform,
    Qform,
    Pixdim,
}

/// nibabel's `get_best_affine`: sform when its code is set, else qform, else
/// a scaling-only matrix centred on the grid with x flipped.
pub fn best_affine(h: &Header, shape: [usize; 3]) -> Result<(DMat4, AffineSource), LoadErrorKind> {
    if h.sform_code > 0 {
        let [x, y, z] = h.srow;
        let m = DMat4::from_cols(
            DVec4::new(x[0], y[0], z[0], 0.0),
            DVec4::new(x[1], y[1], z[1], 0.0),
            DVec4::new(x[2], y[2], z[2], 0.0),
            DVec4::new(x[3], y[3], z[3], 1.0),
        );
        return Ok((m, AffineSource::Sform));
    }
    if h.qform_code > 0 {
        return Ok((qform_affine(h)?, AffineSource::Qform));
    }
    let mut zooms = [h.pixdim[1], h.pixdim[2], h.pixdim[3]];
    for (a, z) in zooms.iter_mut().enumerate() {
        // nibabel pads missing dimensions with a zoom of 1.
        if h.dim[0] <= a as i64 || *z == 0.0 || !z.is_finite() {
            *z = 1.0;
        }
    }
    zooms[0] = -zooms[0];
    let origin = shape.map(|n| (n as f64 - 1.0) / 2.0);
    let m = DMat4::from_cols(
        DVec4::new(zooms[0], 0.0, 0.0, 0.0),
        DVec4::new(0.0, zooms[1], 0.0, 0.0),
        DVec4::new(0.0, 0.0, zooms[2], 0.0),
        DVec4::new(
            -origin[0] * zooms[0],
            -origin[1] * zooms[1],
            -origin[2] * zooms[2],
            1.0,
        ),
    );
    Ok((m, AffineSource::Pixdim))
}

/// The quaternion form, as nibabel's `get_qform` computes it.
fn qform_affine(h: &Header) -> Result<DMat4, LoadErrorKind> {
    let [b, c, d] = h.quatern;
    // nibabel's fillpositive: tolerate tiny negative w² from float32 rounding.
    let w2 = 1.0 - (b * b + c * c + d * d);
    let a = if w2 < 0.0 {
        if w2 < -3.0 * f32::EPSILON as f64 {
            return Err(bad(format!(
                "qform quaternion ({b}, {c}, {d}) has norm above 1"
            )));
        }
        0.0
    } else {
        w2.sqrt()
    };
    let rot = quat_to_mat(a, b, c, d);
    let mut vox = DVec3::new(h.pixdim[1], h.pixdim[2], h.pixdim[3]);
    if vox.min_element() < 0.0 {
        return Err(bad(format!(
            "pixdim[1..4] = {vox} has a negative voxel size"
        )));
    }
    // qfac is pixdim[0]; nibabel fixes anything but ±1 to 1.
    let qfac = if h.pixdim[0] == -1.0 { -1.0 } else { 1.0 };
    vox.z *= qfac;
    let m3 = rot * DMat3::from_diagonal(vox);
    let mut m = DMat4::from_mat3(m3);
    m.w_axis = DVec4::new(h.qoffset[0], h.qoffset[1], h.qoffset[2], 1.0);
    Ok(m)
}

/// Rotation matrix of the unit quaternion (w, x, y, z), nibabel's `quat2mat`.
fn quat_to_mat(w: f64, x: f64, y: f64, z: f64) -> DMat3 {
    let nq = w * w + x * x + y * y + z * z;
    if nq < f64::EPSILON {
        return DMat3::IDENTITY;
    }
    let s = 2.0 / nq;
    let (xs, ys, zs) = (x * s, y * s, z * s);
    let (wx, wy, wz) = (w * xs, w * ys, w * zs);
    let (xx, xy, xz) = (x * xs, x * ys, x * zs);
    let (yy, yz, zz) = (y * ys, y * zs, z * zs);
    // Row-major [[1-(yy+zz), xy-wz, xz+wy], [xy+wz, 1-(xx+zz), yz-wx], [xz-wy, yz+wx, 1-(xx+yy)]].
    DMat3::from_cols(
        DVec3::new(1.0 - (yy + zz), xy + wz, xz - wy),
        DVec3::new(xy - wz, 1.0 - (xx + zz), yz + wx),
        DVec3::new(xz + wy, yz - wx, 1.0 - (xx + yy)),
    )
}
