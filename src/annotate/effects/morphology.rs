//! Morphology effects on a [`Mask`], with sizes in mm on an anisotropic grid.
//!
//! Voxel centres sit at `index × spacing_mm` per axis. "Within r" means the
//! distance between two centres is ≤ r·(1 + 1e-9): the relative tolerance
//! makes a distance exactly equal to r count despite rounding. Voxels outside
//! the box are off; the caller pads the box so results fit.
//!
//! - `margin(+r)`: on iff some mask voxel is within r (dilation by the
//!   Euclidean ball of radius r). `margin(−r)`: on iff on and no off voxel,
//!   inside or outside the box, is within r (erosion by the same ball; a
//!   voxel's nearest outside voxel is `min(i + 1, n − i) × spacing` away along
//!   some axis). `margin(0)` is the mask.
//! - `hollow(T)`: `Inside` = mask − margin(−T); `Outside` = margin(+T) − mask;
//!   `Centred` = margin(+T/2) − margin(−T/2).
//! - `opening(r)` = margin(margin(m, −r), +r); `closing(r)` = margin(margin(m, +r), −r).
//! - `median(r)`: kernel = all offsets within r, centre included; on iff
//!   strictly more than half of the kernel's voxels are on, kernel voxels
//!   outside the box counting as off.
//! - `gaussian(σ)`: the 0/1 mask convolved with a separable Gaussian of σ/spacing
//!   voxels per axis, truncated at `floor(4σ_v + 0.5)` voxels (as scipy) and
//!   normalised over that full window, outside = 0; on iff the value is ≥ 0.5.
//!
//! Invalid parameters give a [`MorphologyError`], never a panic.

use rayon::prelude::*;

use super::distance::{distance_sq_mm, map_lines};
use super::mask::Mask;

