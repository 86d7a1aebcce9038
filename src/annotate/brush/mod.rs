//! 3-D brush: paint or erase a swept sphere (capsule) of radius in millimetres,
//! or its 2-D disk in one slice, into a u8 label map.
//!
//! Split of the work, which is also what makes GPU == CPU exact:
//! - geometry on the CPU in f64 ([`stroke_pieces`]): for every voxel row (j, k)
//!   of a piece's bounding box, the span of i whose voxel-centre RAS distance to
//!   the segment is ≤ the radius (the capsule is convex, so each row's set is one
//!   span). That is O(r²) work; the analytic row/capsule intersection is refined
//!   with the direct distance test so the span is exactly the set of centres with
//!   `dist² ≤ r²` in f64;
//! - per voxel on the GPU (shaders/brush.wgsl) or in [`cpu::apply_stroke`]:
//!   span membership, the editable intensity range, locks and the overwrite
//!   policy ([`brushed_label`]), all integer or exact comparisons.
//!
//! Long segments are cut into pieces no longer than the diameter so each
//! dispatch covers a tight box: cost follows the brush volume, not the image.
//! Pieces overlap; painting and erasing are idempotent, so applying pieces in
//! turn equals applying their union.

pub mod cpu;
mod gpu;
mod texture;

use glam::{DMat3, DMat4, DVec3};
use thiserror::Error;

pub(crate) use gpu::shader_variants;
pub use gpu::{BRUSH_WORKGROUP, Brush, BrushOutcome, label_texture_writable};
pub use texture::TextureStroke;

use crate::annotate::labels::is_locked;
use crate::annotate::undo::VoxelBox;
use crate::gpu::GpuError;

/// What a stroke may overwrite when painting (locked labels never are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverwritePolicy {
    /// Background and every unlocked label.
    All,
    /// Background (label 0) only.
    BackgroundOnly,
}

/// Paint a label, or erase (set 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrushMode {
    Paint {
        label: u8,
    },
    /// `only_label: Some(l)` erases voxels of label `l` only (the active label,
    /// as Slicer does); `None` erases every unlocked label.
    Erase {
        only_label: Option<u8>,
    },
}

/// Slice orientation of the 2-D disk mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlicePlane {
    Axial,
    Coronal,
    Sagittal,
}

impl SlicePlane {
    /// Plane normal in RAS.
    pub fn normal_ras(self) -> DVec3 {
        match self {
            SlicePlane::Axial => DVec3::Z,
            SlicePlane::Coronal => DVec3::Y,
            SlicePlane::Sagittal => DVec3::X,
        }
    }

    /// The grid axis (0 = i, 1 = j, 2 = k) whose direction is closest to the normal.
    pub fn grid_axis(self, ras_from_voxel: &DMat4) -> usize {
        let m = DMat3::from_mat4(*ras_from_voxel);
        let n = self.normal_ras();
        let score = |a: usize| (m.col(a).normalize_or_zero().dot(n)).abs();
        (0..3)
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
            .unwrap_or(2)
    }
}

/// One brush stroke: a polyline of centres swept by a sphere.
#[derive(Clone, Debug, PartialEq)]
pub struct BrushStroke {
    /// Centres in RAS mm; one point is a single sphere (or disk).
    pub points_ras_mm: Vec<DVec3>,
    pub radius_mm: f64,
    pub mode: BrushMode,
    pub policy: OverwritePolicy,
    /// Only voxels whose scaled value lies in [lo, hi] (inclusive) are edited,
    /// painting and erasing alike (Slicer's "editable intensity range").
    pub intensity_range: Option<(f64, f64)>,
    /// 2-D mode: the stroke is projected (in grid index space) onto the slice
    /// of the grid axis closest to this plane's normal that holds the first
    /// point, and only that slice is edited: a disk of the radius in the slice.
    pub disk: Option<SlicePlane>,
    /// Bit v set when label v is locked ([`crate::annotate::labels::LabelSet::locked_bits`]).
    pub locked_bits: [u32; 8],
}

