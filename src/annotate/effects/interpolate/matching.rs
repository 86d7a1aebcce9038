//! Region correspondences between two drawn slices, as ITK's
//! `InterpolateBetweenTwo`, `Align`, `Extrapolate` and `Interpolate1toN` make
//! them: every correspondence ends up as one-to-one jobs for `morph`.

use super::morph::{self, Shape};
use std::collections::{HashSet, VecDeque};

/// A drawn slice split into 4-connected regions: label `l > 0` is
/// `regions[l - 1]`.
pub(super) struct Labelled {
    w: usize,
    h: usize,
    labels: Vec<u32>,
    regions: Vec<Vec<[i64; 2]>>,
}

impl Labelled {
    pub fn new(bits: &[bool], w: usize, h: usize) -> Labelled {
        let mut labels = vec![0u32; w * h];
        let mut regions = Vec::new();
        let mut stack = Vec::new();
        for start in 0..w * h {
            if !bits[start] || labels[start] != 0 {
                continue;
            }
            let l = regions.len() as u32 + 1;
            let mut px = Vec::new();
            labels[start] = l;
            stack.push(start);
            while let Some(p) = stack.pop() {
                px.push([(p % w) as i64, (p / w) as i64]);
                morph::for_each_neighbour(p, w, h, |q| {
                    if bits[q] && labels[q] == 0 {
                        labels[q] = l;
                        stack.push(q);
                    }
                });
            }
            regions.push(px);
        }
        Labelled {
            w,
            h,
            labels,
            regions,
        }
    }

    fn at(&self, [x, y]: [i64; 2]) -> u32 {
        if (0..self.w as i64).contains(&x) && (0..self.h as i64).contains(&y) {
            self.labels[x as usize + self.w * y as usize]
        } else {
            0
        }
    }

    fn shape(&self, l: u32) -> Shape {
        Shape::from_pixels(&self.regions[l as usize - 1])
    }
}

/// One one-to-one interpolation: `sa` on slice `a` with `sb` on slice `b`,
/// pixel `p` of `sa` matching `p + t` of `sb`.
pub(super) struct Job {
    pub a: usize,
    pub b: usize,
    pub sa: Shape,
    pub sb: Shape,
    pub t: [i64; 2],
}

/// ITK's `InterpolateBetweenTwo`: pairs regions of slices `a` and `b` by
/// overlap and turns every correspondence into one-to-one jobs.
pub(super) fn correspondences(a: usize, la: &Labelled, b: usize, lb: &Labelled) -> Vec<Job> {
    let mut pairs: Vec<(u32, u32)> = la
        .labels
        .iter()
        .zip(&lb.labels)
        .filter(|&(&x, &y)| x > 0 && y > 0)
        .map(|(&x, &y)| (x, y))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut ca = vec![0usize; la.regions.len() + 1];
    let mut cb = vec![0usize; lb.regions.len() + 1];
    for &(x, y) in &pairs {
        ca[x as usize] += 1;
        cb[y as usize] += 1;
    }
    let mut jobs = Vec::new();
    // Regions that appear or end shrink to a point on the other slice.
    for x in (1..ca.len()).filter(|&x| ca[x] == 0) {
        jobs.push(to_point(a, b, &la.regions[x - 1]));
    }
    for y in (1..cb.len()).filter(|&y| cb[y] == 0) {
        jobs.push(to_point(b, a, &lb.regions[y - 1]));
    }
    let mut alive = vec![true; pairs.len()];
    for (k, &(x, y)) in pairs.iter().enumerate() {
        if ca[x as usize] == 1 && cb[y as usize] == 1 {
            alive[k] = false;
            jobs.extend(one_to_many(a, la, x, b, lb, &[y]));
        }
    }
    let mut live = Live {
        pairs: &pairs,
        alive,
        ca,
        cb,
    };
    // Many-to-one (merge) and one-to-many (split), in ITK's order.
    for (k, &(x, y)) in pairs.iter().enumerate() {
        if !live.alive[k] {
            continue;
        }
        if live.ca[x as usize] == 1 {
            let xs: Vec<u32> = live.take(|_, y2| y2 == y).iter().map(|p| p.0).collect();
            jobs.extend(one_to_many(b, lb, y, a, la, &xs));
        } else if live.cb[y as usize] == 1 {
            let ys: Vec<u32> = live.take(|x2, _| x2 == x).iter().map(|p| p.1).collect();
            jobs.extend(one_to_many(a, la, x, b, lb, &ys));
        }
    }
    // What is left is many-to-many: each region of `a` splits among its partners.
    for (k, &(x, _)) in pairs.iter().enumerate() {
        if live.alive[k] {
            let ys: Vec<u32> = live.take(|x2, _| x2 == x).iter().map(|p| p.1).collect();
            jobs.extend(one_to_many(a, la, x, b, lb, &ys));
        }
    }
    jobs
}

