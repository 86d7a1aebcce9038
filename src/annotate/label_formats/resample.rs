//! A label map on another grid (other resolution, orientation or field of
//! view, as AI drafts often are) resampled onto the image grid by nearest
//! neighbour in world space.
//!
//! Every image voxel centre `p_ras = image.ras_from_voxel · (i, j, k)` takes
//! the label of the map voxel `floor(q + ½)` along each axis, where
//! `q = mask.voxel_from_ras · p_ras` is its continuous index in the map:
//! the map voxel whose cell holds the centre. A centre exactly on a cell
//! boundary (a tie, within 1e-6 voxel so floating-point noise cannot split
//! a tie both ways) goes to the higher index, as ITK's nearest-neighbour
//! interpolator (`RoundHalfIntegerUp`) does. Centres outside the map are
//! background. Labels are copied, never interpolated. A map on the image
//! grid itself is copied as it is.

use glam::{DMat3, DMat4, DVec3};
use rayon::prelude::*;

use super::grid::{GridError, Placement, to_labels};
use crate::volume::Volume;

/// A tie (a centre on a cell boundary, up to floating-point noise) rounds up.
const TIE_BIAS_VOXELS: f64 = 1e-6;

/// A voxel grid: its shape and where it lies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridGeometry {
    pub shape: [usize; 3],
    /// Voxel index (i, j, k, 1) to RAS+ millimetres.
    pub ras_from_voxel: DMat4,
}

impl GridGeometry {
    pub fn of(volume: &Volume) -> Self {
        GridGeometry {
            shape: volume.shape,
            ras_from_voxel: volume.ras_from_voxel,
        }
    }

    fn spacing_mm(&self) -> [f64; 3] {
        crate::volume::spacing_from_matrix(&self.ras_from_voxel)
    }

    /// Voxels in the grid; `usize::MAX` when that overflows (no labels
    /// slice is that long).
    fn voxel_count(&self) -> usize {
        crate::volume::voxel_count(self.shape).unwrap_or(usize::MAX)
    }
}

/// A label map on the image grid, and what the user should know about how
/// it got there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OnImageGrid {
    /// One label per image voxel, `i` fastest.
    pub labels: Vec<u8>,
    pub warnings: Vec<String>,
}

/// `mask`'s values as labels on `image`'s grid: copied when the grids match
/// (to 1e-3 mm), else resampled by nearest neighbour with a warning saying
/// so. Values that are not labels (0..=255, whole) and a map that does not
/// overlap the image are errors.
pub fn labels_onto_image(image: &Volume, mask: &Volume) -> Result<OnImageGrid, GridError> {
    let labels = to_labels(&mask.data)?;
    if Placement::same_grid(image, mask.shape, &mask.ras_from_voxel).is_ok() {
        return Ok(OnImageGrid {
            labels,
            warnings: Vec::new(),
        });
    }
    resample_onto_image(&labels, &GridGeometry::of(mask), image)
}

/// `labels` (one per voxel of `from`) resampled onto `image`'s grid, with a
/// warning saying so and one naming labels that no image voxel kept.
pub fn resample_onto_image(
    labels: &[u8],
    from: &GridGeometry,
    image: &Volume,
) -> Result<OnImageGrid, GridError> {
    let to = GridGeometry::of(image);
    let out = resample_nearest(labels, from, &to)?;
    let mut warnings = vec![format!(
        "label map grid {} is not the image grid {} (other {}): resampled onto it by nearest \
         neighbour in world space",
        describe(from),
        describe(&to),
        differences(from, &to).join(", "),
    )];
    let (before, after) = (present(labels), present(&out));
    let lost: Vec<String> = (1..256)
        .filter(|&v| before[v] && !after[v])
        .map(|v| v.to_string())
        .collect();
    if !lost.is_empty() {
        warnings.push(format!(
            "label{} {} of the label map cover{} no image voxel centre: lost in resampling",
            if lost.len() == 1 { "" } else { "s" },
            lost.join(", "),
            if lost.len() == 1 { "s" } else { "" },
        ));
    }
    Ok(OnImageGrid {
        labels: out,
        warnings,
    })
}

