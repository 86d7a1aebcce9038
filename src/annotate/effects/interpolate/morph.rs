//! The one-to-one step of morphological contour interpolation (ITK's
//! `Interpolate1to1` with `UseDistanceTransform` off, i.e. Albu et al.'s
//! dilation sequences): two shapes, already put in correspondence, meet
//! halfway; their morphological median goes on the middle slice and each half
//! of the gap recurses against it.

/// A 2-D binary shape on its tight bounding box, in slice-plane coordinates.
/// Coordinates may leave the slice: shapes are translated to meet halfway and
/// are clipped only when painted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    pub x0: i64,
    pub y0: i64,
    pub w: usize,
    pub h: usize,
    pub bits: Vec<bool>,
}

/// Half-open box `[x0, x1) × [y0, y1)`.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
}

impl Bounds {
    fn union(self, o: Bounds) -> Bounds {
        Bounds {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }
    fn size(self) -> (usize, usize) {
        ((self.x1 - self.x0) as usize, (self.y1 - self.y0) as usize)
    }
}

impl Shape {
    pub fn from_pixels(px: &[[i64; 2]]) -> Shape {
        let Some(&[x, y]) = px.first() else {
            return Shape::empty();
        };
        let mut b = Bounds {
            x0: x,
            y0: y,
            x1: x + 1,
            y1: y + 1,
        };
        for &[x, y] in px {
            b = b.union(Bounds {
                x0: x,
                y0: y,
                x1: x + 1,
                y1: y + 1,
            });
        }
        let (w, h) = b.size();
        let mut bits = vec![false; w * h];
        for &[x, y] in px {
            bits[(x - b.x0) as usize + w * (y - b.y0) as usize] = true;
        }
        Shape {
            x0: b.x0,
            y0: b.y0,
            w,
            h,
            bits,
        }
    }

    fn empty() -> Shape {
        Shape {
            x0: 0,
            y0: 0,
            w: 0,
            h: 0,
            bits: Vec::new(),
        }
    }

    /// The set pixels of `bits` on box `b`, cropped to their own box.
    fn cropped(b: Bounds, bits: &[bool]) -> Shape {
        let (w, _) = b.size();
        let px: Vec<[i64; 2]> = bits
            .iter()
            .enumerate()
            .filter(|&(_, &on)| on)
            .map(|(p, _)| [b.x0 + (p % w) as i64, b.y0 + (p / w) as i64])
            .collect();
        Shape::from_pixels(&px)
    }

    pub fn is_empty(&self) -> bool {
        !self.bits.contains(&true)
    }

    pub fn pixels(&self) -> impl Iterator<Item = [i64; 2]> + '_ {
        self.bits
            .iter()
            .enumerate()
            .filter(|&(_, &on)| on)
            .map(|(p, _)| [self.x0 + (p % self.w) as i64, self.y0 + (p / self.w) as i64])
    }

    fn shifted(&self, t: [i64; 2]) -> Shape {
        Shape {
            x0: self.x0 + t[0],
            y0: self.y0 + t[1],
            ..self.clone()
        }
    }

    fn bounds(&self) -> Bounds {
        Bounds {
            x0: self.x0,
            y0: self.y0,
            x1: self.x0 + self.w as i64,
            y1: self.y0 + self.h as i64,
        }
    }

    /// This shape drawn on box `b`, which must contain it.
    fn raster(&self, b: Bounds) -> Vec<bool> {
        let (w, h) = b.size();
        let mut out = vec![false; w * h];
        for [x, y] in self.pixels() {
            out[(x - b.x0) as usize + w * (y - b.y0) as usize] = true;
        }
        out
    }
}

/// Calls `f` with each 4-neighbour of pixel `p` on a `w × h` grid (ITK's
/// default cross structuring element, hence 4-connectivity throughout).
pub(super) fn for_each_neighbour(p: usize, w: usize, h: usize, mut f: impl FnMut(usize)) {
    let (x, y) = (p % w, p / w);
    if x > 0 {
        f(p - 1);
    }
    if x + 1 < w {
        f(p + 1);
    }
    if y > 0 {
        f(p - w);
    }
    if y + 1 < h {
        f(p + w);
    }
}