/// Overlap pairs still to be handled, with each region's count of them.
struct Live<'p> {
    pairs: &'p [(u32, u32)],
    alive: Vec<bool>,
    ca: Vec<usize>,
    cb: Vec<usize>,
}

impl Live<'_> {
    /// Takes the live pairs matching `keep` out of play and returns them.
    fn take(&mut self, keep: impl Fn(u32, u32) -> bool) -> Vec<(u32, u32)> {
        let mut taken = Vec::new();
        for (k, &(x, y)) in self.pairs.iter().enumerate() {
            if self.alive[k] && keep(x, y) {
                self.alive[k] = false;
                self.ca[x as usize] -= 1;
                self.cb[y as usize] -= 1;
                taken.push((x, y));
            }
        }
        taken
    }
}

/// A region with no partner interpolates towards a point of itself: its
/// centroid, or its pixel nearest to it (ITK aligns a one-pixel phantom at
/// the centroid with the region to the same end).
fn to_point(s: usize, d: usize, region: &[[i64; 2]]) -> Job {
    let c = centroid(region);
    let dist = |p: &[i64; 2]| (p[0] - c[0]).pow(2) + (p[1] - c[1]).pow(2);
    let point = region.iter().copied().min_by_key(dist).unwrap_or(c);
    Job {
        a: s,
        b: d,
        sa: Shape::from_pixels(region),
        sb: Shape::from_pixels(&[point]),
        t: [0, 0],
    }
}

fn centroid(px: &[[i64; 2]]) -> [i64; 2] {
    let n = px.len().max(1) as f64;
    let sum = px.iter().fold([0i64; 2], |s, p| [s[0] + p[0], s[1] + p[1]]);
    [
        (sum[0] as f64 / n).round() as i64,
        (sum[1] as f64 / n).round() as i64,
    ]
}

/// Region `x` of slice `s` against regions `ys` of slice `d`: aligned with
/// all of them, then (for several) cut into one piece per partner.
fn one_to_many(s: usize, ls: &Labelled, x: u32, d: usize, ld: &Labelled, ys: &[u32]) -> Vec<Job> {
    let src = &ls.regions[x as usize - 1];
    let slot = slots(ld, ys);
    let t = align(src, ld, ys, &slot);
    let parts = if ys.len() == 1 {
        vec![Shape::from_pixels(src)]
    } else {
        partition(src, ld, &slot, ys.len(), t)
    };
    parts
        .into_iter()
        .zip(ys)
        .filter(|(part, _)| !part.is_empty())
        .map(|(part, &y)| Job {
            a: s,
            b: d,
            sa: part,
            sb: ld.shape(y),
            t,
        })
        .collect()
}

/// `slot[l]` = 1 + position of label `l` in `ys`, 0 when not in it.
fn slots(ld: &Labelled, ys: &[u32]) -> Vec<usize> {
    let mut slot = vec![0; ld.regions.len() + 1];
    for (k, &y) in ys.iter().enumerate() {
        slot[y as usize] = k + 1;
    }
    slot
}

