//! Reading a Segmentation (BINARY, FRACTIONAL thresholded at half its
//! maximum, or LABELMAP) into one u8 label map on the Segmentation's own
//! grid: in-plane axes from PlaneOrientation and PixelSpacing, the slice
//! axis along the normal with SpacingBetweenSlices (else the smallest step
//! between frame positions), every frame placed by its ImagePositionPatient,
//! whatever the frames' order and however few slices they cover. Frames
//! whose positions move sideways slice by slice (a gantry-tilted source)
//! give a sheared slice axis, as the image loader gives such a series.
//!
//! Labels: the value rayseg wrote in SegmentDescription, else the segment
//! number, else the smallest free value. Overlapping segments are flattened,
//! the higher segment number winning, with a warning.

use std::borrow::Cow;

use dicom_dictionary_std::tags;
use glam::{DMat4, DVec3, DVec4};
use thiserror::Error;

use super::dataset::{Object, first_item, get_f64s, get_int, get_str, items};
use super::segment::{ReadSegment, read_segment_item};
use super::write::{LABEL_MAP_SEGMENTATION_STORAGE, SEGMENTATION_STORAGE};

/// Positions within this fraction of a voxel of the grid are on it.
const ON_GRID_VOXELS: f64 = 0.1;
/// Largest grid allocated for the frames' extent (2 Gi voxels, one byte each).
const MAX_GRID_VOXELS: usize = 1 << 31;
/// Frames further apart than this (voxels) are refused before any grid is sized.
const MAX_OFFSET_VOXELS: f64 = 1e7;
/// A sideways drift below this (mm per slice) is DS rounding, not a tilt.
const SHEAR_TOLERANCE_MM: f64 = 1e-4;

#[derive(Debug, Error, PartialEq)]
#[error("{0}")]
pub struct ReadError(pub String);

fn bad<T>(message: impl Into<String>) -> Result<T, ReadError> {
    Err(ReadError(message.into()))
}

/// What kind of Segmentation it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadType {
    Binary,
    /// With its MaximumFractionalValue.
    Fractional(u16),
    Labelmap,
}

/// The frames' pixels: native PixelData, or frames decoded by the caller
/// from an encapsulated (compressed) transfer syntax.
pub enum Pixels<'a> {
    Native(&'a [u8]),
    Frames(Vec<Vec<u8>>),
}

/// The attributes that say how to decode, read before any pixel.
#[derive(Clone, Debug)]
pub struct SegHeader {
    pub kind: ReadType,
    pub rows: usize,
    pub columns: usize,
    pub frames: usize,
    pub bits_allocated: u16,
}

/// A Segmentation as a label map on its own grid.
#[derive(Clone, Debug)]
pub struct SegGrid {
    pub shape: [usize; 3],
    pub ras_from_voxel: DMat4,
    /// One label per voxel, `i` fastest.
    pub labels: Vec<u8>,
    /// Every described segment and its label.
    pub segments: Vec<(u8, ReadSegment)>,
    pub warnings: Vec<String>,
}

/// True for the SOP classes read here.
pub fn is_segmentation_class(uid: &str) -> bool {
    let uid = uid.trim_end_matches(['\0', ' ']);
    uid == SEGMENTATION_STORAGE || uid == LABEL_MAP_SEGMENTATION_STORAGE
}