/// Halves a translation the way ITK does: the first odd component rounds
/// towards zero, the next away from it, so that with both odd the half-pixel
/// errors go opposite ways instead of both favouring the first shape.
fn halve(t: [i64; 2]) -> [i64; 2] {
    let mut half = [t[0] / 2, t[1] / 2];
    let mut carry = false;
    for d in 0..2 {
        if t[d] % 2 != 0 {
            if carry {
                half[d] += t[d].signum();
                carry = false;
            } else {
                carry = true;
            }
        }
    }
    half
}

/// Interpolates shape `sa` on slice `a` with `sb` on slice `b`, where a pixel
/// `p` of `sa` corresponds to `p + t` of `sb`. Pushes the median shape of
/// every slice strictly between `a` and `b` onto `out`.
pub(super) fn one_to_one(
    a: usize,
    b: usize,
    sa: &Shape,
    sb: &Shape,
    t: [i64; 2],
    out: &mut Vec<(usize, Shape)>,
) {
    if a.abs_diff(b) < 2 || sa.is_empty() || sb.is_empty() {
        return;
    }
    // Move both halfway so that they overlap as the alignment found.
    let ta = halve(t);
    let tb = [ta[0] - t[0], ta[1] - t[1]];
    let (ma, mb) = (sa.shifted(ta), sb.shifted(tb));
    let bx = ma.bounds().union(mb.bounds());
    let (w, h) = bx.size();
    let med = Shape::cropped(bx, &median(&ma.raster(bx), &mb.raster(bx), w, h));
    if med.is_empty() {
        return; // the shapes did not overlap: nothing to grow from
    }
    let mid = (a + b) / 2;
    // The median lives in the halfway frame, so each side keeps its shift.
    // The halves are independent: let rayon share them out.
    let half = |s: usize, ss: &Shape, ts: [i64; 2]| {
        let mut o = Vec::new();
        one_to_one(s, mid, ss, &med, ts, &mut o);
        o
    };
    let (left, right) = rayon::join(|| half(a, sa, ta), || half(b, sb, tb));
    out.extend(left.into_iter().chain(right));
    out.push((mid, med));
}

/// Geodesic 4-distance from `seeds` inside `mask` (`u32::MAX` where
/// unreachable) and the largest finite one: step `k` of the conditional
/// dilation sequence is `{d <= k}`.
fn geodesic(mask: &[bool], seeds: &[bool], w: usize, h: usize) -> (Vec<u32>, u32) {
    let mut d = vec![u32::MAX; w * h];
    let mut queue: Vec<usize> = (0..w * h).filter(|&p| seeds[p] && mask[p]).collect();
    for &p in &queue {
        d[p] = 0;
    }
    let (mut head, mut max) = (0, 0);
    while let Some(&p) = queue.get(head) {
        head += 1;
        max = d[p];
        for_each_neighbour(p, w, h, |q| {
            if mask[q] && d[q] == u32::MAX {
                d[q] = d[p] + 1;
                queue.push(q);
            }
        });
    }
    (d, max)
}

/// `round(x * m / l)` for `l > 0`.
fn scaled(x: u32, m: u32, l: u32) -> u32 {
    ((2 * x as u64 * m as u64 + l as u64) / (2 * l as u64)) as u32
}