/// Relative tolerance of "within r" (see the module comment).
const TOL: f64 = 1e-9;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MorphologyError {
    #[error("spacing_mm[{axis}] = {value}: must be finite and > 0")]
    Spacing { axis: usize, value: f64 },
    #[error("{name} = {value}: must be finite")]
    NotFinite { name: &'static str, value: f64 },
    #[error("{name} = {value}: must not be negative")]
    Negative { name: &'static str, value: f64 },
    #[error("mask of size {size:?} has {bits} bits")]
    MaskSize { size: [usize; 3], bits: usize },
}

/// Which side of the surface a [`hollow`] shell lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HollowMode {
    Inside,
    Outside,
    Centred,
}

/// Grows (`mm` > 0) or shrinks (`mm` < 0) the mask by a Euclidean ball of |mm|.
pub fn margin(mask: &Mask, spacing_mm: [f64; 3], mm: f64) -> Result<Mask, MorphologyError> {
    validate(mask, spacing_mm)?;
    let mm = param("mm", mm, true)?;
    Ok(if mm >= 0.0 {
        grow(mask, spacing_mm, mm)
    } else {
        shrink(mask, spacing_mm, -mm)
    })
}

/// A shell of `thickness_mm` along the mask's surface.
pub fn hollow(
    mask: &Mask,
    spacing_mm: [f64; 3],
    thickness_mm: f64,
    mode: HollowMode,
) -> Result<Mask, MorphologyError> {
    validate(mask, spacing_mm)?;
    let t = param("thickness_mm", thickness_mm, false)?;
    Ok(match mode {
        HollowMode::Inside => mask.minus(&shrink(mask, spacing_mm, t)),
        HollowMode::Outside => grow(mask, spacing_mm, t).minus(mask),
        HollowMode::Centred => {
            grow(mask, spacing_mm, t / 2.0).minus(&shrink(mask, spacing_mm, t / 2.0))
        }
    })
}

/// Removes parts thinner than the ball of `radius_mm`.
pub fn opening(mask: &Mask, spacing_mm: [f64; 3], radius_mm: f64) -> Result<Mask, MorphologyError> {
    validate(mask, spacing_mm)?;
    let r = param("radius_mm", radius_mm, false)?;
    Ok(grow(&shrink(mask, spacing_mm, r), spacing_mm, r))
}

/// Fills gaps narrower than the ball of `radius_mm`.
pub fn closing(mask: &Mask, spacing_mm: [f64; 3], radius_mm: f64) -> Result<Mask, MorphologyError> {
    validate(mask, spacing_mm)?;
    let r = param("radius_mm", radius_mm, false)?;
    Ok(shrink(&grow(mask, spacing_mm, r), spacing_mm, r))
}

/// Majority vote over the Euclidean ball of `radius_mm`. The ball is
/// centrally symmetric with its centre, so its size is odd and ties cannot occur.
pub fn median(mask: &Mask, spacing_mm: [f64; 3], radius_mm: f64) -> Result<Mask, MorphologyError> {
    validate(mask, spacing_mm)?;
    let r = param("radius_mm", radius_mm, false)?;
    let [n0, n1, n2] = mask.size;
    let total = mask.bits.len();
    if total == 0 {
        return Ok(mask.clone());
    }
    let Some(kernel) = Kernel::ball(spacing_mm, r, mask.size, total) else {
        return Ok(Mask::new(mask.size));
    };
    // Per-row prefix counts: each kernel row span then costs two lookups.
    let mut prefix = vec![0u32; (n0 + 1) * n1 * n2];
    prefix
        .par_chunks_mut(n0 + 1)
        .zip(mask.bits.par_chunks(n0))
        .for_each(|(p, row)| {
            for (i, &on) in row.iter().enumerate() {
                p[i + 1] = p[i] + u32::from(on);
            }
        });
    let mut bits = vec![false; total];
    bits.par_chunks_mut(n0).enumerate().for_each_init(
        || vec![0u64; n0],
        |counts, (row, out)| {
            counts.fill(0);
            let (j, k) = ((row % n1) as i64, (row / n1) as i64);
            for span in &kernel.spans {
                let (jj, kk) = (j + span.dj, k + span.dk);
                if jj < 0 || kk < 0 || jj >= n1 as i64 || kk >= n2 as i64 {
                    continue;
                }
                let at = (n0 + 1) * (jj as usize + n1 * kk as usize);
                let p = &prefix[at..at + n0 + 1];
                for (i, c) in counts.iter_mut().enumerate() {
                    let (lo, hi) = (i.saturating_sub(span.h), (i + span.h + 1).min(n0));
                    *c += u64::from(p[hi] - p[lo]);
                }
            }
            for (o, &c) in out.iter_mut().zip(counts.iter()) {
                *o = 2 * c > kernel.size;
            }
        },
    );
    Ok(Mask::from_bits(mask.size, bits))
}

/// Smooths the surface: Gaussian blur of the 0/1 mask, then threshold at 0.5.
pub fn gaussian(mask: &Mask, spacing_mm: [f64; 3], sigma_mm: f64) -> Result<Mask, MorphologyError> {
    validate(mask, spacing_mm)?;
    let sigma = param("sigma_mm", sigma_mm, false)?;
    let bits = blur(mask, spacing_mm, sigma)
        .par_iter()
        .map(|&v| v >= 0.5)
        .collect();
    Ok(Mask::from_bits(mask.size, bits))
}

fn validate(mask: &Mask, spacing_mm: [f64; 3]) -> Result<(), MorphologyError> {
    for (axis, &value) in spacing_mm.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(MorphologyError::Spacing { axis, value });
        }
    }
    let [a, b, c] = mask.size;
    if a.checked_mul(b).and_then(|ab| ab.checked_mul(c)) != Some(mask.bits.len()) {
        return Err(MorphologyError::MaskSize {
            size: mask.size,
            bits: mask.bits.len(),
        });
    }
    Ok(())
}

fn param(name: &'static str, value: f64, allow_negative: bool) -> Result<f64, MorphologyError> {
    if !value.is_finite() {
        Err(MorphologyError::NotFinite { name, value })
    } else if value < 0.0 && !allow_negative {
        Err(MorphologyError::Negative { name, value })
    } else {
        Ok(value)
    }
}

/// Squared distance at or below which two centres are "within r".
fn limit_sq(r: f64) -> f64 {
    (r * (1.0 + TOL)).powi(2)
}

fn grow(mask: &Mask, spacing: [f64; 3], r: f64) -> Mask {
    if r == 0.0 || mask.is_empty() {
        return mask.clone();
    }
    let lim = limit_sq(r);
    let d = distance_sq_mm(mask, spacing);
    Mask::from_bits(mask.size, d.par_iter().map(|&d| d <= lim).collect())
}

