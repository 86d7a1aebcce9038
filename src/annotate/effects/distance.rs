//! Exact Euclidean distance transform on an anisotropic voxel grid.
//!
//! A squared distance is a sum of per-axis terms, so three 1-D passes of the
//! Felzenszwalb–Huttenlocher lower envelope of parabolas (O(n) per line) give
//! the exact result; this equals
//! `scipy.ndimage.distance_transform_edt(~mask, sampling=spacing)`.
//! Voxel centres sit at `index × spacing`; lines of each pass run in parallel.
//!
//! `spacing_mm` must be finite and > 0 on every axis (the morphology effects
//! check this); other values give meaningless numbers but never panic.

use rayon::prelude::*;

use super::mask::Mask;

/// Distance in mm from each voxel centre of the box to the nearest centre of a
/// voxel in `mask`: 0 on the mask, `f64::INFINITY` everywhere if it is empty.
/// Panics only if `mask.bits` does not hold one value per voxel of `mask.size`.
pub fn distance_mm(mask: &Mask, spacing_mm: [f64; 3]) -> Vec<f64> {
    let mut d = distance_sq_mm(mask, spacing_mm);
    d.par_iter_mut().for_each(|v| *v = v.sqrt());
    d
}

/// As [`distance_mm`] but squared (mm²): cheaper to threshold.
pub fn distance_sq_mm(mask: &Mask, spacing_mm: [f64; 3]) -> Vec<f64> {
    assert_eq!(
        mask.bits.len(),
        mask.size.iter().product::<usize>(),
        "mask size"
    );
    let n0 = mask.size[0];
    let mut src = vec![0.0; mask.bits.len()];
    if src.is_empty() {
        return src;
    }
    // Along i the seeds are binary: two sweeps give the gap to the nearest one
    // without the envelope's divisions.
    let w0 = spacing_mm[0] * spacing_mm[0];
    src.par_chunks_mut(n0)
        .zip(mask.bits.par_chunks(n0))
        .for_each(|(out, row)| {
            let mut last = None;
            for (q, (o, &on)) in out.iter_mut().zip(row).enumerate() {
                if on {
                    last = Some(q);
                }
                *o = last.map_or(f64::INFINITY, |p| (q - p) as f64);
            }
            let mut next = None;
            for (q, (o, &on)) in out.iter_mut().zip(row).enumerate().rev() {
                if on {
                    next = Some(q);
                }
                if let Some(p) = next {
                    *o = o.min((p - q) as f64);
                }
                *o = w0 * *o * *o;
            }
        });
    let mut dst = vec![0.0; src.len()];
    for (axis, &s) in spacing_mm.iter().enumerate().skip(1) {
        // A single-voxel axis has nothing to propagate along.
        if mask.size[axis] > 1 {
            let w = s * s;
            map_lines(
                &src,
                &mut dst,
                mask.size,
                axis,
                |f, d, env: &mut Envelope| env.transform(f, d, w),
            );
            std::mem::swap(&mut src, &mut dst);
        }
    }
    src
}

/// Scratch of the lower envelope, reused across the lines of one task.
#[derive(Default)]
struct Envelope {
    /// Parabolas on the envelope: position p and f[p] + w p².
    v: Vec<(usize, f64)>,
    /// Left end of each parabola's stretch of the envelope (`z[0]` = −∞).
    z: Vec<f64>,
}

impl Envelope {
    /// `d[q] = min_p f[p] + w (q − p)²`; infinite `f` (no seed yet) are skipped
    /// so that empty lines stay infinite instead of making NaNs.
    fn transform(&mut self, f: &[f64], d: &mut [f64], w: f64) {
        let (v, z) = (&mut self.v, &mut self.z);
        v.clear();
        z.clear();
        for (q, &fq) in f.iter().enumerate() {
            if fq == f64::INFINITY {
                continue;
            }
            let hq = fq + w * (q as f64).powi(2);
            // Pop parabolas hidden by q's; z[0] = −∞ stops at the last one.
            while let (Some(&(p, hp)), Some(&zl)) = (v.last(), z.last()) {
                let s = (hq - hp) / (2.0 * w * (q - p) as f64);
                if s > zl {
                    v.push((q, hq));
                    z.push(s);
                    break;
                }
                v.pop();
                z.pop();
            }
            if v.is_empty() {
                v.push((q, hq));
                z.push(f64::NEG_INFINITY);
            }
        }
        if v.is_empty() {
            d.fill(f64::INFINITY);
            return;
        }
        let mut k = 0;
        for (q, dq) in d.iter_mut().enumerate() {
            while k + 1 < v.len() && z[k + 1] < q as f64 {
                k += 1;
            }
            let p = v[k].0;
            let off = q.abs_diff(p) as f64;
            *dq = w * off * off + f[p];
        }
    }
}