impl BrushStroke {
    /// A 3-D painting stroke with policy `All`, no range, nothing locked.
    pub fn paint(points_ras_mm: Vec<DVec3>, radius_mm: f64, label: u8) -> Self {
        BrushStroke {
            points_ras_mm,
            radius_mm,
            mode: BrushMode::Paint { label },
            policy: OverwritePolicy::All,
            intensity_range: None,
            disk: None,
            locked_bits: [0; 8],
        }
    }

    pub fn validate(&self) -> Result<(), BrushError> {
        if !(self.radius_mm.is_finite() && self.radius_mm > 0.0) {
            return Err(BrushError::BadRadius(self.radius_mm));
        }
        if self.points_ras_mm.is_empty() {
            return Err(BrushError::NoPoints);
        }
        if let Some(p) = self.points_ras_mm.iter().find(|p| !p.is_finite()) {
            return Err(BrushError::NonFinitePoint(p.to_array()));
        }
        if let Some((lo, hi)) = self.intensity_range
            && (lo.is_nan() || hi.is_nan() || lo > hi)
        {
            return Err(BrushError::BadRange { lo, hi });
        }
        if let BrushMode::Paint { label } = self.mode {
            if label == 0 {
                return Err(BrushError::PaintBackground);
            }
            if is_locked(&self.locked_bits, label) {
                return Err(BrushError::LockedLabel(label));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum BrushError {
    #[error("brush radius {0} mm must be positive and finite")]
    BadRadius(f64),
    #[error("a brush stroke needs at least one point")]
    NoPoints,
    #[error("stroke point {0:?} (RAS mm) is not finite")]
    NonFinitePoint([f64; 3]),
    #[error("editable intensity range [{lo}, {hi}] is empty or not a number")]
    BadRange { lo: f64, hi: f64 },
    #[error("cannot paint label 0 (background); erase instead")]
    PaintBackground,
    #[error("label {0} is locked; unlock it to paint with it")]
    LockedLabel(u8),
    #[error("label map has {got} voxels but the image grid {shape:?} has {want}")]
    GridMismatch {
        got: usize,
        want: usize,
        shape: [usize; 3],
    },
    #[error("image grid {0:?} is not invertible or has non-finite geometry")]
    BadGeometry([usize; 3]),
    #[error("brush stroke too large for one dispatch: {0}")]
    TooLarge(String),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// The label a voxel gets (== `current` when unchanged). Mirrored in brush.wgsl.
pub fn brushed_label(
    current: u8,
    in_range: bool,
    mode: BrushMode,
    policy: OverwritePolicy,
    locked_bits: &[u32; 8],
) -> u8 {
    if !in_range || is_locked(locked_bits, current) {
        return current;
    }
    match mode {
        BrushMode::Paint { label } => match policy {
            OverwritePolicy::All => label,
            OverwritePolicy::BackgroundOnly if current == 0 => label,
            OverwritePolicy::BackgroundOnly => current,
        },
        BrushMode::Erase {
            only_label: Some(l),
        } if current != l => current,
        BrushMode::Erase { .. } => 0,
    }
}

/// One capsule piece rasterised into row spans.
#[derive(Clone, Debug, PartialEq)]
pub struct StrokePiece {
    /// Bounding box in voxels (inclusive), inside the grid.
    pub bounds: VoxelBox,
    /// Inclusive i span per row, row = (j − j0) + dj·(k − k0); empty when start > end.
    pub spans: Vec<[i32; 2]>,
}

impl StrokePiece {
    pub fn size(&self) -> [usize; 3] {
        self.bounds.size()
    }
}

/// Squared distance from `p` to the segment [a, b].
pub fn dist2_to_segment(p: DVec3, a: DVec3, b: DVec3) -> f64 {
    let v = b - a;
    let w = p - a;
    let vv = v.length_squared();
    let t = if vv > 0.0 {
        (w.dot(v) / vv).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (w - v * t).length_squared()
}

/// Segments [a, b] in RAS mm, and the disk's (grid axis, slice index).
pub type StrokeSegments = (Vec<[DVec3; 2]>, Option<(usize, usize)>);

/// The segments (in RAS mm) a stroke sweeps, after the disk projection and
/// cutting into pieces no longer than the diameter; `None` for a disk whose
/// slice lies outside the grid.
pub fn stroke_segments(
    stroke: &BrushStroke,
    shape: [usize; 3],
    ras_from_voxel: &DMat4,
) -> Result<Option<StrokeSegments>, BrushError> {
    stroke.validate()?;
    let inv = ras_from_voxel.inverse();
    if !inv.is_finite() || ras_from_voxel.determinant() == 0.0 {
        return Err(BrushError::BadGeometry(shape));
    }
    let mut points = stroke.points_ras_mm.clone();
    let mut slice = None;
    if let Some(plane) = stroke.disk {
        let axis = plane.grid_axis(ras_from_voxel);
        let s = inv.transform_point3(points[0])[axis].round();
        if !(0.0..shape[axis] as f64).contains(&s) {
            return Ok(None);
        }
        for p in &mut points {
            let mut idx = inv.transform_point3(*p);
            idx[axis] = s;
            *p = ras_from_voxel.transform_point3(idx);
        }
        slice = Some((axis, s as usize));
    }
    let mut segments = Vec::new();
    let pairs: Vec<[DVec3; 2]> = if points.len() == 1 {
        vec![[points[0], points[0]]]
    } else {
        points.windows(2).map(|w| [w[0], w[1]]).collect()
    };
    for [a, b] in pairs {
        let n = ((b - a).length() / (2.0 * stroke.radius_mm))
            .ceil()
            .clamp(1.0, 1e6) as usize;
        for s in 0..n {
            let t0 = s as f64 / n as f64;
            let t1 = (s + 1) as f64 / n as f64;
            segments.push([a.lerp(b, t0), a.lerp(b, t1)]);
        }
    }
    Ok(Some((segments, slice)))
}

/// Rasterises a stroke into pieces (boxes and row spans); empty when nothing
/// of it lies in the grid.
pub fn stroke_pieces(
    stroke: &BrushStroke,
    shape: [usize; 3],
    ras_from_voxel: &DMat4,
) -> Result<Vec<StrokePiece>, BrushError> {
    let Some((segments, slice)) = stroke_segments(stroke, shape, ras_from_voxel)? else {
        return Ok(Vec::new());
    };
    let inv = ras_from_voxel.inverse();
    let inv3 = DMat3::from_mat4(inv);
    let r = stroke.radius_mm;
    // Half-extent of the sphere along grid axis m: r · |row m of the inverse|.
    let ext = [0, 1, 2].map(|m| r * inv3.row(m).length());
    let mut pieces = Vec::new();
    for [a, b] in segments {
        let (ia, ib) = (inv.transform_point3(a), inv.transform_point3(b));
        let mut lo = [0usize; 3];
        let mut hi = [0usize; 3];
        let mut empty = false;
        for m in 0..3 {
            let l = (ia[m].min(ib[m]) - ext[m]).floor().max(0.0);
            let h = (ia[m].max(ib[m]) + ext[m])
                .ceil()
                .min(shape[m] as f64 - 1.0);
            empty |= l > h;
            (lo[m], hi[m]) = (l as usize, h.max(0.0) as usize);
        }
        if let Some((axis, s)) = slice {
            (lo[axis], hi[axis]) = (s, s);
        }
        if empty {
            continue;
        }
        let bounds = VoxelBox { min: lo, max: hi };
        let spans = row_spans(ras_from_voxel, &bounds, a, b, r);
        if spans.iter().any(|s| s[0] <= s[1]) {
            pieces.push(StrokePiece { bounds, spans });
        }
    }
    Ok(pieces)
}

/// Per row of `bounds`: the i span of voxel centres within `r` of [a, b].
fn row_spans(m: &DMat4, bounds: &VoxelBox, a: DVec3, b: DVec3, r: f64) -> Vec<[i32; 2]> {
    let [i0, j0, k0] = bounds.min.map(|x| x as i64);
    let [i1, j1, k1] = bounds.max.map(|x| x as i64);
    let r2 = r * r;
    let d = m.x_axis.truncate();
    let mut spans = Vec::with_capacity(((j1 - j0 + 1) * (k1 - k0 + 1)) as usize);
    for k in k0..=k1 {
        for j in j0..=j1 {
            let centre = |i: i64| m.transform_point3(DVec3::new(i as f64, j as f64, k as f64));
            let inside = |i: i64| dist2_to_segment(centre(i), a, b) <= r2;
            let origin = centre(0);
            let Some((s_lo, s_hi)) = line_capsule(origin, d, a, b, r) else {
                spans.push([1, 0]);
                continue;
            };
            let clampi = |s: f64| (s.clamp(i0 as f64, i1 as f64)) as i64;
            let (mut lo, mut hi) = (clampi(s_lo.ceil()), clampi(s_hi.floor()));
            while lo <= hi && !inside(lo) {
                lo += 1;
            }
            while hi >= lo && !inside(hi) {
                hi -= 1;
            }
            if lo > hi {
                // Only a grazing touch can get here: try the nearest centre.
                let mid = clampi((0.5 * (s_lo + s_hi)).round());
                if !inside(mid) {
                    spans.push([1, 0]);
                    continue;
                }
                (lo, hi) = (mid, mid);
            }
            while lo > i0 && inside(lo - 1) {
                lo -= 1;
            }
            while hi < i1 && inside(hi + 1) {
                hi += 1;
            }
            spans.push([lo as i32, hi as i32]);
        }
    }
    spans
}

/// Parameter interval of the line `o + s·d` inside the capsule [a, b] ⊕ r:
/// the hull of its intersections with both end spheres and the cylinder.
fn line_capsule(o: DVec3, d: DVec3, a: DVec3, b: DVec3, r: f64) -> Option<(f64, f64)> {
    let mut out: Option<(f64, f64)> = None;
    let mut add = |iv: Option<(f64, f64)>| {
        if let Some((l, h)) = iv {
            out = Some(out.map_or((l, h), |(a, b)| (a.min(l), b.max(h))));
        }
    };
    add(quadratic_interval(o - a, d, r));
    add(quadratic_interval(o - b, d, r));
    let v = b - a;
    let len = v.length();
    if len > 0.0 {
        let e = v / len;
        let w = o - a;
        let (we, de) = (w.dot(e), d.dot(e));
        let cyl = quadratic_interval(w - e * we, d - e * de, r);
        let slab = if de.abs() > 1e-12 {
            let (s0, s1) = (-we / de, (len - we) / de);
            Some((s0.min(s1), s0.max(s1)))
        } else if (0.0..=len).contains(&we) {
            Some((f64::NEG_INFINITY, f64::INFINITY))
        } else {
            None
        };
        if let (Some(c), Some(s)) = (cyl, slab) {
            let iv = (c.0.max(s.0), c.1.min(s.1));
            add((iv.0 <= iv.1).then_some(iv));
        }
    }
    out.filter(|(l, h)| l.is_finite() && h.is_finite())
}

/// {s : |w + s·d| ≤ r}.
fn quadratic_interval(w: DVec3, d: DVec3, r: f64) -> Option<(f64, f64)> {
    let dd = d.length_squared();
    let c = w.length_squared() - r * r;
    if dd < 1e-18 {
        return (c <= 0.0).then_some((f64::NEG_INFINITY, f64::INFINITY));
    }
    let bh = w.dot(d);
    let disc = bh * bh - dd * c;
    if disc < 0.0 {
        return None;
    }
    let root = disc.sqrt();
    Some(((-bh - root) / dd, (-bh + root) / dd))
}

/// Checks the label map's length against the grid.
pub(crate) fn check_grid(shape: [usize; 3], len: usize) -> Result<(), BrushError> {
    let want = shape.iter().product::<usize>();
    if len != want {
        return Err(BrushError::GridMismatch {
            got: len,
            want,
            shape,
        });
    }
    Ok(())
}

/// The voxel box a stroke can touch (union of its pieces), for undo snapshots.
pub fn stroke_bounds(
    stroke: &BrushStroke,
    shape: [usize; 3],
    ras_from_voxel: &DMat4,
) -> Result<Option<VoxelBox>, BrushError> {
    let pieces = stroke_pieces(stroke, shape, ras_from_voxel)?;
    Ok(pieces.iter().map(|p| p.bounds).reduce(|a, b| a.union(&b)))
}