/// The header checks: type, sizes and bit depth.
pub fn header(obj: &Object) -> Result<SegHeader, ReadError> {
    let class = get_str(obj, tags::SOP_CLASS_UID).unwrap_or_default();
    if !is_segmentation_class(&class) {
        return bad(format!("SOP Class {class:?} is not a Segmentation"));
    }
    let type_name = get_str(obj, tags::SEGMENTATION_TYPE).unwrap_or_default();
    let bits_allocated = get_int(obj, tags::BITS_ALLOCATED)
        .and_then(|b| u16::try_from(b).ok())
        .unwrap_or(0);
    let kind = match type_name.as_str() {
        "BINARY" => ReadType::Binary,
        "LABELMAP" => ReadType::Labelmap,
        "FRACTIONAL" => {
            let max = get_int(obj, tags::MAXIMUM_FRACTIONAL_VALUE).unwrap_or(0);
            match u16::try_from(max) {
                Ok(m @ 1..) => ReadType::Fractional(m),
                _ => return bad(format!("FRACTIONAL with MaximumFractionalValue {max}")),
            }
        }
        other => {
            return bad(format!(
                "SegmentationType {other:?} is not BINARY, FRACTIONAL or LABELMAP"
            ));
        }
    };
    let bits_ok = match kind {
        ReadType::Binary => bits_allocated == 1,
        ReadType::Fractional(_) => bits_allocated == 8,
        ReadType::Labelmap => bits_allocated == 8 || bits_allocated == 16,
    };
    if !bits_ok {
        return bad(format!("{type_name} with BitsAllocated {bits_allocated}"));
    }
    // Rows and Columns are US: at most 65535, so a frame's size never overflows.
    let dim = |tag| {
        get_int(obj, tag)
            .and_then(|v| u16::try_from(v).ok())
            .filter(|&v| v > 0)
            .map(usize::from)
    };
    let (Some(rows), Some(columns)) = (dim(tags::ROWS), dim(tags::COLUMNS)) else {
        return bad("no Rows or Columns");
    };
    let frames = get_int(obj, tags::NUMBER_OF_FRAMES)
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| v > 0)
        .unwrap_or(1);
    Ok(SegHeader {
        kind,
        rows,
        columns,
        frames,
        bits_allocated,
    })
}

/// Geometry and segment of one frame, per-frame groups over shared ones.
struct FrameInfo {
    position: DVec3,
    segment: Option<u16>,
}

fn group_value<T>(
    shared: Option<&Object>,
    frame: Option<&Object>,
    get: impl Fn(&Object) -> Option<T>,
) -> Option<T> {
    frame.and_then(&get).or_else(|| shared.and_then(&get))
}

fn orientation_of(group: &Object) -> Option<[f64; 6]> {
    let o = first_item(group, tags::PLANE_ORIENTATION_SEQUENCE)?;
    get_f64s(o, tags::IMAGE_ORIENTATION_PATIENT)?
        .try_into()
        .ok()
}

fn measures_of(group: &Object) -> Option<&Object> {
    first_item(group, tags::PIXEL_MEASURES_SEQUENCE)
}

fn position_of(group: &Object) -> Option<DVec3> {
    let p = get_f64s(
        first_item(group, tags::PLANE_POSITION_SEQUENCE)?,
        tags::IMAGE_POSITION_PATIENT,
    )?;
    Some(DVec3::new(*p.first()?, *p.get(1)?, *p.get(2)?))
}

fn segment_of(group: &Object) -> Option<u16> {
    let s = first_item(group, tags::SEGMENT_IDENTIFICATION_SEQUENCE)?;
    u16::try_from(get_int(s, tags::REFERENCED_SEGMENT_NUMBER)?).ok()
}

/// The bytes the native PixelData must hold at least.
pub fn native_bytes_needed(h: &SegHeader) -> Option<usize> {
    let pixels = h.frames.checked_mul(h.rows)?.checked_mul(h.columns)?;
    match h.bits_allocated {
        1 => Some(pixels.div_ceil(8)),
        8 => Some(pixels),
        _ => pixels.checked_mul(2),
    }
}

/// A frame's value at pixel `p` (row-major), for any bit depth.
fn value_at(pixels: &Pixels, h: &SegHeader, frame: usize, p: usize) -> u16 {
    let per_frame = h.rows * h.columns;
    match pixels {
        Pixels::Native(bytes) => {
            let n = frame * per_frame + p;
            match h.bits_allocated {
                1 => u16::from((bytes[n / 8] >> (n % 8)) & 1),
                8 => u16::from(bytes[n]),
                _ => u16::from_le_bytes([bytes[2 * n], bytes[2 * n + 1]]),
            }
        }
        Pixels::Frames(frames) => {
            let f = &frames[frame];
            match h.bits_allocated {
                8 => u16::from(f[p]),
                _ => u16::from_le_bytes([f[2 * p], f[2 * p + 1]]),
            }
        }
    }
}