fn shrink(mask: &Mask, spacing: [f64; 3], r: f64) -> Mask {
    if r == 0.0 || mask.is_empty() {
        return mask.clone();
    }
    let lim = limit_sq(r);
    let d = distance_sq_mm(&mask.not(), spacing);
    let size = mask.size;
    // Squared distance to the nearest voxel just outside the box.
    let face_sq = |ijk: [usize; 3]| {
        (0..3)
            .map(|a| ((ijk[a] + 1).min(size[a] - ijk[a]) as f64 * spacing[a]).powi(2))
            .fold(f64::INFINITY, f64::min)
    };
    let bits = (0..mask.bits.len())
        .into_par_iter()
        .map(|x| mask.bits[x] && d[x] > lim && face_sq(mask.ijk(x)) > lim)
        .collect();
    Mask::from_bits(size, bits)
}

/// One row span of the ball: offsets (−h..=h, dj, dk).
struct Span {
    dj: i64,
    dk: i64,
    h: usize,
}

/// The median's ball as row spans, plus its voxel count.
struct Kernel {
    spans: Vec<Span>,
    size: u64,
}

impl Kernel {
    /// `None` when the ball holds ≥ 2 × `total` voxels: no voxel can then have
    /// a majority, and huge radii would otherwise take forever to enumerate.
    fn ball(s: [f64; 3], r: f64, size: [usize; 3], total: usize) -> Option<Kernel> {
        let lim = limit_sq(r);
        let cap = 2 * total as u64;
        let sq = |t: i64, a: usize| (t as f64 * s[a]).powi(2);
        let within = |di: i64, dj: i64, dk: i64| sq(di, 0) + sq(dj, 1) + sq(dk, 2) <= lim;
        // Largest t ≥ 0 with fits(t), starting from a floating guess; the
        // exact predicate then fixes the guess's rounding.
        let largest = |guess: f64, fits: &dyn Fn(i64) -> bool| -> Option<i64> {
            if guess.is_nan() || guess >= cap as f64 {
                return None;
            }
            let mut t = guess.max(0.0) as i64;
            while t > 0 && !fits(t) {
                t -= 1;
            }
            while fits(t + 1) {
                t += 1;
            }
            Some(t)
        };
        let reach = |base: f64, a: usize| ((lim - base).max(0.0)).sqrt() / s[a];
        let (mut spans, mut count) = (Vec::new(), 0u64);
        let m2 = largest(reach(0.0, 2), &|dk| within(0, 0, dk))?;
        for dk in -m2..=m2 {
            let m1 = largest(reach(sq(dk, 2), 1), &|dj| within(0, dj, dk))?;
            for dj in -m1..=m1 {
                let h = largest(reach(sq(dj, 1) + sq(dk, 2), 0), &|di| within(di, dj, dk))?;
                count += 2 * h as u64 + 1;
                if count >= cap {
                    return None;
                }
                if dj.unsigned_abs() < size[1] as u64 && dk.unsigned_abs() < size[2] as u64 {
                    let h = (h as usize).min(size[0]);
                    spans.push(Span { dj, dk, h });
                }
            }
        }
        Some(Kernel { spans, size: count })
    }
}

/// The mask as 0/1 blurred by the separable Gaussian of the module comment.
fn blur(mask: &Mask, spacing: [f64; 3], sigma: f64) -> Vec<f64> {
    let mut src: Vec<f64> = mask
        .bits
        .par_iter()
        .map(|&on| f64::from(u8::from(on)))
        .collect();
    if src.is_empty() {
        return src;
    }
    let mut dst = vec![0.0; src.len()];
    for (axis, &s) in spacing.iter().enumerate() {
        let w = half_kernel(sigma / s, mask.size[axis]);
        if w == [1.0] {
            continue;
        }
        // Full symmetric kernel, so each output is one slice dot product.
        let reach = w.len() - 1;
        let full: Vec<f64> = w.iter().rev().chain(&w[1..]).copied().collect();
        map_lines(&src, &mut dst, mask.size, axis, |f, d, _: &mut ()| {
            if f.iter().all(|&x| x == 0.0) {
                d.fill(0.0); // most lines of a sparse mask
                return;
            }
            for (q, dq) in d.iter_mut().enumerate() {
                let lo = q.saturating_sub(reach);
                let hi = (q + reach).min(f.len() - 1);
                let taps = &full[lo + reach - q..];
                *dq = f[lo..=hi].iter().zip(taps).map(|(x, t)| x * t).sum();
            }
        });
        std::mem::swap(&mut src, &mut dst);
    }
    src
}