/// Nearest-neighbour resampling of `labels` (one per voxel of `from`, `i`
/// fastest) onto the grid `to` (see the module notes for the rule).
/// [`GridError::NoOverlap`] when no voxel centre of `to` lies in `from`.
pub fn resample_nearest(
    labels: &[u8],
    from: &GridGeometry,
    to: &GridGeometry,
) -> Result<Vec<u8>, GridError> {
    if labels.len() != from.voxel_count() {
        return Err(GridError::Length {
            got: labels.len(),
            want: from.voxel_count(),
        });
    }
    let axes = DMat3::from_mat4(from.ras_from_voxel);
    let determinant = axes.determinant();
    let scale: f64 = from.spacing_mm().iter().product();
    let invertible = determinant.is_finite() && determinant.abs() > 1e-9 * scale;
    if !invertible {
        return Err(GridError::Singular {
            which: "label map",
            determinant,
        });
    }
    // Image voxel index → continuous label-map voxel index: affine, so q
    // advances by the constant `step_i` along a row.
    let mask_from_image = from.ras_from_voxel.inverse() * to.ras_from_voxel;
    let step_i = mask_from_image.x_axis.truncate();
    let step_j = mask_from_image.y_axis.truncate();
    let step_k = mask_from_image.z_axis.truncate();
    // Rounding floor(q + ½) becomes a floor of the shifted index.
    let at_zero = mask_from_image.w_axis.truncate() + DVec3::splat(0.5 + TIE_BIAS_VOXELS);
    let [ni, nj, _] = to.shape;
    let limit = DVec3::from_array(from.shape.map(|n| n as f64));
    let mut out = vec![0u8; to.voxel_count()];
    if out.is_empty() {
        return Ok(out);
    }
    let inside: usize = out
        .par_chunks_mut(ni * nj)
        .enumerate()
        .map(|(k, slice)| {
            let mut inside = 0;
            for (j, row) in slice.chunks_exact_mut(ni).enumerate() {
                let start = at_zero + step_j * j as f64 + step_k * k as f64;
                let (lo, hi) = row_span(start, step_i, limit, ni);
                let first = start + step_i * lo as f64;
                inside += fill_row(&mut row[lo..hi], labels, first, step_i, from.shape);
            }
            inside
        })
        .sum();
    if inside == 0 {
        return Err(GridError::NoOverlap {
            mask: from.shape,
            image: to.shape,
        });
    }
    Ok(out)
}

/// Fixed-point voxel indices carry 32 fractional bits: stepping them is
/// exact integer addition and their floor a shift (a float floor is a libm
/// call on baseline x86-64, and float-to-usize casts are branchy).
const ONE: f64 = 4_294_967_296.0;
/// Voxels stepped in fixed point before the position is recomputed in f64:
/// the step's rounding drifts by under 256·2⁻³³ voxel, far below the tie
/// allowance.
const RUN: usize = 256;

/// Fills `row` (consecutive image voxels along i) from `labels` (a map of
/// `shape`): voxel n of the row takes the map voxel `floor(start + n·step)`
/// (the ½ and the tie allowance are in `start`) where that lies in the map.
/// Returns how many did.
fn fill_row(row: &mut [u8], labels: &[u8], start: DVec3, step: DVec3, shape: [usize; 3]) -> usize {
    let [mi, mj, mk] = shape;
    // An unsigned comparison with n·ONE checks 0 <= q < n at once (a
    // negative q wraps to a huge value).
    let limit = [mi, mj, mk].map(|n| (n as u64) << 32);
    // Clamped and wrapping: absurd geometry gives wrong voxels, never a
    // panic (the bounds test guards every read).
    let fixed = |v: DVec3| {
        v.to_array()
            .map(|x| (x * ONE).round().clamp(-4e18, 4e18) as i64)
    };
    let step_fixed = fixed(step);
    let mut inside = 0;
    for (run, out) in row.chunks_mut(RUN).enumerate() {
        let mut q = fixed(start + step * (run * RUN) as f64);
        for label in out.iter_mut() {
            if (q[0] as u64) < limit[0] && (q[1] as u64) < limit[1] && (q[2] as u64) < limit[2] {
                let [a, b, c] = q.map(|x| (x >> 32) as usize);
                *label = labels[a + mi * (b + mj * c)];
                inside += 1;
            }
            for (x, dx) in q.iter_mut().zip(step_fixed) {
                *x = x.wrapping_add(dx);
            }
        }
    }
    inside
}

