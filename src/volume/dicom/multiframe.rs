//! Multi-frame objects: per-frame geometry and rescale from the shared and
//! per-frame functional groups, and DICOM SEG frames merged into a label map.

use super::decode::StoredFrames;
use super::geometry::{StackGeometry, directions, stack_geometry};
use super::header::{
    ImageHeader, Object, PlaneGeometry, Rescale, first_item, get_int, merge_geometry,
    plane_geometry, rescale,
};
use crate::volume::VoxelData;
use dicom_dictionary_std::tags;

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
pub(crate) fn frame_infos(obj: &Object, hdr: &ImageHeader) -> Vec<FrameInfo> {
    let mut top = hdr.geometry;
    if hdr.frames > 1 {
        // A top-level position cannot belong to every frame of a stack.
        top.position_lps_mm = None;
    }
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let base = shared.map_or(top, |s| merge_geometry(group_geometry(s), &top));
    let base_rescale = shared.and_then(group_rescale).unwrap_or(hdr.rescale);
    let base_segment = shared.and_then(group_segment);
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap_or(&[]);
    (0..hdr.frames as usize)
        .map(|f| match per_frame.get(f) {
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

/// A BINARY/FRACTIONAL SEG as a label map: frames at the same position are
/// merged, each set voxel holding its segment number (1 for one segment).
pub(crate) fn segmentation_labels(
    frames: &StoredFrames,
    infos: &[FrameInfo],
) -> (StackGeometry, VoxelData, usize) {
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
        for (d, &v) in dst.iter_mut().zip(frames.frame(f)) {
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
    (stack, data, unplaced)
}
