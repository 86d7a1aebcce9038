//! Pixel decoding (native and encapsulated) and the modality rescale.
//!
//! Samples are first decoded to i32 stored values (masked to BitsStored and
//! sign-extended), then rescaled into the narrowest exact voxel type.

use dicom_core::DicomValue;
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_pixeldata::PixelDecoder;
use rayon::prelude::*;

use std::borrow::Cow;

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

/// The samples of every frame at their stored width, in this machine's byte
/// order: borrowed from the parsed object for native pixel data, one buffer
/// per frame for encapsulated data. Stored values (masked to BitsStored,
/// sign-extended) are made one frame at a time, so decoding holds the samples
/// once plus the output, never a 4-byte copy of the whole volume.
pub(crate) struct StoredFrames<'a> {
    samples: Samples<'a>,
    pub pixels_per_frame: usize,
    frames: usize,
    format: SampleFormat,
}

enum Samples<'a> {
    Contiguous(Cow<'a, [u8]>),
    PerFrame(Vec<Vec<u8>>),
}

#[derive(Clone, Copy)]
struct SampleFormat {
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
}

impl SampleFormat {
    fn of(hdr: &ImageHeader) -> Self {
        SampleFormat {
            bits_allocated: hdr.bits_allocated,
            bits_stored: hdr.bits_stored,
            signed: hdr.signed,
        }
    }
}

impl StoredFrames<'_> {
    /// Stored values of frame `index`.
    pub fn frame(&self, index: usize) -> Result<Vec<i32>, LoadErrorKind> {
        let ppf = self.pixels_per_frame;
        if index >= self.frames {
            return Err(LoadErrorKind::Corrupt(format!(
                "frame {index} of {} requested",
                self.frames
            )));
        }
        match &self.samples {
            Samples::Contiguous(bytes) if self.format.bits_allocated == 1 => {
                Ok(unpack_bits(bytes, index * ppf, ppf))
            }
            Samples::Contiguous(bytes) => {
                let width = usize::from(self.format.bits_allocated / 8);
                let frame = bytes.get(index * ppf * width..).unwrap_or(&[]);
                samples_to_i32(frame, self.format, ppf)
            }
            Samples::PerFrame(frames) => samples_to_i32(&frames[index], self.format, ppf),
        }
    }

    /// The same frames owning their samples (a series keeps them while its
    /// files' parsed objects are dropped).
    pub fn into_owned(self) -> StoredFrames<'static> {
        StoredFrames {
            samples: match self.samples {
                Samples::Contiguous(bytes) => Samples::Contiguous(Cow::Owned(bytes.into_owned())),
                Samples::PerFrame(frames) => Samples::PerFrame(frames),
            },
            pixels_per_frame: self.pixels_per_frame,
            frames: self.frames,
            format: self.format,
        }
    }
}

/// `count` one-bit samples from bit `start` on (BitsAllocated 1 packs frames
/// without padding, least significant bit first).
fn unpack_bits(bytes: &[u8], start: usize, count: usize) -> Vec<i32> {
    (start..start + count)
        .map(|bit| {
            bytes
                .get(bit / 8)
                .map_or(0, |byte| i32::from((byte >> (bit % 8)) & 1))
        })
        .collect()
}

fn bytes_per_sample(hdr: &ImageHeader) -> usize {
    usize::from(hdr.bits_allocated.div_ceil(8))
}

