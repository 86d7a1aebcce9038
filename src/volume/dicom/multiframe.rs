//! Multi-frame objects: per-frame geometry and rescale from the shared and
//! per-frame functional groups, and DICOM SEG frames merged into a label map.

use super::decode::StoredFrames;
use super::geometry::{StackGeometry, directions, stack_geometry};
use super::header::{
    ImageHeader, Object, PlaneGeometry, Rescale, first_item, get_f64, get_f64s, get_int,
    merge_geometry, plane_geometry, rescale,
};
use crate::volume::{LoadErrorKind, VoxelData};
use dicom_core::{DicomValue, PrimitiveValue};
use dicom_dictionary_std::tags;
use glam::DVec3;

/// What one frame contributes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameInfo {
    pub geometry: PlaneGeometry,
    pub rescale: Rescale,
    /// ReferencedSegmentNumber of a SEG frame.
    pub segment: Option<u16>,
}

/// Geometry and rescale found in one functional-group item.
fn group_geometry(item: &Object) -> PlaneGeometry {
    let mut g = PlaneGeometry::default();
    for tag in [
        tags::PLANE_POSITION_SEQUENCE,
        tags::PLANE_ORIENTATION_SEQUENCE,
        tags::PIXEL_MEASURES_SEQUENCE,
    ] {
        if let Some(inner) = first_item(item, tag) {
            g = merge_geometry(g, &plane_geometry(inner));
        }
    }
    g
}

fn group_rescale(item: &Object) -> Option<Rescale> {
    rescale(first_item(item, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE)?)
}

fn group_segment(item: &Object) -> Option<u16> {
    let seg = first_item(item, tags::SEGMENT_IDENTIFICATION_SEQUENCE)?;
    u16::try_from(get_int(seg, tags::REFERENCED_SEGMENT_NUMBER)?).ok()
}

/// Per-frame information: per-frame group over shared group over top level.
pub(crate) fn frame_infos(
    obj: &Object,
    hdr: &ImageHeader,
    warnings: &mut Vec<String>,
) -> Vec<FrameInfo> {
    let mut top = hdr.geometry;
    let offsets = grid_frame_offsets(obj, hdr);
    if hdr.frames > 1 {
        // A top-level position cannot belong to every frame of a stack.
        top.position_lps_mm = None;
    }
    let grid = offsets
        .as_ref()
        .and_then(|o| grid_positions(&hdr.geometry, o, hdr.frames));
    if let (Some(offsets), None) = (&offsets, &grid)
        && hdr.frames == 1
        && let [a, b, ..] = offsets[..]
        && (b - a).abs() > 0.0
    {
        // One frame of a dose grid: its step is the k spacing, as GDCM takes it.
        top.spacing_between_slices_mm.get_or_insert((b - a).abs());
    }
    if grid.is_some() && hdr.sop_class_uid == RT_DOSE_STORAGE {
        warnings.push(format!(
            "RT Dose: values are the stored integers{}; frames placed by GridFrameOffsetVector",
            get_f64(obj, tags::DOSE_GRID_SCALING)
                .map(|s| format!(
                    " (× DoseGridScaling {s} gives Gy; not applied, as in SimpleITK and pydicom)"
                ))
                .unwrap_or_default()
        ));
    }
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let base = shared.map_or(top, |s| merge_geometry(group_geometry(s), &top));
    let base_rescale = shared.and_then(group_rescale).unwrap_or(hdr.rescale);
    let base_segment = shared.and_then(group_segment);
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap_or(&[]);
    let frame_base = |f: usize| match grid.as_ref().and_then(|g| g.get(f)) {
        Some(&position) => PlaneGeometry {
            position_lps_mm: Some(position),
            ..base
        },
        None => base,
    };
    (0..hdr.frames as usize)
        .map(|f| (f, frame_base(f)))
        .map(|(f, base)| match per_frame.get(f) {
            Some(item) => FrameInfo {
                geometry: merge_geometry(group_geometry(item), &base),
                rescale: group_rescale(item).unwrap_or(base_rescale),
                segment: group_segment(item).or(base_segment),
            },
            None => FrameInfo {
                geometry: base,
                rescale: base_rescale,
                segment: base_segment,
            },
        })
        .collect()
}

