//! Pixel decoding (native and encapsulated) and the modality rescale.
//!
//! Samples are first decoded to i32 stored values (masked to BitsStored and
//! sign-extended), then rescaled into the narrowest exact voxel type.

use dicom_core::DicomValue;
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_pixeldata::PixelDecoder;
use rayon::prelude::*;

use super::header::{ImageHeader, Rescale};
use crate::volume::{LoadErrorKind, VoxelData};

/// A compressed frame may expand at most this much (a blank 512² JPEG 2000
/// frame is a few hundred bytes); beyond that the header is not believed.
const MAX_EXPANSION: u64 = 20_000;
/// Below this decoded size no expansion check is made.
const SMALL_DECODE_BYTES: u64 = 16 << 20;

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
/// JPEG Extended (process 2 & 4): 8-bit goes through dicom-pixeldata,
/// 12-bit through `jpeg12`.
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// Stored values of every frame, frame after frame.
pub(crate) struct StoredFrames {
    pub values: Vec<i32>,
    pub pixels_per_frame: usize,
}

impl StoredFrames {
    pub fn frame(&self, index: usize) -> &[i32] {
        let start = index.saturating_mul(self.pixels_per_frame);
        self.values
            .get(start..start.saturating_add(self.pixels_per_frame))
            .unwrap_or(&[])
    }
}

fn bytes_per_sample(hdr: &ImageHeader) -> usize {
    usize::from(hdr.bits_allocated.div_ceil(8))
}

/// Decodes all frames of `obj`, checking the header against the data first.
pub(crate) fn decode_frames(
    obj: &FileDicomObject<InMemDicomObject>,
    hdr: &ImageHeader,
) -> Result<StoredFrames, LoadErrorKind> {
    let element = obj.get(tags::PIXEL_DATA).ok_or_else(|| {
        LoadErrorKind::NoPixelData("the data set has no PixelData (7FE0,0010)".into())
    })?;
    if hdr.samples_per_pixel != 1 {
        return Err(LoadErrorKind::Unsupported(format!(
            "{} samples per pixel ({}): only greyscale images are supported",
            hdr.samples_per_pixel, hdr.photometric
        )));
    }
    let needed = hdr.native_pixel_bytes().ok_or_else(|| {
        LoadErrorKind::BadHeader(format!(
            "Rows {} × Columns {} × {} frames overflows",
            hdr.rows, hdr.columns, hdr.frames
        ))
    })?;
    let pixels_per_frame = hdr.pixels_per_frame();
    let total = pixels_per_frame
        .checked_mul(hdr.frames as usize)
        .ok_or_else(|| LoadErrorKind::BadHeader("image size overflows".into()))?;
    match element.value() {
        DicomValue::Primitive(value) => {
            let big_endian = super::transfer_syntax(obj) == super::syntax::EXPLICIT_BE;
            let bytes = native_sample_bytes(value, hdr.bits_allocated, big_endian);
            if (bytes.len() as u64) < needed {
                return Err(claim_exceeds_data(hdr, needed, bytes.len() as u64));
            }
            let values = samples_to_i32(&bytes, hdr, total)?;
            Ok(StoredFrames {
                values,
                pixels_per_frame,
            })
        }
        DicomValue::PixelSequence(seq) => {
            let fragments = seq.fragments();
            let compressed: u64 = fragments.iter().map(|f| f.len() as u64).sum();
            if (fragments.len() as u64) < u64::from(hdr.frames) {
                return Err(LoadErrorKind::BadHeader(format!(
                    "NumberOfFrames {} but the encapsulated pixel data holds only {} fragment(s)",
                    hdr.frames,
                    fragments.len()
                )));
            }
            if needed > SMALL_DECODE_BYTES && needed / MAX_EXPANSION.max(1) > compressed {
                return Err(claim_exceeds_data(hdr, needed, compressed));
            }
            let frame_bytes = pixels_per_frame * bytes_per_sample(hdr);
            let syntax = super::transfer_syntax(obj);
            let is_rle = syntax == RLE_LOSSLESS;
            let is_jpeg12 = syntax == JPEG_EXTENDED && hdr.bits_stored > 8;
            if is_jpeg12 && hdr.bits_allocated != 16 {
                return Err(LoadErrorKind::Unsupported(format!(
                    "12-bit JPEG with BitsAllocated {} (16 expected)",
                    hdr.bits_allocated
                )));
            }
            // One frame may span several fragments; with more frames the
            // fragment-to-frame mapping would need the offset table.
            let single_frame_stream: Option<Vec<u8>> =
                (is_jpeg12 && hdr.frames == 1 && fragments.len() > 1).then(|| fragments.concat());
            if is_jpeg12 && hdr.frames > 1 && fragments.len() != hdr.frames as usize {
                return Err(LoadErrorKind::Unsupported(format!(
                    "12-bit JPEG with {} fragments for {} frames: frames split over several \
                     fragments are not supported",
                    fragments.len(),
                    hdr.frames
                )));
            }
            let frames: Vec<Vec<i32>> = (0..hdr.frames)
                .into_par_iter()
                .map(|f| {
                    if is_rle {
                        let fragment = fragments.get(f as usize).map_or(&[][..], |v| &v[..]);
                        let data = super::rle::decode_frame(
                            fragment,
                            pixels_per_frame,
                            bytes_per_sample(hdr),
                        )
                        .map_err(|e| LoadErrorKind::Corrupt(format!("frame {f}: {e}")))?;
                        return samples_to_i32(&data, hdr, pixels_per_frame);
                    }
                    if is_jpeg12 {
                        let fragment = match &single_frame_stream {
                            Some(stream) => &stream[..],
                            None => fragments.get(f as usize).map_or(&[][..], |v| &v[..]),
                        };
                        let data = super::jpeg12::decode_frame(fragment, hdr.rows, hdr.columns)
                            .map_err(|e| LoadErrorKind::Corrupt(format!("frame {f}: {e}")))?;
                        return samples_to_i32(&data, hdr, pixels_per_frame);
                    }
                    let decoded = super::guard(|| obj.decode_pixel_data_frame(f))
                        .map_err(|panic| {
                            LoadErrorKind::Corrupt(format!("frame {f}: codec failed: {panic}"))
                        })?
                        .map_err(|e| {
                            let why = format!("cannot decode frame {f}: {}", error_chain(&e));
                            // e.g. a JPEG process that jpeg-decoder does not implement.
                            if why.to_ascii_lowercase().contains("unsupported") {
                                LoadErrorKind::Unsupported(why)
                            } else {
                                LoadErrorKind::Corrupt(why)
                            }
                        })?;
                    let data = decoded.data();
                    if data.len() < frame_bytes {
                        return Err(LoadErrorKind::Corrupt(format!(
                            "frame {f} decoded to {} bytes, {frame_bytes} expected",
                            data.len()
                        )));
                    }
                    samples_to_i32(data, hdr, pixels_per_frame)
                })
                .collect::<Result<_, _>>()?;
            Ok(StoredFrames {
                values: frames.concat(),
                pixels_per_frame,
            })
        }
        DicomValue::Sequence(_) => Err(LoadErrorKind::Corrupt(
            "PixelData (7FE0,0010) is a sequence".into(),
        )),
    }
}