/// The range of `i` in `0..n` (widened by a voxel each side; the caller
/// checks each voxel) where `start + i·step` lies in `[0, limit)` on every
/// axis.
fn row_span(start: DVec3, step: DVec3, limit: DVec3, n: usize) -> (usize, usize) {
    let (mut lo, mut hi) = (0.0f64, n as f64);
    for a in 0..3 {
        let (p, d, l) = (start[a], step[a], limit[a]);
        if d == 0.0 {
            if !(0.0..l).contains(&p) {
                return (0, 0);
            }
            continue;
        }
        let (t0, t1) = ((0.0 - p) / d, (l - p) / d);
        lo = lo.max(t0.min(t1).floor() - 1.0);
        hi = hi.min(t0.max(t1).ceil() + 1.0);
    }
    if hi <= lo {
        return (0, 0);
    }
    (lo.max(0.0) as usize, (hi.min(n as f64)) as usize)
}

/// Which labels occur.
fn present(labels: &[u8]) -> [bool; 256] {
    let mut seen = [false; 256];
    for &l in labels {
        seen[l as usize] = true;
    }
    seen
}

/// `64×64×30 at 1.5×1.5×3 mm`.
fn describe(g: &GridGeometry) -> String {
    let [ni, nj, nk] = g.shape;
    let [si, sj, sk] = g.spacing_mm().map(short);
    format!("{ni}×{nj}×{nk} at {si}×{sj}×{sk} mm")
}

