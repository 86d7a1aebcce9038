//! NIfTI headers written byte by byte here (independently of the loader) cover
//! every datatype, both byte orders, both versions, scaling and the affine choice.

mod common;

use glam::{DMat4, DVec4};
use rayseg::volume::nifti::load_nifti_bytes;
use rayseg::volume::{LoadOptions, VoxelData};
use std::path::Path;

/// Minimal header description for the writer below.
#[derive(Clone)]
pub struct Spec {
    pub version: u8,
    pub big_endian: bool,
    pub dim: [i64; 8],
    pub datatype: i16,
    pub bitpix: i16,
    pub pixdim: [f64; 8],
    pub vox_offset: f64,
    pub slope: f64,
    pub inter: f64,
    pub qform_code: i32,
    pub sform_code: i32,
    pub quatern: [f64; 6],
    pub srow: [[f64; 4]; 3],
}

impl Spec {
    pub fn new(version: u8, shape: [i64; 3], datatype: i16, bitpix: i16) -> Self {
        Spec {
            version,
            big_endian: false,
            dim: [3, shape[0], shape[1], shape[2], 1, 1, 1, 1],
            datatype,
            bitpix,
            pixdim: [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
            vox_offset: if version == 1 { 352.0 } else { 544.0 },
            slope: 1.0,
            inter: 0.0,
            qform_code: 0,
            sform_code: 0,
            quatern: [0.0; 6],
            srow: [
                [1.0, 0.0, 0.0, 0.0],
                [0.0, 1.0, 0.0, 0.0],
                [0.0, 0.0, 1.0, 0.0],
            ],
        }
    }
}

struct W {
    buf: Vec<u8>,
    be: bool,
}

impl W {
    fn put(&mut self, at: usize, mut bytes: Vec<u8>) {
        if self.be {
            bytes.reverse();
        }
        self.buf[at..at + bytes.len()].copy_from_slice(&bytes);
    }
    fn i16(&mut self, at: usize, v: i16) {
        self.put(at, v.to_le_bytes().to_vec())
    }
    fn i32(&mut self, at: usize, v: i32) {
        self.put(at, v.to_le_bytes().to_vec())
    }
    fn i64(&mut self, at: usize, v: i64) {
        self.put(at, v.to_le_bytes().to_vec())
    }
    fn f32(&mut self, at: usize, v: f64) {
        self.put(at, (v as f32).to_le_bytes().to_vec())
    }
    fn f64(&mut self, at: usize, v: f64) {
        self.put(at, v.to_le_bytes().to_vec())
    }
}

/// Header bytes (348+4 or 540+4), laid out by the NIfTI-1/NIfTI-2 specs.
pub fn header_bytes(s: &Spec) -> Vec<u8> {
    let n = if s.version == 1 { 352 } else { 544 };
    let mut w = W {
        buf: vec![0u8; n],
        be: s.big_endian,
    };
    if s.version == 1 {
        w.i32(0, 348);
        for (a, &d) in s.dim.iter().enumerate() {
            w.i16(40 + 2 * a, d as i16);
        }
        w.i16(70, s.datatype);
        w.i16(72, s.bitpix);
        for (a, &p) in s.pixdim.iter().enumerate() {
            w.f32(76 + 4 * a, p);
        }
        w.f32(108, s.vox_offset);
        w.f32(112, s.slope);
        w.f32(116, s.inter);
        w.i16(252, s.qform_code as i16);
        w.i16(254, s.sform_code as i16);
        for (a, &q) in s.quatern.iter().enumerate() {
            w.f32(256 + 4 * a, q);
        }
        for (r, row) in s.srow.iter().enumerate() {
            for (c, &x) in row.iter().enumerate() {
                w.f32(280 + 16 * r + 4 * c, x);
            }
        }
        w.buf[344..348].copy_from_slice(b"n+1\0");
    } else {
        w.i32(0, 540);
        w.buf[4..12].copy_from_slice(b"n+2\0\r\n\x1a\n");
        w.i16(12, s.datatype);
        w.i16(14, s.bitpix);
        for (a, &d) in s.dim.iter().enumerate() {
            w.i64(16 + 8 * a, d);
        }
        for (a, &p) in s.pixdim.iter().enumerate() {
            w.f64(104 + 8 * a, p);
        }
        w.i64(168, s.vox_offset as i64);
        w.f64(176, s.slope);
        w.f64(184, s.inter);
        w.i32(344, s.qform_code);
        w.i32(348, s.sform_code);
        for (a, &q) in s.quatern.iter().enumerate() {
            w.f64(352 + 8 * a, q);
        }
        for (r, row) in s.srow.iter().enumerate() {
            for (c, &x) in row.iter().enumerate() {
                w.f64(400 + 32 * r + 8 * c, x);
            }
        }
    }
    w.buf
}

fn file_with(s: &Spec, voxels: &[f64], encode: impl Fn(f64) -> Vec<u8>) -> Vec<u8> {
    let mut out = header_bytes(s);
    out.resize(s.vox_offset as usize, 0);
    for &v in voxels {
        let mut b = encode(v);
        if s.big_endian {
            b.reverse();
        }
        out.extend(b);
    }
    out
}

fn load(bytes: &[u8]) -> rayseg::volume::Volume {
    load_nifti_bytes(bytes, Path::new("synthetic.nii"), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

type Encoder = fn(f64) -> Vec<u8>;

#[test]
fn every_datatype_both_orders_both_versions() {
    let cases: [(i16, i16, &str, Encoder); 8] = [
        (2, 8, "uint8", |v| vec![v as u8]),
        (256, 8, "int8", |v| (v as i8).to_le_bytes().to_vec()),
        (4, 16, "int16", |v| (v as i16).to_le_bytes().to_vec()),
        (512, 16, "uint16", |v| (v as u16).to_le_bytes().to_vec()),
        (8, 32, "int32", |v| (v as i32).to_le_bytes().to_vec()),
        (768, 32, "uint32", |v| (v as u32).to_le_bytes().to_vec()),
        (16, 32, "float32", |v| (v as f32).to_le_bytes().to_vec()),
        (64, 64, "float64", |v| v.to_le_bytes().to_vec()),
    ];
    let shape = [3i64, 4, 5];
    for (datatype, bitpix, name, encode) in cases {
        let signed = name.starts_with("int") || name.starts_with("float");
        let voxels: Vec<f64> = (0..60)
            .map(|n| {
                if signed && n % 7 == 0 {
                    -(n as f64)
                } else {
                    n as f64 * 2.0
                }
            })
            .collect();
        for version in [1u8, 2] {
            for big_endian in [false, true] {
                let mut s = Spec::new(version, shape, datatype, bitpix);
                s.big_endian = big_endian;
                let v = load(&file_with(&s, &voxels, encode));
                assert_eq!(v.data.type_name(), name, "v{version} be={big_endian}");
                assert_eq!(v.shape, [3, 4, 5]);
                assert_eq!(v.provenance.format, format!("nifti-{version}"));
                for (n, &want) in voxels.iter().enumerate() {
                    assert_eq!(
                        v.data.get_f64(n),
                        Some(want),
                        "{name} v{version} be={big_endian} #{n}"
                    );
                }
            }
        }
    }
}

#[test]
fn scaling_as_nibabel() {
    let voxels: Vec<f64> = (0..24).map(|n| n as f64 * 100.0).collect();
    let enc: Encoder = |v| (v as u16).to_le_bytes().to_vec();
    // Integral slope/intercept on uint16 (a CT stored with intercept -1024) stays integer.
    let mut s = Spec::new(1, [2, 3, 4], 512, 16);
    s.inter = -1024.0;
    let v = load(&file_with(&s, &voxels, enc));
    assert!(
        matches!(v.data, VoxelData::I16(_)),
        "got {}",
        v.data.type_name()
    );
    assert_eq!(v.data.get_f64(5), Some(500.0 - 1024.0));
    // A fractional slope widens to f64 with the exact product.
    s.slope = 0.5;
    s.inter = 0.25;
    let v = load(&file_with(&s, &voxels, enc));
    assert!(matches!(v.data, VoxelData::F64(_)));
    assert_eq!(v.data.get_f64(3), Some(300.0 * 0.5 + 0.25));
    // Slope 0 means "no scaling" (nibabel), whatever the intercept.
    s.slope = 0.0;
    s.inter = 7.0;
    let v = load(&file_with(&s, &voxels, enc));
    assert!(matches!(v.data, VoxelData::U16(_)));
    assert_eq!(v.data.get_f64(3), Some(300.0));
}

fn affine_rows(m: &DMat4) -> [[f64; 4]; 4] {
    let c = m.to_cols_array_2d();
    std::array::from_fn(|r| std::array::from_fn(|k| c[k][r]))
}

#[test]
fn affine_choice_follows_nibabel() {
    let voxels = vec![0.0; 24];
    let enc: Encoder = |v| vec![v as u8];
    let mut s = Spec::new(1, [2, 3, 4], 2, 8);
    s.pixdim = [1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0];
    // No codes: nibabel's base affine, x flipped, centred on the grid.
    let v = load(&file_with(&s, &voxels, enc));
    let rows = affine_rows(&v.ras_from_voxel);
    assert_eq!(rows[0], [-2.0, 0.0, 0.0, 2.0 * 0.5]);
    assert_eq!(rows[1], [0.0, 3.0, 0.0, -3.0 * 1.0]);
    assert_eq!(rows[2], [0.0, 0.0, 4.0, -4.0 * 1.5]);
    assert!(v.warnings.iter().any(|w| w.contains("pixdim")));

    // qform: 180° about z (b=c=0, d=1) with qfac -1, as nibabel's quat2mat gives.
    s.qform_code = 1;
    s.pixdim[0] = -1.0;
    s.quatern = [0.0, 0.0, 1.0, 10.0, 20.0, 30.0];
    let v = load(&file_with(&s, &voxels, enc));
    let rows = affine_rows(&v.ras_from_voxel);
    assert_eq!(rows[0], [-2.0, 0.0, 0.0, 10.0]);
    assert_eq!(rows[1], [0.0, -3.0, 0.0, 20.0]);
    assert_eq!(rows[2], [0.0, 0.0, -4.0, 30.0]);
    assert_eq!(v.spacing_mm, [2.0, 3.0, 4.0]);

    // sform wins over qform when its code is set.
    s.sform_code = 2;
    s.srow = [
        [0.0, 3.0, 0.0, 1.0],
        [2.0, 0.0, 0.0, 2.0],
        [0.0, 0.0, 4.0, 3.0],
    ];
    let v = load(&file_with(&s, &voxels, enc));
    let rows = affine_rows(&v.ras_from_voxel);
    assert_eq!(rows[0], [0.0, 3.0, 0.0, 1.0]);
    assert_eq!(rows[3], [0.0, 0.0, 0.0, 1.0]);
    assert_eq!(v.ras_from_voxel.col(3), DVec4::new(1.0, 2.0, 3.0, 1.0));
}