/// Native pixel data as samples in this machine's byte order. dicom-parser
/// reads OW as 16-bit words (swapped from big endian) and OB as bytes: right
/// for 8- and 16-bit samples, but a big-endian file's 32-bit samples come out
/// as two swapped halves (OW) or not swapped at all (OB).
fn native_sample_bytes(
    value: &dicom_core::PrimitiveValue,
    bits_allocated: u16,
    big_endian: bool,
) -> std::borrow::Cow<'_, [u8]> {
    use dicom_core::PrimitiveValue;
    let bytes = value.to_bytes();
    if !big_endian || cfg!(target_endian = "big") {
        return bytes;
    }
    let swap = |width: usize, f: fn(&mut [u8])| {
        let mut owned = bytes.to_vec();
        owned.chunks_exact_mut(width).for_each(f);
        std::borrow::Cow::Owned(owned)
    };
    match (value, bits_allocated) {
        (PrimitiveValue::U16(_), 32) => swap(4, |c| c.rotate_left(2)),
        (PrimitiveValue::U8(_), 32) => swap(4, |c| c.reverse()),
        (PrimitiveValue::U8(_), 16) => swap(2, |c| c.reverse()),
        _ => bytes,
    }
}

fn claim_exceeds_data(hdr: &ImageHeader, needed: u64, available: u64) -> LoadErrorKind {
    LoadErrorKind::BadHeader(format!(
        "Rows {} × Columns {} × {} frame(s) × {} bits need {needed} bytes of pixel data \
         but the file holds {available}",
        hdr.rows, hdr.columns, hdr.frames, hdr.bits_allocated
    ))
}

