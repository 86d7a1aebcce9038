//! Slice geometry: orientation, sorting along the normal, spacing from
//! positions, and the irregularity checks (tilt, gaps, duplicates, non-uniform).

use glam::{DMat4, DVec3, DVec4};

use super::header::PlaneGeometry;

/// Positions closer than this along the normal count as the same slice.
const DUPLICATE_TOLERANCE_MM: f64 = 0.01;
/// Angles (degrees) between the normal and the slice-position direction above
/// this are reported as a tilt; DS rounding stays far below it.
const TILT_TOLERANCE_DEG: f64 = 0.1;
/// Orientation cosines differing by more than this are another orientation.
const ORIENTATION_TOLERANCE: f64 = 1e-3;

/// Sorted slice order and the grid that places it.
#[derive(Debug)]
pub(crate) struct StackGeometry {
    /// Indices into the input, ascending along the normal, duplicates removed.
    pub order: Vec<usize>,
    pub ras_from_voxel: DMat4,
    pub warnings: Vec<String>,
}

/// Unit row cosine, column cosine and normal (row × column), if usable.
pub(crate) fn directions(orientation: &[f64; 6]) -> Option<(DVec3, DVec3, DVec3)> {
    let row = DVec3::new(orientation[0], orientation[1], orientation[2]);
    let col = DVec3::new(orientation[3], orientation[4], orientation[5]);
    let (row, col) = (row.try_normalize()?, col.try_normalize()?);
    let normal = row.cross(col).try_normalize()?;
    // Nearly parallel cosines give a normal dominated by rounding.
    (row.dot(col).abs() < 0.01).then_some((row, col, normal))
}

fn same_orientation(a: &[f64; 6], b: &[f64; 6]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= ORIENTATION_TOLERANCE)
}