/// Segment number → label, as the module notes say.
fn assign_labels(
    segments: &[ReadSegment],
    warnings: &mut Vec<String>,
) -> Result<Vec<u8>, ReadError> {
    let mut taken = [false; 256];
    taken[0] = true;
    let mut labels: Vec<Option<u8>> = vec![None; segments.len()];
    let preferred: [fn(&ReadSegment) -> Option<u8>; 2] = [
        |s| s.rayseg_label,
        |s| u8::try_from(s.number).ok().filter(|&n| n != 0),
    ];
    for prefer in preferred {
        for (n, s) in segments.iter().enumerate() {
            if labels[n].is_none()
                && let Some(v) = prefer(s)
                && !taken[v as usize]
            {
                taken[v as usize] = true;
                labels[n] = Some(v);
            }
        }
    }
    let mut free = (1..=255u8).filter(|&v| !taken[v as usize]);
    segments
        .iter()
        .zip(labels)
        .map(|(s, l)| match l {
            Some(l) => Ok(l),
            None => {
                let Some(v) = free.next() else {
                    return bad(format!(
                        "{} segments: more than the 255 labels a rayseg label map holds",
                        segments.len()
                    ));
                };
                warnings.push(format!(
                    "segment {} ({:?}) is label {v} here: its number is taken or out of 1..=255",
                    s.number, s.name
                ));
                Ok(v)
            }
        })
        .collect()
}