/// Native-endian samples to stored values: masked to BitsStored, sign-extended.
fn samples_to_i32(
    bytes: &[u8],
    hdr: &ImageHeader,
    count: usize,
) -> Result<Vec<i32>, LoadErrorKind> {
    let bits = u32::from(hdr.bits_stored);
    let signed = hdr.signed;
    let mask: u64 = if bits >= 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << bits) - 1
    };
    let sign_bit: u64 = 1u64 << (bits.max(1) - 1);
    let extend = move |raw: u64| -> i64 {
        let v = raw & mask;
        if signed && v & sign_bit != 0 {
            v as i64 - (mask as i64 + 1)
        } else {
            v as i64
        }
    };
    let values: Vec<i32> = match hdr.bits_allocated {
        1 => bytes
            .iter()
            .flat_map(|&byte| (0..8).map(move |bit| i32::from((byte >> bit) & 1)))
            .take(count)
            .collect(),
        8 => bytes
            .iter()
            .take(count)
            .map(|&b| extend(u64::from(b)) as i32)
            .collect(),
        16 => bytes
            .chunks_exact(2)
            .take(count)
            .map(|c| extend(u64::from(u16::from_ne_bytes([c[0], c[1]]))) as i32)
            .collect(),
        32 => {
            let wide: Vec<i64> = bytes
                .chunks_exact(4)
                .take(count)
                .map(|c| extend(u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))))
                .collect();
            if wide.iter().any(|&v| i32::try_from(v).is_err()) {
                return Err(LoadErrorKind::Unsupported(
                    "32-bit unsigned pixel values above 2³¹".into(),
                ));
            }
            wide.into_iter().map(|v| v as i32).collect()
        }
        other => {
            return Err(LoadErrorKind::Unsupported(format!("BitsAllocated {other}")));
        }
    };
    if values.len() < count {
        return Err(LoadErrorKind::Corrupt(format!(
            "pixel data holds {} samples, {count} expected",
            values.len()
        )));
    }
    Ok(values)
}

/// Rescales the slices (each with its own rescale) into one voxel buffer.
///
/// No rescale: the stored type. Integral and shared: the narrowest of
/// I16/I32 that holds the actual range. Otherwise F64, so nothing is lost.
pub(crate) fn assemble(slices: &[(&[i32], Rescale)], hdr: &ImageHeader) -> VoxelData {
    let total: usize = slices.iter().map(|(s, _)| s.len()).sum();
    let all = || slices.iter().flat_map(|(s, _)| s.iter().copied());
    if let Some(lut) = &hdr.modality_lut {
        return lut.apply(all(), total);
    }
    let first = slices.first().map_or(Rescale::IDENTITY, |(_, r)| *r);
    let shared = slices.iter().all(|(_, r)| *r == first);
    if shared && first.is_identity() {
        return stored_type(all(), total, hdr);
    }
    if shared && first.is_integral() {
        let (lo, hi) = all().fold((i32::MAX, i32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let a = f64::from(lo) * first.slope + first.intercept;
        let b = f64::from(hi) * first.slope + first.intercept;
        let (min, max) = (a.min(b), a.max(b));
        let (slope, intercept) = (first.slope as i64, first.intercept as i64);
        let scale = |v: i32| i64::from(v) * slope + intercept;
        if min >= f64::from(i16::MIN) && max <= f64::from(i16::MAX) {
            return VoxelData::I16(all().map(|v| scale(v) as i16).collect());
        }
        if min >= f64::from(i32::MIN) && max <= f64::from(i32::MAX) {
            return VoxelData::I32(all().map(|v| scale(v) as i32).collect());
        }
    }
    let mut out = Vec::with_capacity(total);
    for (values, r) in slices {
        out.extend(values.iter().map(|&v| f64::from(v) * r.slope + r.intercept));
    }
    VoxelData::F64(out)
}

fn stored_type(values: impl Iterator<Item = i32>, total: usize, hdr: &ImageHeader) -> VoxelData {
    // Values were masked/sign-extended to BitsStored, so these casts are exact.
    match (hdr.bits_allocated, hdr.signed) {
        (1, _) | (8, false) => VoxelData::U8(collect(values, total, |v| v as u8)),
        (8, true) => VoxelData::I8(collect(values, total, |v| v as i8)),
        (16, false) => VoxelData::U16(collect(values, total, |v| v as u16)),
        (16, true) => VoxelData::I16(collect(values, total, |v| v as i16)),
        (_, false) => VoxelData::U32(collect(values, total, |v| v as u32)),
        (_, true) => VoxelData::I32(collect(values, total, |v| v)),
    }
}

fn collect<T>(values: impl Iterator<Item = i32>, total: usize, f: impl Fn(i32) -> T) -> Vec<T> {
    let mut out = Vec::with_capacity(total);
    out.extend(values.map(f));
    out
}

/// An error with its sources, which carry the codec's actual complaint.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
