//! Writing u8 label maps as NIfTI-1, with the image's affine in both the
//! sform and the qform so every reader (nibabel, ITK, FSL) agrees on it.

use std::io::Write;
use std::path::Path;

use glam::{DMat3, DMat4};

use crate::volume::{LoadError, LoadErrorKind, Volume};

const SFORM_ALIGNED_ANAT: i16 = 2;
const QFORM_SCANNER_ANAT: i16 = 1;

/// Saves one u8 label per voxel on `reference`'s grid. `.nii.gz` is compressed.
/// The write is atomic: a temporary file in the same folder, then a rename.
pub fn save_label_map(path: &Path, labels: &[u8], reference: &Volume) -> Result<(), LoadError> {
    let err = |kind| LoadError::new(path, kind);
    if labels.len() != reference.voxel_count() {
        return Err(err(LoadErrorKind::BadOption(format!(
            "label map has {} voxels but the image grid {:?} has {}",
            labels.len(),
            reference.shape,
            reference.voxel_count()
        ))));
    }
    let mut bytes = label_header(reference).map_err(|m| err(LoadErrorKind::BadOption(m)))?;
    bytes.extend_from_slice(labels);
    let gz = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().ends_with(".gz"));
    let io = |e: std::io::Error| LoadError::io(path, e);
    let mut tmp = crate::atomic_file::temp_file_for(path).map_err(io)?;
    if gz {
        let mut enc = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(tmp.as_file_mut()),
            flate2::Compression::new(4),
        );
        enc.write_all(&bytes).map_err(io)?;
        enc.finish().and_then(|mut w| w.flush()).map_err(io)?;
    } else {
        tmp.write_all(&bytes).map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// A 352-byte little-endian NIfTI-1 header (348 + 4 extension bytes) for u8 data.
fn label_header(v: &Volume) -> Result<Vec<u8>, String> {
    if v.shape.iter().any(|&n| n > i16::MAX as usize) {
        return Err(format!(
            "grid {:?} exceeds NIfTI-1's 32767 per axis",
            v.shape
        ));
    }
    let mut h = vec![0u8; 352];
    let put = |h: &mut Vec<u8>, at: usize, b: &[u8]| h[at..at + b.len()].copy_from_slice(b);
    put(&mut h, 0, &348i32.to_le_bytes());
    let dims = [
        3,
        v.shape[0] as i16,
        v.shape[1] as i16,
        v.shape[2] as i16,
        1,
        1,
        1,
        1,
    ];
    for (a, d) in dims.iter().enumerate() {
        put(&mut h, 40 + 2 * a, &d.to_le_bytes());
    }
    put(&mut h, 70, &2i16.to_le_bytes()); // uint8
    put(&mut h, 72, &8i16.to_le_bytes());
    let (quat, offset, qfac, zooms) = quaternion_from_affine(&v.ras_from_voxel);
    let pixdim = [qfac, zooms[0], zooms[1], zooms[2], 0.0, 0.0, 0.0, 0.0];
    for (a, p) in pixdim.iter().enumerate() {
        put(&mut h, 76 + 4 * a, &(*p as f32).to_le_bytes());
    }
    put(&mut h, 108, &352f32.to_le_bytes()); // vox_offset
    put(&mut h, 112, &1f32.to_le_bytes()); // scl_slope: labels are stored as-is
    put(&mut h, 123, &[2u8]); // xyzt_units: mm
    let descrip = b"rayseg label map";
    put(&mut h, 148, descrip);
    put(&mut h, 252, &QFORM_SCANNER_ANAT.to_le_bytes());
    put(&mut h, 254, &SFORM_ALIGNED_ANAT.to_le_bytes());
    for (a, q) in quat.iter().chain(offset.iter()).enumerate() {
        put(&mut h, 256 + 4 * a, &(*q as f32).to_le_bytes());
    }
    let rows = v.ras_from_voxel.transpose().to_cols_array_2d();
    for (r, row) in rows.iter().take(3).enumerate() {
        for (c, x) in row.iter().enumerate() {
            put(&mut h, 280 + 16 * r + 4 * c, &(*x as f32).to_le_bytes());
        }
    }
    put(&mut h, 344, b"n+1\0");
    Ok(h)
}

/// NIfTI's `mat44_to_quatern`: quaternion (b, c, d), offset, qfac and voxel sizes
/// of the closest rotation to the affine's 3×3 part (exact when it has no shear).
fn quaternion_from_affine(m: &DMat4) -> ([f64; 3], [f64; 3], f64, [f64; 3]) {
    let offset = [m.w_axis.x, m.w_axis.y, m.w_axis.z];
    let m3 = DMat3::from_mat4(*m);
    let zooms = [m3.x_axis.length(), m3.y_axis.length(), m3.z_axis.length()]
        .map(|z| if z > 0.0 { z } else { 1.0 });
    let mut r = DMat3::from_cols(
        m3.x_axis / zooms[0],
        m3.y_axis / zooms[1],
        m3.z_axis / zooms[2],
    );
    let qfac = if r.determinant() < 0.0 {
        r.z_axis = -r.z_axis;
        -1.0
    } else {
        1.0
    };
    // Row-major access: r(i, j) = row i, column j.
    let e = |i: usize, j: usize| r.col(j)[i];
    let (r11, r12, r13) = (e(0, 0), e(0, 1), e(0, 2));
    let (r21, r22, r23) = (e(1, 0), e(1, 1), e(1, 2));
    let (r31, r32, r33) = (e(2, 0), e(2, 1), e(2, 2));
    let trace = r11 + r22 + r33 + 1.0;
    let (a, mut b, mut c, mut d);
    if trace > 0.5 {
        a = 0.5 * trace.sqrt();
        b = 0.25 * (r32 - r23) / a;
        c = 0.25 * (r13 - r31) / a;
        d = 0.25 * (r21 - r12) / a;
    } else {
        let xd = 1.0 + r11 - (r22 + r33);
        let yd = 1.0 + r22 - (r11 + r33);
        let zd = 1.0 + r33 - (r11 + r22);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (r12 + r21) / b;
            d = 0.25 * (r13 + r31) / b;
            a = 0.25 * (r32 - r23) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (r12 + r21) / c;
            d = 0.25 * (r23 + r32) / c;
            a = 0.25 * (r13 - r31) / c;
        } else {
            d = 0.5 * zd.sqrt();
            b = 0.25 * (r13 + r31) / d;
            c = 0.25 * (r23 + r32) / d;
            a = 0.25 * (r21 - r12) / d;
        }
        // The quaternion's scalar part must be non-negative (NIfTI stores only b, c, d).
        if a < 0.0 {
            (b, c, d) = (-b, -c, -d);
        }
    }
    ([b, c, d], offset, qfac, zooms)
}