/// The morphological median of `a` and `b` (same `w × h` box). From their
/// intersection, conditional dilations inside `a` and inside `b` give two
/// sequences; walking one backwards (a → intersection) and the other forwards
/// (intersection → b) at matched speeds, their unions morph `a` into `b`. The
/// median is the union whose symmetric differences to `a` and to `b` are the
/// most equal (first one on ties), as in ITK's `FindMedianImageDilations`.
pub(super) fn median(a: &[bool], b: &[bool], w: usize, h: usize) -> Vec<bool> {
    let inter: Vec<bool> = a.iter().zip(b).map(|(&x, &y)| x && y).collect();
    let (da, m) = geodesic(a, &inter, w, h);
    let (db, n) = geodesic(b, &inter, w, h);
    let l = m.max(n);
    if l == 0 {
        return inter;
    }
    // Step x of L: a-part {da <= ka(x)} with ka falling from m to 0, b-part
    // {db <= kb(x)} with kb rising from 0 to n. A pixel is in step x iff
    // x <= last_a[da] or x >= first_b[db]; tabulate both so that every
    // step's counts come from difference arrays in one pass.
    let ka = |x| m - scaled(x, m, l);
    let kb = |x| scaled(x, n, l);
    let mut last_a = vec![0usize; m as usize + 1];
    for x in 0..=l {
        last_a[..=ka(x) as usize].fill(x as usize);
    }
    let mut first_b = vec![0usize; n as usize + 1];
    for x in (0..=l).rev() {
        first_b[..=kb(x) as usize].fill(x as usize);
    }
    // cnt[c][x] (as difference arrays over x): pixels of step x that are in a
    // (c = 0), not in a (1), in b (2), not in b (3).
    let steps = l as usize + 1;
    let mut cnt = vec![vec![0i64; steps + 1]; 4];
    let mut add = |p: usize, lo: usize, hi: usize| {
        for c in [if a[p] { 0 } else { 1 }, if b[p] { 2 } else { 3 }] {
            cnt[c][lo] += 1;
            cnt[c][hi] -= 1;
        }
    };
    let (mut na, mut nb) = (0i64, 0i64);
    for p in 0..w * h {
        na += a[p] as i64;
        nb += b[p] as i64;
        let xa = (da[p] != u32::MAX).then(|| last_a[da[p] as usize]);
        let xb = (db[p] != u32::MAX).then(|| first_b[db[p] as usize]);
        match (xa, xb) {
            (Some(xa), Some(xb)) if xb <= xa + 1 => add(p, 0, steps),
            _ => {
                if let Some(xa) = xa {
                    add(p, 0, xa + 1);
                }
                if let Some(xb) = xb {
                    add(p, xb, steps);
                }
            }
        }
    }
    for c in &mut cnt {
        let mut acc = 0;
        for v in c.iter_mut() {
            acc += *v;
            *v = acc;
        }
    }
    // |S Δ A| = |A \ S| + |S \ A|, likewise for B; the first best step wins.
    let score = |x: usize| ((na - cnt[0][x] + cnt[1][x]) - (nb - cnt[2][x] + cnt[3][x])).abs();
    let best_x = (0..steps).min_by_key(|&x| score(x)).unwrap_or(0) as u32;
    let (ka, kb) = (ka(best_x), kb(best_x));
    (0..w * h).map(|p| da[p] <= ka || db[p] <= kb).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward selection the difference arrays must reproduce.
    fn median_brute(a: &[bool], b: &[bool], w: usize, h: usize) -> Vec<bool> {
        let inter: Vec<bool> = a.iter().zip(b).map(|(&x, &y)| x && y).collect();
        let (da, m) = geodesic(a, &inter, w, h);
        let (db, n) = geodesic(b, &inter, w, h);
        let l = m.max(n);
        if l == 0 {
            return inter;
        }
        let step = |x| -> Vec<bool> {
            let (ka, kb) = (m - scaled(x, m, l), scaled(x, n, l));
            (0..w * h).map(|p| da[p] <= ka || db[p] <= kb).collect()
        };
        let sym = |s: &[bool], t: &[bool]| s.iter().zip(t).filter(|(x, y)| x != y).count() as i64;
        (0..=l)
            .map(step)
            .min_by_key(|s| (sym(s, a) - sym(s, b)).abs())
            .unwrap()
    }

    #[test]
    fn median_matches_brute_force_on_random_shapes() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..300 {
            let (w, h) = (3 + (rnd() % 14) as usize, 3 + (rnd() % 14) as usize);
            let density = [30, 55, 80][case % 3];
            let mut blob = || -> Vec<bool> {
                let (cx, cy) = ((rnd() % w as u64) as i64, (rnd() % h as u64) as i64);
                let r = 1 + (rnd() % 6) as i64;
                (0..w * h)
                    .map(|p| {
                        let (x, y) = ((p % w) as i64, (p / w) as i64);
                        (x - cx).pow(2) + (y - cy).pow(2) <= r * r || rnd() % 100 < density / 4
                    })
                    .collect()
            };
            let (a, b) = (blob(), blob());
            assert_eq!(
                median(&a, &b, w, h),
                median_brute(&a, &b, w, h),
                "case {case}"
            );
        }
    }

    #[test]
    fn halving_shares_odd_pixels() {
        assert_eq!(halve([4, -6]), [2, -3]);
        assert_eq!(halve([3, 3]), [1, 2]);
        assert_eq!(halve([-3, -3]), [-1, -2]);
        assert_eq!(halve([0, 5]), [0, 2]);
    }
}