/// A length to 3 decimals without trailing zeros.
fn short(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// What differs between two grids: shape, spacing, orientation, origin.
fn differences(a: &GridGeometry, b: &GridGeometry) -> Vec<&'static str> {
    const TOLERANCE_MM: f64 = 1e-3;
    let mut out = Vec::new();
    if a.shape != b.shape {
        out.push("shape");
    }
    let (sa, sb) = (a.spacing_mm(), b.spacing_mm());
    if (0..3).any(|n| (sa[n] - sb[n]).abs() > TOLERANCE_MM) {
        out.push("spacing");
    }
    let unit = |m: &DMat4, n: usize| m.col(n).truncate().normalize_or_zero();
    if (0..3).any(|n| unit(&a.ras_from_voxel, n).dot(unit(&b.ras_from_voxel, n)) < 1.0 - 1e-6) {
        out.push("orientation");
    }
    if (a.ras_from_voxel.w_axis - b.ras_from_voxel.w_axis).length() > TOLERANCE_MM {
        out.push("origin");
    }
    if out.is_empty() {
        out.push("voxel-to-RAS matrix");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(shape: [usize; 3], ras_from_voxel: DMat4) -> GridGeometry {
        GridGeometry {
            shape,
            ras_from_voxel,
        }
    }

    /// A brute-force oracle of the rule: per voxel, no row increments.
    fn slow(labels: &[u8], from: &GridGeometry, to: &GridGeometry) -> Vec<u8> {
        let inv = from.ras_from_voxel.inverse();
        let [ni, nj, nk] = to.shape;
        let mut out = Vec::with_capacity(ni * nj * nk);
        for k in 0..nk {
            for j in 0..nj {
                for i in 0..ni {
                    let p = to
                        .ras_from_voxel
                        .transform_point3(DVec3::new(i as f64, j as f64, k as f64));
                    let q = inv.transform_point3(p);
                    let r = q.to_array().map(|x| (x + 0.5 + TIE_BIAS_VOXELS).floor());
                    let ok = (0..3).all(|a| r[a] >= 0.0 && r[a] < from.shape[a] as f64);
                    out.push(if ok {
                        let [a, b, c] = r.map(|x| x as usize);
                        labels[a + from.shape[0] * (b + from.shape[1] * c)]
                    } else {
                        0
                    });
                }
            }
        }
        out
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|x| (x * 37 % 11) as u8).collect()
    }

    #[test]
    fn same_grid_is_a_copy() {
        let m = DMat4::from_scale(DVec3::new(0.7, 0.8, 2.0));
        let g = grid([5, 4, 3], m);
        let labels = pattern(60);
        assert_eq!(resample_nearest(&labels, &g, &g).unwrap(), labels);
    }

    #[test]
    fn coarser_grid_centre_aligned_ties_round_up() {
        // Draft voxels 2× the image's, centres aligned: image voxel i sits at
        // draft index i/2, a tie for odd i, which goes to (i + 1)/2.
        let image = grid([8, 6, 4], DMat4::from_scale(DVec3::new(0.7, 0.7, 1.1)));
        let draft = grid([4, 3, 2], DMat4::from_scale(DVec3::new(1.4, 1.4, 2.2)));
        let labels = pattern(24);
        let out = resample_nearest(&labels, &draft, &image).unwrap();
        for k in 0..4 {
            for j in 0..6 {
                for i in 0..8 {
                    let [a, b, c] = [i, j, k].map(|x: usize| x.div_ceil(2));
                    let want = if a < 4 && b < 3 && c < 2 {
                        labels[a + 4 * (b + 3 * c)]
                    } else {
                        0
                    };
                    assert_eq!(out[i + 8 * (j + 6 * k)], want, "voxel {i} {j} {k}");
                }
            }
        }
    }

    #[test]
    fn oblique_grids_match_the_brute_force_rule() {
        let rot = DMat4::from_axis_angle(DVec3::new(1.0, 2.0, 0.5).normalize(), 0.6);
        let image = grid(
            [23, 19, 11],
            DMat4::from_translation(DVec3::new(-5.0, 3.0, 1.0))
                * DMat4::from_scale(DVec3::new(0.9, 0.8, 1.7)),
        );
        let draft = grid(
            [13, 12, 9],
            DMat4::from_translation(DVec3::new(-3.3, -2.1, -4.0))
                * rot
                * DMat4::from_scale(DVec3::new(1.6, 1.3, 2.1)),
        );
        let labels = pattern(13 * 12 * 9);
        let out = resample_nearest(&labels, &draft, &image).unwrap();
        assert_eq!(out, slow(&labels, &draft, &image));
        assert!(out.iter().any(|&l| l != 0));
        // A flipped axis (i running backwards) too.
        let flipped = grid(
            draft.shape,
            draft.ras_from_voxel * DMat4::from_scale(DVec3::new(-1.0, 1.0, 1.0)),
        );
        let out = resample_nearest(&labels, &flipped, &image).unwrap();
        assert_eq!(out, slow(&labels, &flipped, &image));
    }

    #[test]
    fn maps_off_the_image_or_singular_are_errors() {
        let image = grid([4, 4, 4], DMat4::IDENTITY);
        let far = grid(
            [4, 4, 4],
            DMat4::from_translation(DVec3::new(0.0, 0.0, 4.0)),
        );
        assert_eq!(
            resample_nearest(&[1; 64], &far, &image),
            Err(GridError::NoOverlap {
                mask: [4, 4, 4],
                image: [4, 4, 4]
            })
        );
        // Just inside: its first slice covers the image's last.
        let near = grid(
            [4, 4, 4],
            DMat4::from_translation(DVec3::new(0.0, 0.0, 3.4)),
        );
        let out = resample_nearest(&[1; 64], &near, &image).unwrap();
        assert_eq!(out.iter().filter(|&&l| l == 1).count(), 16);
        assert_eq!(
            resample_nearest(&[1; 3], &image, &image),
            Err(GridError::Length { got: 3, want: 64 })
        );
        let flat = grid([4, 4, 4], DMat4::from_scale(DVec3::new(1.0, 0.0, 1.0)));
        assert!(matches!(
            resample_nearest(&[1; 64], &flat, &image),
            Err(GridError::Singular { .. })
        ));
    }

    #[test]
    fn row_spans_cover_every_inside_voxel() {
        let limit = DVec3::new(5.0, 4.0, 3.0);
        for (start, step) in [
            (DVec3::new(-3.2, 1.0, 1.0), DVec3::new(0.7, 0.0, 0.0)),
            (DVec3::new(9.0, 1.0, 2.5), DVec3::new(-0.45, 0.1, -0.05)),
            (DVec3::new(1.0, 5.0, 1.0), DVec3::new(0.5, 0.0, 0.0)),
        ] {
            let (lo, hi) = row_span(start, step, limit, 40);
            for i in 0..40 {
                let q = (start + step * i as f64).floor();
                if q.cmpge(DVec3::ZERO).all() && q.cmplt(limit).all() {
                    assert!(
                        (lo..hi).contains(&i),
                        "{start} {step} {i} not in {lo}..{hi}"
                    );
                }
            }
        }
    }

    #[test]
    fn warnings_say_what_differs_and_what_was_lost() {
        let m = DMat4::from_cols_array(&[
            -1.0, 0.0, 0.0, 0.0, //
            0.0, -1.0, 0.0, 0.0, //
            0.0, 0.0, 1.0, 0.0, //
            0.0, 0.0, 0.0, 1.0,
        ]);
        let image = Volume::new(
            [8, 8, 4],
            crate::volume::VoxelData::U8(vec![0; 256]),
            m,
            crate::volume::Modality::Ct,
        )
        .unwrap();
        // A finer draft: image voxel i samples draft voxel round(2.5·i), so
        // draft voxel (1, 0, 0) is never sampled.
        let draft = grid(
            [10, 10, 5],
            m * DMat4::from_scale(DVec3::new(0.4, 0.4, 0.8)),
        );
        let mut labels = vec![2u8; 500];
        labels[1] = 9;
        let on = resample_onto_image(&labels, &draft, &image).unwrap();
        assert_eq!(on.warnings.len(), 2, "{:?}", on.warnings);
        assert!(
            on.warnings[0].contains("10×10×5 at 0.4×0.4×0.8 mm")
                && on.warnings[0].contains("8×8×4 at 1×1×1 mm")
                && on.warnings[0].contains("(other shape, spacing)"),
            "{}",
            on.warnings[0]
        );
        assert!(
            on.warnings[1].starts_with("label 9 of"),
            "{}",
            on.warnings[1]
        );
        // Draft voxel (3, 0, 0) is sampled by image voxel (1, 0, 0).
        labels[1] = 2;
        labels[3] = 9;
        let on = resample_onto_image(&labels, &draft, &image).unwrap();
        assert_eq!(on.warnings.len(), 1, "{:?}", on.warnings);
        assert_eq!(on.labels[1], 9);
        // One voxel reaching the image's far corner.
        let far = grid(
            [1, 1, 1],
            m * DMat4::from_translation(DVec3::new(7.4, 7.4, 3.0)),
        );
        let on = resample_onto_image(&[5], &far, &image).unwrap();
        assert_eq!(on.labels.iter().filter(|&&l| l == 5).count(), 1);
        assert_eq!(on.labels[255], 5);
        assert_eq!(short(0.7500001), "0.75");
        assert_eq!(short(2.0), "2");
    }
}