const RT_DOSE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.481.2";

/// GridFrameOffsetVector (3004,000C), when FrameIncrementPointer (0028,0009)
/// names it: the offsets of the frames along the normal, in mm.
fn grid_frame_offsets(obj: &Object, hdr: &ImageHeader) -> Option<Vec<f64>> {
    let pointer = obj.get(tags::FRAME_INCREMENT_POINTER)?;
    let names_grid = match pointer.value() {
        DicomValue::Primitive(PrimitiveValue::Tags(t)) => {
            t.contains(&tags::GRID_FRAME_OFFSET_VECTOR)
        }
        DicomValue::Primitive(other) => other
            .to_bytes()
            .chunks_exact(4)
            .any(|c| [c[0], c[1], c[2], c[3]] == [0x04, 0x30, 0x0C, 0x00]),
        _ => false,
    };
    let offsets = get_f64s(obj, tags::GRID_FRAME_OFFSET_VECTOR)?;
    (names_grid && offsets.len() >= hdr.frames as usize).then_some(offsets)
}

/// Frame positions from ImagePositionPatient and the grid offsets (PS3.3
/// C.8.8.3.2: relative to the first frame when the first offset is 0, else
/// coordinates along the normal, of which the first is the position's own),
/// as SimpleITK/GDCM and pydicom-based tools place them.
fn grid_positions(top: &PlaneGeometry, offsets: &[f64], frames: u32) -> Option<Vec<DVec3>> {
    let origin = top.position_lps_mm?;
    let (_, _, normal) = directions(top.orientation.as_ref()?)?;
    let first = *offsets.first()?;
    Some(
        offsets
            .iter()
            .take(frames as usize)
            .map(|&o| origin + normal * (o - first))
            .collect(),
    )
}

/// A BINARY/FRACTIONAL SEG as a label map: frames at the same position are
/// merged, each set voxel holding its segment number (1 for one segment).
pub(crate) fn segmentation_labels(
    frames: &StoredFrames,
    infos: &[FrameInfo],
) -> Result<(StackGeometry, VoxelData, usize), LoadErrorKind> {
    let geometries: Vec<PlaneGeometry> = infos.iter().map(|i| i.geometry).collect();
    let mut stack = stack_geometry(&geometries, true);
    let normal = geometries
        .first()
        .and_then(|g| g.orientation.as_ref())
        .and_then(directions)
        .map(|(_, _, n)| n);
    let along =
        |i: usize| -> Option<f64> { Some(geometries.get(i)?.position_lps_mm?.dot(normal?)) };
    let slice_along: Vec<Option<f64>> = stack.order.iter().map(|&i| along(i)).collect();
    let slice_of = |frame: usize| -> Option<usize> {
        let Some(a) = along(frame) else {
            // No positions: frames are the slices, in file order.
            return stack.order.iter().position(|&i| i == frame);
        };
        slice_along
            .iter()
            .position(|s| s.is_some_and(|s| (s - a).abs() < 0.01))
    };
    let ppf = frames.pixels_per_frame;
    let n_slices = stack.order.len();
    let max_label = infos.iter().filter_map(|i| i.segment).max().unwrap_or(1);
    let mut labels = vec![0u16; ppf * n_slices];
    let mut overlaps = 0usize;
    let mut unplaced = 0usize;
    for (f, info) in infos.iter().enumerate() {
        let Some(k) = slice_of(f) else {
            unplaced += 1;
            continue;
        };
        let label = info.segment.unwrap_or(1).max(1);
        let Some(dst) = labels.get_mut(k * ppf..(k + 1) * ppf) else {
            continue;
        };
        for (d, v) in dst.iter_mut().zip(frames.frame(f)?) {
            if v != 0 {
                overlaps += usize::from(*d != 0 && *d != label);
                *d = label;
            }
        }
    }
    if overlaps > 0 {
        stack.warnings.push(format!(
            "{overlaps} voxel(s) belong to more than one segment; the higher-numbered frame's segment is kept"
        ));
    }
    let data = if max_label <= u16::from(u8::MAX) {
        VoxelData::U8(labels.into_iter().map(|v| v as u8).collect())
    } else {
        VoxelData::U16(labels)
    };
    Ok((stack, data, unplaced))
}