/// ITK's `Align`: the translation of `src` maximising its overlap with the
/// regions `ys` (zero unless it touches every one of them). Breadth-first
/// from no shift and from the centroid difference, so ties go to the
/// smaller shift; the search widens only around promising shifts (within
/// 90% of the best) and stops after max(36, √candidates) shifts, as ITK's
/// heuristic alignment does.
fn align(src: &[[i64; 2]], ld: &Labelled, ys: &[u32], slot: &[usize]) -> [i64; 2] {
    let dst: Vec<[i64; 2]> = ys
        .iter()
        .flat_map(|&y| ld.regions[y as usize - 1].iter().copied())
        .collect();
    let (bs, bd) = (Shape::from_pixels(src), Shape::from_pixels(&dst));
    // Shifts under which the two boxes still overlap.
    let lo = [
        bd.x0 - (bs.x0 + bs.w as i64 - 1),
        bd.y0 - (bs.y0 + bs.h as i64 - 1),
    ];
    let hi = [
        bd.x0 + bd.w as i64 - 1 - bs.x0,
        bd.y0 + bd.h as i64 - 1 - bs.y0,
    ];
    let inside = |t: [i64; 2]| (0..2).all(|d| (lo[d]..=hi[d]).contains(&t[d]));
    let candidates = ((hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1)).max(0) as u64;
    let min_iter = candidates.min(4);
    let max_iter = 36.max(candidates.isqrt());
    // Scored on row runs, not pixels: each run of `src` against the runs of
    // the partners on the row it lands on.
    let mut partner_rows = vec![Vec::new(); bd.h];
    for (r, row) in partner_rows.iter_mut().enumerate() {
        let y = bd.y0 + r as i64;
        let mut x = bd.x0;
        while x < bd.x0 + bd.w as i64 {
            let (start, k) = (x, slot[ld.at([x, y]) as usize]);
            while x < bd.x0 + bd.w as i64 && slot[ld.at([x, y]) as usize] == k {
                x += 1;
            }
            if k > 0 {
                row.push((start, x, k - 1));
            }
        }
    }
    let runs = row_runs(&bs);
    let score = |t: [i64; 2]| -> u64 {
        let mut counts = vec![0u64; ys.len()];
        for &(y, x0, x1) in &runs {
            let Some(row) = usize::try_from(y + t[1] - bd.y0)
                .ok()
                .and_then(|r| partner_rows.get(r))
            else {
                continue;
            };
            let (a, b) = (x0 + t[0], x1 + t[0]);
            let first = row.partition_point(|&(_, e, _)| e <= a);
            for &(s, e, k) in row[first..].iter().take_while(|&&(s, _, _)| s < b) {
                counts[k] += (e.min(b) - s.max(a)) as u64;
            }
        }
        if counts.contains(&0) {
            0
        } else {
            counts.iter().sum()
        }
    };
    let (ci, cj) = (centroid(src), centroid(&dst));
    let mut queue = VecDeque::from([[0, 0], [cj[0] - ci[0], cj[1] - ci[1]]]);
    let mut seen: HashSet<[i64; 2]> = queue.iter().copied().collect();
    let (mut best, mut best_t, mut iter) = (0u64, [0i64; 2], 0u64);
    while let Some(t) = queue.pop_front() {
        let sc = score(t);
        if sc > best {
            (best, best_t) = (sc, t);
        }
        if best == 0 || iter <= min_iter || (sc * 10 > best * 9 && iter <= max_iter) {
            for n in [
                [t[0] - 1, t[1]],
                [t[0] + 1, t[1]],
                [t[0], t[1] - 1],
                [t[0], t[1] + 1],
            ] {
                if inside(n) && seen.insert(n) {
                    queue.push_back(n);
                    iter += 1;
                }
            }
        }
    }
    best_t
}

/// `(y, x0, x1)` for each horizontal run `[x0, x1)` of `shape`.
fn row_runs(shape: &Shape) -> Vec<(i64, i64, i64)> {
    let mut runs = Vec::new();
    for (r, row) in shape.bits.chunks(shape.w.max(1)).enumerate() {
        let mut x = 0;
        while x < row.len() {
            let start = x;
            while x < row.len() && row[x] {
                x += 1;
            }
            if x > start {
                let y = shape.y0 + r as i64;
                runs.push((y, shape.x0 + start as i64, shape.x0 + x as i64));
            }
            x += 1;
        }
    }
    runs
}

/// ITK's `Interpolate1toN` split: seeds are the pixels of `src` whose
/// translate lands on each partner; they grow by one 4-step at a time inside
/// `src`, a pixel reached by several in the same step going to the first.
fn partition(src: &[[i64; 2]], ld: &Labelled, slot: &[usize], n: usize, t: [i64; 2]) -> Vec<Shape> {
    const FREE: usize = usize::MAX;
    let bx = Shape::from_pixels(src);
    let (w, h) = (bx.w, bx.h);
    let mut owner = vec![FREE; w * h];
    let mut frontier = Vec::new();
    for &[x, y] in src {
        let k = slot[ld.at([x + t[0], y + t[1]]) as usize];
        if k > 0 {
            let p = (x - bx.x0) as usize + w * (y - bx.y0) as usize;
            owner[p] = k - 1;
            frontier.push(p);
        }
    }
    let mut claim = vec![FREE; w * h];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for &f in &frontier {
            morph::for_each_neighbour(f, w, h, |q| {
                if bx.bits[q] && owner[q] == FREE {
                    if claim[q] == FREE {
                        next.push(q);
                    }
                    claim[q] = claim[q].min(owner[f]);
                }
            });
        }
        for &q in &next {
            owner[q] = claim[q];
        }
        frontier = next;
    }
    let mut pieces = vec![Vec::new(); n];
    for (p, &k) in owner.iter().enumerate().filter(|&(_, &k)| k != FREE) {
        pieces[k].push([bx.x0 + (p % w) as i64, bx.y0 + (p / w) as i64]);
    }
    pieces.iter().map(|px| Shape::from_pixels(px)).collect()
}