/// Weights for offsets 0..=min(R, n − 1), normalised over the full −R..=R;
/// taps beyond the line could only reach outside the box, which is 0.
fn half_kernel(sigma_vox: f64, n: usize) -> Vec<f64> {
    let r = (4.0 * sigma_vox + 0.5).floor();
    if r.is_nan() || r < 1.0 {
        return vec![1.0];
    }
    let g = |t: f64| (-(t * t) / (2.0 * sigma_vox * sigma_vox)).exp();
    let norm = if r <= f64::from(1u32 << 20) {
        1.0 + 2.0 * (1..=r as u64).map(|t| g(t as f64)).sum::<f64>()
    } else {
        // No need to sum millions of taps: for σ this large the truncated sum
        // equals the integral σ√(2π)·erf(4/√2) to ~1e-9 relative.
        const ERF_2_SQRT2: f64 = 0.999_936_657_516_333_8;
        sigma_vox * (2.0 * std::f64::consts::PI).sqrt() * ERF_2_SQRT2
    };
    let keep = r.min((n - 1) as f64) as usize;
    (0..=keep).map(|t| g(t as f64) / norm).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic test masks without a rand dependency.
    struct Rng(u64);
    impl Rng {
        fn unit(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        }
        fn mask(&mut self, size: [usize; 3], p: f64) -> Mask {
            let n = size.iter().product();
            Mask::from_bits(size, (0..n).map(|_| self.unit() < p).collect())
        }
    }

    const SPACINGS: [[f64; 3]; 3] = [[1.0, 1.0, 1.0], [0.7, 1.3, 2.5], [2.2, 0.6, 1.1]];
    const SIZE: [usize; 3] = [9, 7, 6];

    /// Every offset within r, by brute force over a generous cube.
    fn ball(s: [f64; 3], r: f64) -> Vec<[i64; 3]> {
        let lim = (r * (1.0 + 1e-9)).powi(2);
        let m = |a: usize| (r / s[a]) as i64 + 2;
        let mut out = Vec::new();
        for dk in -m(2)..=m(2) {
            for dj in -m(1)..=m(1) {
                for di in -m(0)..=m(0) {
                    let d2 = (di as f64 * s[0]).powi(2)
                        + (dj as f64 * s[1]).powi(2)
                        + (dk as f64 * s[2]).powi(2);
                    if d2 <= lim {
                        out.push([di, dj, dk]);
                    }
                }
            }
        }
        out
    }

    /// The neighbour at `ijk + o`, or None outside the box.
    fn at(m: &Mask, ijk: [usize; 3], o: [i64; 3]) -> Option<bool> {
        let mut p = [0; 3];
        for a in 0..3 {
            let v = ijk[a] as i64 + o[a];
            if v < 0 || v >= m.size[a] as i64 {
                return None;
            }
            p[a] = v as usize;
        }
        Some(m.get(p))
    }

    /// Applies `rule(voxel, neighbours over the ball)` to every voxel.
    fn brute(m: &Mask, s: [f64; 3], r: f64, rule: impl Fn(bool, &[Option<bool>]) -> bool) -> Mask {
        let k = ball(s, r);
        let bits = (0..m.bits.len())
            .map(|x| {
                let n: Vec<_> = k.iter().map(|&o| at(m, m.ijk(x), o)).collect();
                rule(m.bits[x], &n)
            })
            .collect();
        Mask::from_bits(m.size, bits)
    }

    fn dilate(m: &Mask, s: [f64; 3], r: f64) -> Mask {
        brute(m, s, r, |_, n| n.contains(&Some(true)))
    }

    fn erode(m: &Mask, s: [f64; 3], r: f64) -> Mask {
        brute(m, s, r, |on, n| on && n.iter().all(|&v| v == Some(true)))
    }

    fn cube(size: [usize; 3], lo: [usize; 3], hi: [usize; 3]) -> Mask {
        let mut m = Mask::new(size);
        for x in 0..m.bits.len() {
            let p = m.ijk(x);
            m.bits[x] = (0..3).all(|a| lo[a] <= p[a] && p[a] < hi[a]);
        }
        m
    }

    #[test]
    fn margin_matches_brute_ball_for_random_radii() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for s in SPACINGS {
            for _ in 0..12 {
                let p = 0.05 + 0.6 * rng.unit();
                let m = rng.mask(SIZE, p);
                let d = 4.0 * rng.unit();
                assert_eq!(margin(&m, s, d).unwrap(), dilate(&m, s, d), "+{d} {s:?}");
                assert_eq!(margin(&m, s, -d).unwrap(), erode(&m, s, d), "-{d} {s:?}");
            }
            // Radii exactly on grid distances exercise the boundary tolerance.
            for d in [s[0], s[1], 2.0 * s[2], (s[0] * s[0] + s[1] * s[1]).sqrt()] {
                let m = rng.mask(SIZE, 0.2);
                assert_eq!(margin(&m, s, d).unwrap(), dilate(&m, s, d));
                assert_eq!(margin(&m, s, -d).unwrap(), erode(&m, s, d));
            }
        }
    }

    #[test]
    fn margin_zero_empty_and_full() {
        let s = [0.7, 1.3, 2.5];
        let m = Rng(7).mask(SIZE, 0.3);
        assert_eq!(margin(&m, s, 0.0).unwrap(), m);
        let empty = Mask::new(SIZE);
        assert_eq!(margin(&empty, s, 3.0).unwrap(), empty);
        assert_eq!(margin(&empty, s, -3.0).unwrap(), empty);
        let full = empty.not();
        assert_eq!(margin(&full, s, 3.0).unwrap(), full);
        assert_eq!(margin(&full, s, 1e300).unwrap(), full);
        assert_eq!(margin(&m, s, 1e300).unwrap(), full);
        assert_eq!(margin(&full, s, -1e300).unwrap(), empty);
        assert_eq!(
            margin(&Mask::new([0, 3, 3]), s, 2.0).unwrap(),
            Mask::new([0, 3, 3])
        );
    }

    #[test]
    fn single_voxel_grown_by_exactly_one_spacing() {
        let s = [0.7, 1.3, 2.5];
        let mut m = Mask::new([5, 5, 5]);
        m.set([2, 2, 2], true);
        // 0.7 reaches ±i only; 1.3 also ±j (1.4 and √(0.7²+1.3²) are out).
        assert_eq!(margin(&m, s, 0.7).unwrap().count(), 3);
        let g = margin(&m, s, 1.3).unwrap();
        assert_eq!(g.count(), 5);
        assert!(g.get([2, 1, 2]) && g.get([2, 3, 2]) && !g.get([0, 2, 2]));
        // 2.5: ±k exactly, plus di in −2..=2 (box-clipped) for dj in −1..=1.
        assert_eq!(margin(&m, s, 2.5).unwrap().count(), 2 + 15);
    }

    #[test]
    fn shrink_full_box_by_face_distance() {
        let s = [0.7, 1.3, 2.5];
        let full = Mask::new(SIZE).not();
        // Kept iff (min(i + 1, n − i) × s) > 1.3 on every axis: i 1..=7, j 1..=5.
        let e = margin(&full, s, -1.3).unwrap();
        assert_eq!(e, cube(SIZE, [1, 1, 0], [8, 6, 6]));
        assert_eq!(margin(&full, s, -0.69).unwrap(), full);
        assert_eq!(
            margin(&full, s, -0.7).unwrap(),
            cube(SIZE, [1, 0, 0], [8, 7, 6])
        );
    }

    #[test]
    fn hollow_follows_its_definitions() {
        let c = cube([9, 9, 9], [2, 2, 2], [7, 7, 7]);
        let s = [1.0; 3];
        assert_eq!(
            hollow(&c, s, 1.0, HollowMode::Inside).unwrap().count(),
            125 - 27
        );
        assert_eq!(
            hollow(&c, s, 1.0, HollowMode::Outside).unwrap().count(),
            150
        );
        assert_eq!(
            hollow(&c, s, 2.0, HollowMode::Centred).unwrap().count(),
            275 - 27
        );
        assert!(hollow(&c, s, 0.0, HollowMode::Inside).unwrap().is_empty());
        let mut rng = Rng(99);
        for s in SPACINGS {
            let m = rng.mask(SIZE, 0.4);
            let t = 3.0 * rng.unit();
            let inside = m.minus(&erode(&m, s, t));
            assert_eq!(hollow(&m, s, t, HollowMode::Inside).unwrap(), inside);
            let outside = dilate(&m, s, t).minus(&m);
            assert_eq!(hollow(&m, s, t, HollowMode::Outside).unwrap(), outside);
            let centred = dilate(&m, s, t / 2.0).minus(&erode(&m, s, t / 2.0));
            assert_eq!(hollow(&m, s, t, HollowMode::Centred).unwrap(), centred);
        }
    }

    #[test]
    fn median_matches_brute_ball_majority() {
        let mut rng = Rng(0xfeed_beef);
        for s in SPACINGS {
            for r in [0.0, 0.5, 1.0, 1.3, 2.0, 2.6, 3.7] {
                for m in [
                    rng.mask(SIZE, 0.5),
                    rng.mask(SIZE, 0.8),
                    Mask::new(SIZE).not(),
                ] {
                    let want = brute(&m, s, r, |_, n| {
                        2 * n.iter().filter(|&&v| v == Some(true)).count() > n.len()
                    });
                    assert_eq!(median(&m, s, r).unwrap(), want, "r={r} {s:?}");
                }
            }
        }
    }

    #[test]
    fn median_edge_cases() {
        let m = Rng(3).mask(SIZE, 0.5);
        assert_eq!(median(&m, [1.0; 3], 0.0).unwrap(), m);
        // A ball bigger than twice the box can never hold a majority.
        assert!(median(&m, [1.0; 3], 1e9).unwrap().is_empty());
        assert!(median(&m, [1e-300; 3], 1.0).unwrap().is_empty());
        assert!(
            median(&Mask::new([4, 0, 2]), [1.0; 3], 2.0)
                .unwrap()
                .bits
                .is_empty()
        );
    }

    #[test]
    fn opening_removes_spur_and_closing_fills_gap() {
        let size = [13, 13, 13];
        // r = 1.75 at 1 mm: the ball is the 3×3×3 cube, so cubes survive whole.
        let block = cube(size, [4, 4, 4], [9, 9, 9]);
        let mut spurred = block.clone();
        for i in 9..12 {
            spurred.set([i, 6, 6], true);
        }
        assert_eq!(opening(&spurred, [1.0; 3], 1.75).unwrap(), block);
        let mut gapped = cube(size, [3, 4, 4], [10, 9, 9]);
        for x in 0..gapped.bits.len() {
            if gapped.ijk(x)[0] == 6 {
                gapped.bits[x] = false;
            }
        }
        let filled = closing(&gapped, [1.0; 3], 1.75).unwrap();
        assert_eq!(filled, cube(size, [3, 4, 4], [10, 9, 9]));
        assert_eq!(opening(&gapped, [1.0; 3], 0.0).unwrap(), gapped);
    }

    /// Direct 3-D sum of the separable kernel over the box.
    fn brute_blur(m: &Mask, s: [f64; 3], sigma: f64) -> Vec<f64> {
        let axis = |a: usize| {
            let sv = sigma / s[a];
            let r = (4.0 * sv + 0.5).floor() as i64;
            let g = move |t: i64| (-((t * t) as f64) / (2.0 * sv * sv)).exp();
            let norm: f64 = (-r..=r).map(g).sum();
            move |t: i64| if t.abs() <= r { g(t) / norm } else { 0.0 }
        };
        let w = [axis(0), axis(1), axis(2)];
        (0..m.bits.len())
            .map(|x| {
                let p = m.ijk(x);
                (0..m.bits.len())
                    .filter(|&y| m.bits[y])
                    .map(|y| {
                        let q = m.ijk(y);
                        (0..3)
                            .map(|a| w[a](p[a] as i64 - q[a] as i64))
                            .product::<f64>()
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn gaussian_by_hand_on_a_tiny_line() {
        // σ = 0.25 voxel: taps −1..=1 with weights e⁻⁸ : 1 : e⁻⁸; the size-1
        // axes only lose their side taps to the outside.
        let m = Mask::from_bits([4, 1, 1], vec![true, true, false, false]);
        let (e, n) = ((-8.0f64).exp(), 1.0 + 2.0 * (-8.0f64).exp());
        let want = [
            (1.0 + e) / n.powi(3),
            (1.0 + e) / n.powi(3),
            e / n.powi(3),
            0.0,
        ];
        for (g, w) in blur(&m, [1.0; 3], 0.25).iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
        assert_eq!(gaussian(&m, [1.0; 3], 0.25).unwrap(), m);
    }

    #[test]
    fn gaussian_matches_brute_convolution() {
        let mut rng = Rng(0xabcdef);
        for s in SPACINGS {
            for sigma in [0.3, 0.9, 1.7, 6.0] {
                let m = rng.mask(SIZE, 0.5);
                let want = brute_blur(&m, s, sigma);
                let got = blur(&m, s, sigma);
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-12, "{g} vs {w}");
                }
                let bits: Vec<bool> = want.iter().map(|&v| v >= 0.5).collect();
                assert_eq!(gaussian(&m, s, sigma).unwrap().bits, bits);
            }
        }
    }

    #[test]
    fn gaussian_extremes() {
        let m = Rng(5).mask(SIZE, 0.5);
        assert_eq!(gaussian(&m, [1.0; 3], 0.0).unwrap(), m);
        assert_eq!(gaussian(&m, [1.0; 3], 1e-300).unwrap(), m);
        assert!(gaussian(&m, [1.0; 3], 1e12).unwrap().is_empty());
        assert!(gaussian(&m, [1e-300; 3], 1.0).unwrap().is_empty());
        let full = Mask::new(SIZE).not();
        // Deep inside a full box the blur stays ~1; at corners it drops to ~1/8.
        let g = gaussian(&full, [1.0; 3], 1.0).unwrap();
        assert!(g.get([4, 3, 3]) && !g.get([0, 0, 0]));
    }

    #[test]
    fn huge_sigma_normalisation_matches_the_exact_sum() {
        // R = 1_200_000 > 2²⁰ takes the closed form; check it against summing.
        let sv: f64 = 300_000.0;
        let g = |t: f64| (-(t * t) / (2.0 * sv * sv)).exp();
        let exact = 1.0 + 2.0 * (1..=1_200_000u32).map(|t| g(f64::from(t))).sum::<f64>();
        let w = half_kernel(sv, 3);
        assert_eq!(w.len(), 3);
        assert!((w[0] * exact - 1.0).abs() < 1e-8, "{}", w[0] * exact);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let m = Mask::new([3, 3, 3]);
        let s = [1.0; 3];
        let nf = |name, value| MorphologyError::NotFinite { name, value };
        assert_eq!(margin(&m, s, f64::INFINITY), Err(nf("mm", f64::INFINITY)));
        assert!(matches!(
            margin(&m, s, f64::NAN),
            Err(MorphologyError::NotFinite { .. })
        ));
        let neg = MorphologyError::Negative {
            name: "radius_mm",
            value: -1.0,
        };
        assert_eq!(median(&m, s, -1.0), Err(neg.clone()));
        assert_eq!(opening(&m, s, -1.0), Err(neg.clone()));
        assert_eq!(closing(&m, s, -1.0), Err(neg));
        assert!(hollow(&m, s, -0.5, HollowMode::Centred).is_err());
        assert!(gaussian(&m, s, f64::NEG_INFINITY).is_err());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = margin(&m, [1.0, bad, 1.0], 1.0).unwrap_err();
            assert!(
                matches!(err, MorphologyError::Spacing { axis: 1, .. }),
                "{err}"
            );
        }
        let broken = Mask {
            size: [3, 3, 3],
            bits: vec![true; 5],
        };
        assert!(matches!(
            gaussian(&broken, s, 1.0),
            Err(MorphologyError::MaskSize { .. })
        ));
        let huge = Mask {
            size: [usize::MAX, 2, 1],
            bits: vec![],
        };
        assert!(median(&huge, s, 1.0).is_err());
        assert_eq!(nf("mm", 1.0 / 0.0).to_string(), "mm = inf: must be finite");
    }
}