/// Decodes all frames of `obj`, checking the header against the data first.
pub(crate) fn decode_frames<'a>(
    obj: &'a FileDicomObject<InMemDicomObject>,
    hdr: &ImageHeader,
) -> Result<StoredFrames<'a>, LoadErrorKind> {
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
    pixels_per_frame
        .checked_mul(hdr.frames as usize)
        .ok_or_else(|| LoadErrorKind::BadHeader("image size overflows".into()))?;
    let stored = |samples| StoredFrames {
        samples,
        pixels_per_frame,
        frames: hdr.frames as usize,
        format: SampleFormat::of(hdr),
    };
    match element.value() {
        DicomValue::Primitive(value) => {
            let big_endian = super::transfer_syntax(obj) == super::syntax::EXPLICIT_BE;
            let bytes = native_sample_bytes(value, hdr.bits_allocated, big_endian);
            if (bytes.len() as u64) < needed {
                return Err(claim_exceeds_data(hdr, needed, bytes.len() as u64));
            }
            Ok(stored(Samples::Contiguous(bytes)))
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
            if super::jpeg2k::is_jpeg2000(&syntax) {
                for fragment in fragments {
                    super::jpeg2k::check_fragment(
                        fragment,
                        hdr.rows,
                        hdr.columns,
                        hdr.samples_per_pixel,
                    )?;
                }
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
            let frames: Vec<Vec<u8>> = (0..hdr.frames)
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
                        return Ok(data);
                    }
                    if is_jpeg12 {
                        let fragment = match &single_frame_stream {
                            Some(stream) => &stream[..],
                            None => fragments.get(f as usize).map_or(&[][..], |v| &v[..]),
                        };
                        return super::jpeg12::decode_frame(fragment, hdr.rows, hdr.columns)
                            .map_err(|e| LoadErrorKind::Corrupt(format!("frame {f}: {e}")));
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
                    Ok(data[..frame_bytes].to_vec())
                })
                .collect::<Result<_, _>>()?;
            Ok(stored(Samples::PerFrame(frames)))
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
    format: SampleFormat,
    count: usize,
) -> Result<Vec<i32>, LoadErrorKind> {
    let bits = u32::from(format.bits_stored);
    let signed = format.signed;
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
    let values: Vec<i32> = match format.bits_allocated {
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

/// One slice of the output volume: frame `index` of `frames`, with its rescale.
pub(crate) struct Slice<'f, 'a> {
    pub frames: &'f StoredFrames<'a>,
    pub index: usize,
    pub rescale: Rescale,
}

/// Rescales the slices (each with its own rescale) into one voxel buffer,
/// decoding one frame's stored values at a time.
///
/// A Modality LUT: its output type. No rescale: the stored type. Integral
/// and shared: the narrowest of I16/I32 that holds the actual range.
/// Otherwise F64, so nothing is lost.
pub(crate) fn assemble(slices: &[Slice], hdr: &ImageHeader) -> Result<VoxelData, LoadErrorKind> {
    let ppf = slices.first().map_or(0, |s| s.frames.pixels_per_frame);
    let total = ppf * slices.len();
    if let Some(lut) = &hdr.modality_lut {
        return Ok(if lut.fits_u8() {
            VoxelData::U8(gather(slices, total, |v, _| lut.map(v) as u8)?)
        } else {
            VoxelData::U16(gather(slices, total, |v, _| lut.map(v))?)
        });
    }
    let first = slices.first().map_or(Rescale::IDENTITY, |s| s.rescale);
    let shared = slices.iter().all(|s| s.rescale == first);
    if shared && first.is_identity() {
        // Values were masked/sign-extended to BitsStored, so these casts are exact.
        return Ok(match (hdr.bits_allocated, hdr.signed) {
            (1, _) | (8, false) => VoxelData::U8(gather(slices, total, |v, _| v as u8)?),
            (8, true) => VoxelData::I8(gather(slices, total, |v, _| v as i8)?),
            (16, false) => VoxelData::U16(gather(slices, total, |v, _| v as u16)?),
            (16, true) => VoxelData::I16(gather(slices, total, |v, _| v as i16)?),
            (_, false) => VoxelData::U32(gather(slices, total, |v, _| v as u32)?),
            (_, true) => VoxelData::I32(gather(slices, total, |v, _| v)?),
        });
    }
    if shared && first.is_integral() {
        let (mut lo, mut hi) = (i32::MAX, i32::MIN);
        for s in slices {
            for v in s.frames.frame(s.index)? {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        let a = f64::from(lo) * first.slope + first.intercept;
        let b = f64::from(hi) * first.slope + first.intercept;
        let (min, max) = (a.min(b), a.max(b));
        let (slope, intercept) = (first.slope as i64, first.intercept as i64);
        let scale = |v: i32| i64::from(v) * slope + intercept;
        if min >= f64::from(i16::MIN) && max <= f64::from(i16::MAX) {
            return Ok(VoxelData::I16(gather(slices, total, |v, _| {
                scale(v) as i16
            })?));
        }
        if min >= f64::from(i32::MIN) && max <= f64::from(i32::MAX) {
            return Ok(VoxelData::I32(gather(slices, total, |v, _| {
                scale(v) as i32
            })?));
        }
    }
    Ok(VoxelData::F64(gather(slices, total, |v, r| {
        f64::from(v) * r.slope + r.intercept
    })?))
}

/// Every slice's stored values, mapped, one frame decoded at a time.
fn gather<T>(
    slices: &[Slice],
    total: usize,
    f: impl Fn(i32, Rescale) -> T,
) -> Result<Vec<T>, LoadErrorKind> {
    let mut out = Vec::with_capacity(total);
    for s in slices {
        let values = s.frames.frame(s.index)?;
        out.extend(values.into_iter().map(|v| f(v, s.rescale)));
    }
    Ok(out)
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