/// Applies a 1-D transform `f(line_in, line_out, scratch)` to every line of
/// `src` along `axis` (box `size`, i fastest), writing into `dst`. Lines are
/// gathered into contiguous buffers so `f` never sees strides. Parallel over
/// rows (axis 0) or over the planes that hold whole lines (axes 1 and 2).
pub(crate) fn map_lines<S, F>(src: &[f64], dst: &mut [f64], size: [usize; 3], axis: usize, f: F)
where
    S: Default + Send,
    F: Fn(&[f64], &mut [f64], &mut S) + Sync,
{
    let [n0, n1, n2] = size;
    if src.is_empty() || src.len() != dst.len() {
        return;
    }
    if axis == 0 {
        dst.par_chunks_mut(n0)
            .zip(src.par_chunks(n0))
            .for_each_init(S::default, |s, (out, line)| f(line, out, s));
        return;
    }
    // Row r = (j, k) belongs to plane k (axis 1) or j (axis 2); handing each
    // task its rows as slices keeps the split safe without copying planes.
    // Few planes (a thin box) are also cut into column strips to keep every
    // thread busy.
    let (count, len) = if axis == 1 { (n2, n1) } else { (n1, n2) };
    let strips = (4 * rayon::current_num_threads())
        .div_ceil(count)
        .clamp(1, n0.div_ceil(8));
    let width = n0.div_ceil(strips);
    let mut tasks: Vec<(Vec<_>, Vec<_>)> = (0..count * strips)
        .map(|_| (Vec::with_capacity(len), Vec::with_capacity(len)))
        .collect();
    for (r, (row_in, row_out)) in src.chunks(n0).zip(dst.chunks_mut(n0)).enumerate() {
        let plane = if axis == 1 { r / n1 } else { r % n1 };
        for (c, part) in row_in
            .chunks(width)
            .zip(row_out.chunks_mut(width))
            .enumerate()
        {
            tasks[plane * strips + c].0.push(part.0);
            tasks[plane * strips + c].1.push(part.1);
        }
    }
    tasks
        .into_par_iter()
        .for_each_init(S::default, |s, (ins, mut outs)| {
            columns(&ins, &mut outs, &f, s)
        });
}

/// Transforms the columns of a stack of equal rows, a few at a time so each
/// cache line read or written serves several lines.
fn columns<S, F>(ins: &[&[f64]], outs: &mut [&mut [f64]], f: &F, s: &mut S)
where
    F: Fn(&[f64], &mut [f64], &mut S),
{
    const BLOCK: usize = 8;
    let (m, n0) = (ins.len(), ins.first().map_or(0, |r| r.len()));
    let mut lines = vec![0.0; BLOCK * m];
    let mut res = vec![0.0; BLOCK * m];
    for i0 in (0..n0).step_by(BLOCK) {
        let width = BLOCK.min(n0 - i0);
        for (t, row) in ins.iter().enumerate() {
            for (b, &x) in row[i0..i0 + width].iter().enumerate() {
                lines[b * m + t] = x;
            }
        }
        for b in 0..width {
            f(&lines[b * m..(b + 1) * m], &mut res[b * m..(b + 1) * m], s);
        }
        for (t, row) in outs.iter_mut().enumerate() {
            for (b, x) in row[i0..i0 + width].iter_mut().enumerate() {
                *x = res[b * m + t];
            }
        }
    }
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
    }

    fn random_mask(rng: &mut Rng, size: [usize; 3], p: f64) -> Mask {
        let n = size.iter().product();
        Mask::from_bits(size, (0..n).map(|_| rng.unit() < p).collect())
    }

    /// O(n²) over all voxel pairs.
    fn brute(mask: &Mask, s: [f64; 3]) -> Vec<f64> {
        (0..mask.bits.len())
            .map(|a| {
                let pa = mask.ijk(a);
                (0..mask.bits.len())
                    .filter(|&b| mask.bits[b])
                    .map(|b| {
                        let pb = mask.ijk(b);
                        (0..3)
                            .map(|x| ((pa[x] as f64 - pb[x] as f64) * s[x]).powi(2))
                            .sum::<f64>()
                            .sqrt()
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect()
    }

    const SPACINGS: [[f64; 3]; 4] = [
        [1.0, 1.0, 1.0],
        [0.7, 1.3, 2.5],
        [2.5, 0.7, 1.3],
        [0.3, 3.1, 0.9],
    ];

    #[test]
    fn matches_brute_force_on_random_masks() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for size in [[9, 7, 6], [1, 8, 5], [6, 1, 1], [4, 5, 1], [2, 2, 9]] {
            for p in [0.003, 0.05, 0.3, 0.8] {
                for s in SPACINGS {
                    let m = random_mask(&mut rng, size, p);
                    let (got, want) = (distance_mm(&m, s), brute(&m, s));
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            g == w || (g - w).abs() <= 1e-9 * w,
                            "{size:?} {s:?} p={p}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn empty_mask_is_infinite_and_full_mask_is_zero() {
        let empty = Mask::new([5, 4, 3]);
        assert!(
            distance_mm(&empty, [0.7, 1.3, 2.5])
                .iter()
                .all(|d| d.is_infinite())
        );
        let full = empty.not();
        assert!(
            distance_mm(&full, [0.7, 1.3, 2.5])
                .iter()
                .all(|&d| d == 0.0)
        );
    }

    #[test]
    fn single_voxel_gives_anisotropic_distances() {
        let mut m = Mask::new([3, 3, 3]);
        m.set([0, 0, 0], true);
        let d = distance_mm(&m, [0.5, 2.0, 3.0]);
        assert_eq!(d[m.index([2, 0, 0])], 1.0);
        assert_eq!(d[m.index([0, 1, 0])], 2.0);
        assert!((d[m.index([2, 2, 2])] - (1.0f64 + 16.0 + 36.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn zero_sized_box_is_empty() {
        assert!(distance_mm(&Mask::new([0, 4, 4]), [1.0; 3]).is_empty());
        assert!(distance_mm(&Mask::new([4, 4, 0]), [1.0; 3]).is_empty());
    }
}