/// Keeps the images sharing the most common orientation (e.g. drops a
/// localizer mixed into an axial series). Returns kept indices and a warning.
pub(crate) fn filter_orientation(slices: &[PlaneGeometry]) -> (Vec<usize>, Option<String>) {
    let mut groups: Vec<([f64; 6], Vec<usize>)> = Vec::new();
    let mut without = Vec::new();
    for (index, slice) in slices.iter().enumerate() {
        match slice.orientation {
            Some(o) => match groups.iter_mut().find(|(g, _)| same_orientation(g, &o)) {
                Some((_, members)) => members.push(index),
                None => groups.push((o, vec![index])),
            },
            None => without.push(index),
        }
    }
    if groups.len() <= 1 && (without.is_empty() || groups.is_empty()) {
        return ((0..slices.len()).collect(), None);
    }
    let Some(largest) = groups
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, members))| (members.len(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
    else {
        return ((0..slices.len()).collect(), None);
    };
    let mut kept = groups.swap_remove(largest).1;
    kept.sort_unstable();
    let dropped = slices.len() - kept.len();
    let warning = format!(
        "dropped {dropped} image(s) whose orientation differs from the other {} \
         (e.g. a localizer) or that have no ImageOrientationPatient",
        kept.len()
    );
    (kept, Some(warning))
}

/// z spacing for a single slice, as SimpleITK/GDCM choose it: SpacingBetweenSlices,
/// else 1 mm. GDCM ignores SliceThickness here (MR_small.dcm: thickness 0.8,
/// SimpleITK spacing 1), and so do we: thickness is not a sampling distance.
fn single_slice_spacing(g: &PlaneGeometry) -> f64 {
    g.spacing_between_slices_mm.unwrap_or(1.0)
}

fn lps_to_ras(lps_from_voxel: DMat4) -> DMat4 {
    DMat4::from_diagonal(DVec4::new(-1.0, -1.0, 1.0, 1.0)) * lps_from_voxel
}

fn matrix(row: DVec3, col: DVec3, slice_step: DVec3, origin: DVec3, ps: [f64; 2]) -> DMat4 {
    // PixelSpacing is [between rows, between columns]: i (along a row) moves by ps[1].
    lps_to_ras(DMat4::from_cols(
        (row * ps[1]).extend(0.0),
        (col * ps[0]).extend(0.0),
        slice_step.extend(0.0),
        origin.extend(1.0),
    ))
}

/// Orders `slices` along their normal and builds `ras_from_voxel`.
/// Slices must already share one orientation (see [`filter_orientation`]).
/// `duplicates_expected`: several frames per position are normal (SEG segments).
pub(crate) fn stack_geometry(slices: &[PlaneGeometry], duplicates_expected: bool) -> StackGeometry {
    let mut warnings = Vec::new();
    let Some(first) = slices.first() else {
        return StackGeometry {
            order: Vec::new(),
            ras_from_voxel: DMat4::IDENTITY,
            warnings,
        };
    };
    let ps = first.pixel_spacing_mm.unwrap_or_else(|| {
        warnings.push("no PixelSpacing: in-plane spacing set to 1 mm".to_string());
        [1.0, 1.0]
    });
    let dirs = first.orientation.as_ref().and_then(directions);
    let positions: Option<Vec<DVec3>> = slices.iter().map(|s| s.position_lps_mm).collect();

    let (Some((row, col, normal)), Some(positions)) = (dirs, positions) else {
        // Fallback: keep the given order, identity directions where unknown.
        let (row, col, normal) = dirs.unwrap_or((DVec3::X, DVec3::Y, DVec3::Z));
        let spacing = single_slice_spacing(first);
        let origin = first.position_lps_mm.unwrap_or(DVec3::ZERO);
        let mut missing = Vec::new();
        if dirs.is_none() {
            missing.push("ImageOrientationPatient");
        }
        if slices.iter().any(|s| s.position_lps_mm.is_none()) {
            missing.push("ImagePositionPatient");
        }
        warnings.push(format!(
            "fallback geometry: no usable {}; {} directions, origin {:?} mm, \
             slices in file order {spacing} mm apart",
            missing.join(" or "),
            if dirs.is_none() { "identity" } else { "file" },
            origin.to_array(),
        ));
        return StackGeometry {
            order: (0..slices.len()).collect(),
            ras_from_voxel: matrix(row, col, normal * spacing, origin, ps),
            warnings,
        };
    };

    let mut order: Vec<usize> = (0..slices.len()).collect();
    let along = |i: usize| positions.get(i).map_or(0.0, |p| p.dot(normal));
    order.sort_by(|&a, &b| along(a).total_cmp(&along(b)));

    // Duplicate positions: keep the first image at each position.
    let before = order.len();
    order.dedup_by(|b, a| (along(*b) - along(*a)).abs() < DUPLICATE_TOLERANCE_MM);
    if order.len() < before && !duplicates_expected {
        warnings.push(format!(
            "{} image(s) at duplicate slice positions ignored (kept the first at each position)",
            before - order.len()
        ));
    }

    let (Some(&first_index), Some(&last_index)) = (order.first(), order.last()) else {
        return StackGeometry {
            order,
            ras_from_voxel: DMat4::IDENTITY,
            warnings,
        };
    };
    let origin = positions.get(first_index).copied().unwrap_or(DVec3::ZERO);
    let n = order.len();
    if n == 1 {
        let spacing = single_slice_spacing(first);
        return StackGeometry {
            order,
            ras_from_voxel: matrix(row, col, normal * spacing, origin, ps),
            warnings,
        };
    }

    let last = positions.get(last_index).copied().unwrap_or(origin);
    let spacing = (along(last_index) - along(first_index)) / (n - 1) as f64;
    let steps: Vec<f64> = order
        .windows(2)
        .map(|w| along(w[1]) - along(w[0]))
        .collect();
    let max_deviation = steps
        .iter()
        .map(|d| (d - spacing).abs())
        .fold(0.0f64, f64::max);
    let mut sorted_steps = steps.clone();
    sorted_steps.sort_by(f64::total_cmp);
    let median = sorted_steps
        .get(sorted_steps.len() / 2)
        .copied()
        .unwrap_or(spacing);
    let gaps: usize = steps
        .iter()
        .filter(|d| **d > 1.5 * median)
        .map(|d| ((d / median).round() as usize).saturating_sub(1))
        .sum();
    if gaps > 0 {
        warnings.push(format!(
            "{gaps} missing slice(s): gaps in the slice positions (usual step {median:.4} mm, \
             largest {:.4} mm); the grid spacing {spacing:.4} mm is the mean",
            sorted_steps.last().copied().unwrap_or(median)
        ));
    } else if max_deviation > DUPLICATE_TOLERANCE_MM.max(1e-3 * spacing) {
        warnings.push(format!(
            "non-uniform slice spacing: steps deviate up to {max_deviation:.4} mm \
             from the mean {spacing:.4} mm"
        ));
    }

    // Tilt: do the positions move along the normal, or at an angle to it?
    let travel = last - origin;
    let cos = (travel.dot(normal) / travel.length()).clamp(-1.0, 1.0);
    let tilt_deg = cos.acos().to_degrees();
    let step = if tilt_deg > TILT_TOLERANCE_DEG {
        warnings.push(format!(
            "gantry tilt: slice positions move at {tilt_deg:.2}° to the slice normal; \
             the slice axis of ras_from_voxel follows the positions (sheared grid)"
        ));
        travel / (n - 1) as f64
    } else {
        normal * spacing
    };
    StackGeometry {
        order,
        ras_from_voxel: matrix(row, col, step, origin, ps),
        warnings,
    }
}