/// Reads the label map of a parsed Segmentation whose pixels are `pixels`.
pub fn read_segmentation(
    obj: &Object,
    h: &SegHeader,
    pixels: &Pixels,
) -> Result<SegGrid, ReadError> {
    let mut warnings = Vec::new();
    match pixels {
        Pixels::Native(bytes) => {
            let need =
                native_bytes_needed(h).ok_or_else(|| ReadError("frame sizes overflow".into()))?;
            if bytes.len() < need {
                return bad(format!(
                    "PixelData holds {} bytes; {} frames of {}×{} at {} bit(s) need {need}",
                    bytes.len(),
                    h.frames,
                    h.columns,
                    h.rows,
                    h.bits_allocated
                ));
            }
        }
        Pixels::Frames(frames) => {
            let per_frame = h.rows * h.columns * usize::from(h.bits_allocated / 8);
            if frames.len() != h.frames || frames.iter().any(|f| f.len() < per_frame) {
                return bad("decoded frames do not match NumberOfFrames, Rows and Columns");
            }
        }
    }

    // Segments and their labels.
    let described: Vec<ReadSegment> = items(obj, tags::SEGMENT_SEQUENCE)
        .iter()
        .filter_map(read_segment_item)
        .filter(|s| !(h.kind == ReadType::Labelmap && s.number == 0))
        .collect();
    let labels_of = assign_labels(&described, &mut warnings)?;
    let mut label_of_number = vec![0u8; 65_536];
    for (s, &l) in described.iter().zip(&labels_of) {
        label_of_number[usize::from(s.number)] = l;
    }

    // Geometry: shared groups, per-frame groups, then the top level.
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let frame_group = |f: usize| per_frame.get(f);
    let orientation = group_value(shared, frame_group(0), orientation_of).or_else(|| {
        get_f64s(obj, tags::IMAGE_ORIENTATION_PATIENT)?
            .try_into()
            .ok()
    });
    let Some(orientation) = orientation else {
        return bad("no ImageOrientationPatient (PlaneOrientationSequence)");
    };
    let measures = |f: usize, tag| {
        group_value(shared, frame_group(f), |g| {
            measures_of(g).and_then(|m| get_f64s(m, tag))
        })
        .or_else(|| get_f64s(obj, tag))
    };
    let Some(pixel_spacing) =
        measures(0, tags::PIXEL_SPACING).filter(|v| v.len() == 2 && v.iter().all(|&x| x > 0.0))
    else {
        return bad("no usable PixelSpacing (PixelMeasuresSequence)");
    };
    let (ps_row, ps_col) = (pixel_spacing[0], pixel_spacing[1]);
    let row = DVec3::new(orientation[0], orientation[1], orientation[2]).normalize_or_zero();
    let col = DVec3::new(orientation[3], orientation[4], orientation[5]).normalize_or_zero();
    let normal = row.cross(col);
    if normal.length() < 0.99 {
        return bad("ImageOrientationPatient cosines are not perpendicular unit vectors");
    }
    let mut infos = Vec::with_capacity(h.frames);
    for f in 0..h.frames {
        let g = frame_group(f);
        if let Some(o) = g.and_then(orientation_of)
            && o.iter()
                .zip(&orientation)
                .any(|(a, b)| (a - b).abs() > 1e-3)
        {
            return bad(format!(
                "frame {} has another orientation than frame 1",
                f + 1
            ));
        }
        let Some(position) = group_value(shared, g, position_of) else {
            return bad(format!("frame {} has no ImagePositionPatient", f + 1));
        };
        infos.push(FrameInfo {
            position,
            segment: group_value(shared, g, segment_of),
        });
    }

    // The slice axis: distinct positions along the normal, and their step.
    let along: Vec<f64> = infos.iter().map(|i| i.position.dot(normal)).collect();
    let mut distinct = along.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
    let spacing_between = measures(0, tags::SPACING_BETWEEN_SLICES)
        .and_then(|v| v.first().copied())
        .filter(|&s| s > 0.0);
    let smallest_step = distinct
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    let dz = spacing_between
        .or(smallest_step.is_finite().then_some(smallest_step))
        .or_else(|| measures(0, tags::SLICE_THICKNESS).and_then(|v| v.first().copied()))
        .filter(|&s| s > 0.0)
        .unwrap_or(1.0);
    let lowest = infos
        .iter()
        .zip(&along)
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i.position)
        .unwrap_or(DVec3::ZERO);
    let slice_of = |p: DVec3| (p - lowest).dot(normal) / dz;
    let nk_float = distinct.last().map_or(0.0, |&l| (l - distinct[0]) / dz);
    // Sideways drift per slice, from the frames at both ends.
    let highest = infos
        .iter()
        .zip(&along)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i.position)
        .unwrap_or(lowest);
    let drift = highest - lowest - normal * (highest - lowest).dot(normal);
    let shear = if nk_float.round() >= 1.0 && drift.length() / nk_float.round() > SHEAR_TOLERANCE_MM
    {
        warnings.push(
            "frame positions move sideways from slice to slice (gantry tilt): the slice axis is \
             sheared"
                .into(),
        );
        drift / nk_float.round()
    } else {
        DVec3::ZERO
    };
    let mut offsets = Vec::with_capacity(h.frames);
    for (f, info) in infos.iter().enumerate() {
        let k = slice_of(info.position);
        let d = info.position
            - lowest
            - normal * (info.position - lowest).dot(normal)
            - shear * k.round();
        let (i, j) = (d.dot(row) / ps_col, d.dot(col) / ps_row);
        let worst = [i, j, k]
            .iter()
            .map(|x| (x - x.round()).abs())
            .fold(0.0, f64::max);
        if worst > ON_GRID_VOXELS {
            return bad(format!(
                "frame {} lies between grid positions ({i:.2}, {j:.2}, {k:.2} voxels from the \
                 first): the frames do not form a regular grid",
                f + 1
            ));
        }
        if [i, j, k].iter().any(|x| x.abs() > MAX_OFFSET_VOXELS) {
            return bad(format!(
                "frame {} lies {i:.0}, {j:.0}, {k:.0} voxels from the first: too far to read",
                f + 1
            ));
        }
        offsets.push([i.round() as i64, j.round() as i64, k.round() as i64]);
    }
    let min = [0, 1, 2].map(|a| offsets.iter().map(|o| o[a]).min().unwrap_or(0));
    let max = [0, 1, 2].map(|a| offsets.iter().map(|o| o[a]).max().unwrap_or(0));
    let extent = |a: usize, n: usize| (max[a] - min[a]) as usize + n;
    let shape = [extent(0, h.columns), extent(1, h.rows), extent(2, 1)];
    let voxels = shape[0]
        .checked_mul(shape[1])
        .and_then(|v| v.checked_mul(shape[2]))
        .filter(|&v| v <= MAX_GRID_VOXELS);
    let Some(voxels) = voxels else {
        return bad(format!(
            "the frames span a grid of {shape:?} voxels: too large to read"
        ));
    };
    let origin = lowest + row * ps_col * min[0] as f64 + col * ps_row * min[1] as f64;
    let lps_from_voxel = DMat4::from_cols(
        (row * ps_col).extend(0.0),
        (col * ps_row).extend(0.0),
        (normal * dz + shear).extend(0.0),
        origin.extend(1.0),
    );
    let ras_from_voxel = DMat4::from_diagonal(DVec4::new(-1.0, -1.0, 1.0, 1.0)) * lps_from_voxel;

    // Frames in segment order, so the higher segment number wins overlaps.
    let mut order: Vec<usize> = (0..h.frames).collect();
    order.sort_by_key(|&f| infos[f].segment.unwrap_or(1));
    let mut labels = vec![0u8; voxels];
    let (mut overlaps, mut unknown) = (0usize, 0usize);
    let threshold = match h.kind {
        ReadType::Fractional(max) => max.div_ceil(2),
        _ => 1,
    };
    for f in order {
        let [oi, oj, ok] = [0, 1, 2].map(|a| (offsets[f][a] - min[a]) as usize);
        let segment_label = match h.kind {
            ReadType::Labelmap => None,
            _ => {
                let number = infos[f].segment.unwrap_or(1);
                let l = label_of_number[usize::from(number)];
                if l == 0 {
                    return bad(format!(
                        "frame {} names segment {number}, which SegmentSequence does not describe",
                        f + 1
                    ));
                }
                Some(l)
            }
        };
        for r in 0..h.rows {
            let base = oi + shape[0] * (oj + r + shape[1] * ok);
            for c in 0..h.columns {
                let v = value_at(pixels, h, f, r * h.columns + c);
                let label = match segment_label {
                    Some(l) if v >= threshold => l,
                    Some(_) => continue,
                    None if v == 0 => continue,
                    None => match label_of_number[usize::from(v)] {
                        0 => {
                            unknown += 1;
                            continue;
                        }
                        l => l,
                    },
                };
                let dst = &mut labels[base + c];
                overlaps += usize::from(*dst != 0 && *dst != label);
                *dst = label;
            }
        }
    }
    if overlaps > 0 {
        warnings.push(format!(
            "{overlaps} voxel(s) belong to more than one segment: flattened, the higher segment \
             number kept"
        ));
    }
    if unknown > 0 {
        warnings.push(format!(
            "{unknown} voxel(s) hold segment numbers SegmentSequence does not describe: read as \
             background"
        ));
    }
    let segments = labels_of.into_iter().zip(described).collect();
    Ok(SegGrid {
        shape,
        ras_from_voxel,
        labels,
        segments,
        warnings,
    })
}

/// Native PixelData bytes of a parsed object, if its pixel data is native.
pub fn native_pixel_data(obj: &Object) -> Option<Cow<'_, [u8]>> {
    let e = obj.get(tags::PIXEL_DATA)?;
    if e.value().fragments().is_some() {
        return None;
    }
    e.value().to_bytes().ok()
}
