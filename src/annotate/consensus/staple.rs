//! Binary STAPLE for one label, reproducing ITK's `STAPLEImageFilter`
//! (`itkSTAPLEImageFilter.hxx`, ITK 5.4) bit for bit.
//!
//! ITK keeps a probability W per voxel and, every iteration, sums W (or
//! 1 − W) over the whole image voxel by voxel, in file order. W depends only
//! on which raters marked the voxel (its *pattern*), so rayseg keeps one W
//! per pattern and walks runs of voxels with equal patterns. To get ITK's
//! sums exactly (not merely to within rounding), a run adds its value as
//! many times, one rounding at a time, as ITK does; [`add_repeated`] does
//! that in a few steps per binade instead of one step per voxel.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

/// ITK's convergence test: every rater's sensitivity and specificity moved
/// by at most √(1e-14) = 1e-7 since the last iteration.
const MIN_SQUARED_CHANGE: f64 = 1.0e-14;

/// STAPLE's settings, with ITK's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StapleOptions {
    /// Scales the prior g_t (the mean of the raters' initial vote); ITK's
    /// `ConfidenceWeight`, default 1.
    pub confidence_weight: f64,
    /// ITK's `MaximumIterations`; default `u32::MAX` (ITK's: unbounded in
    /// practice).
    pub max_iterations: u32,
}

impl Default for StapleOptions {
    fn default() -> Self {
        StapleOptions {
            confidence_weight: 1.0,
            max_iterations: u32::MAX,
        }
    }
}

/// What STAPLE found for one label (foreground = that label, every other
/// value background).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StapleLabel {
    pub label: u8,
    /// One per rater, in input order: ITK's `GetSensitivity()`.
    pub sensitivity: Vec<f64>,
    /// One per rater, in input order: ITK's `GetSpecificity()`.
    pub specificity: Vec<f64>,
    /// ITK's `GetElapsedIterations()`: the index of the iteration that
    /// converged (one less than the number of E and M steps run), or
    /// `max_iterations` when it never did.
    pub iterations: u32,
    pub converged: bool,
    /// The prior g_t: fraction of the image marked, averaged over raters,
    /// times the confidence weight.
    pub prior: f64,
}

impl StapleLabel {
    /// The probability that a voxel is this label given which raters
    /// (bit r of `pattern`: rater r) marked it: ITK's output image value,
    /// computed in ITK's order of operations.
    pub(crate) fn probability(&self, pattern: u64) -> f64 {
        posterior(&self.sensitivity, &self.specificity, self.prior, pattern)
    }
}

fn posterior(sensitivity: &[f64], specificity: &[f64], prior: f64, pattern: u64) -> f64 {
    let mut alpha = 1.0;
    let mut beta = 1.0;
    for (r, (&p, &q)) in sensitivity.iter().zip(specificity).enumerate() {
        if pattern >> r & 1 == 1 {
            alpha *= p;
            beta *= 1.0 - q;
        } else {
            alpha *= 1.0 - p;
            beta *= q;
        }
    }
    prior * alpha / (prior * alpha + (1.0 - prior) * beta)
}

/// A label's voxels as runs of equal patterns, in file order.
pub(crate) struct PatternRuns {
    /// The distinct patterns (bit r: rater r gave the label).
    pub patterns: Vec<u64>,
    /// (index into `patterns`, voxels): consecutive runs differ in pattern,
    /// except where a run longer than `u32::MAX` was split.
    pub runs: Vec<(u32, u32)>,
}

impl PatternRuns {
    /// Builds the runs from `(pattern, voxels)` pieces in file order.
    pub fn from_pieces(pieces: impl Iterator<Item = (u64, usize)>) -> Self {
        let mut index: HashMap<u64, u32> = HashMap::new();
        let mut patterns = Vec::new();
        let mut runs: Vec<(u32, u32)> = Vec::new();
        let mut last: Option<(u64, u32)> = None;
        for (pattern, mut voxels) in pieces {
            let slot = match last {
                Some((p, slot)) if p == pattern => slot,
                _ => *index.entry(pattern).or_insert_with(|| {
                    patterns.push(pattern);
                    (patterns.len() - 1) as u32
                }),
            };
            last = Some((pattern, slot));
            while voxels > 0 {
                match runs.last_mut() {
                    Some((s, n)) if *s == slot && *n < u32::MAX => {
                        let add = voxels.min((u32::MAX - *n) as usize);
                        *n += add as u32;
                        voxels -= add;
                    }
                    _ => {
                        let add = voxels.min(u32::MAX as usize);
                        runs.push((slot, add as u32));
                        voxels -= add;
                    }
                }
            }
        }
        PatternRuns { patterns, runs }
    }
}

/// Runs STAPLE's EM for one label over `voxels` voxels from `raters`
/// raters, as ITK's `GenerateData` does.
pub(crate) fn run(
    label: u8,
    pattern_runs: &PatternRuns,
    raters: usize,
    voxels: usize,
    options: &StapleOptions,
) -> StapleLabel {
    let PatternRuns { patterns, runs } = pattern_runs;
    // Initial W: the fraction of raters that marked the voxel (ITK adds 1.0
    // per rater, so the count is exact, then divides).
    let mut w: Vec<f64> = patterns
        .iter()
        .map(|p| p.count_ones() as f64 / raters as f64)
        .collect();
    let mut g_sum = OrderedSum::default();
    for &(slot, n) in runs {
        g_sum.add(w[slot as usize], n);
    }
    // N counts up by 1.0 per voxel in ITK: exact below 2^53.
    let prior = g_sum.finish() / voxels as f64 * options.confidence_weight;

    let marked: Vec<Vec<bool>> = (0..raters)
        .map(|r| patterns.iter().map(|p| p >> r & 1 == 1).collect())
        .collect();
    let mut p = vec![0.0; raters];
    let mut q = vec![0.0; raters];
    let mut last_p = vec![-10.0; raters];
    let mut last_q = vec![-10.0; raters];
    let mut iter = 0u32;
    let mut converged = false;
    while iter < options.max_iterations {
        let one_minus_w: Vec<f64> = w.iter().map(|x| 1.0 - x).collect();
        // M step. ITK sums p_denom and q_denom once per rater, in the same
        // order each time, so the value is the same for all: sum once.
        // Task `raters` sums the denominators, task r rater r's numerators.
        let sums: Vec<(f64, f64)> = (0..=raters)
            .into_par_iter()
            .map(|task| {
                let mut a = OrderedSum::default();
                let mut b = OrderedSum::default();
                if task == raters {
                    for &(slot, n) in runs {
                        a.add(w[slot as usize], n);
                        b.add(one_minus_w[slot as usize], n);
                    }
                } else {
                    let marked = &marked[task];
                    for &(slot, n) in runs {
                        let s = slot as usize;
                        if marked[s] {
                            a.add(w[s], n);
                        } else {
                            b.add(one_minus_w[s], n);
                        }
                    }
                }
                (a.finish(), b.finish())
            })
            .collect();
        let (p_denom, q_denom) = sums[raters];
        for r in 0..raters {
            p[r] = sums[r].0 / p_denom;
            q[r] = sums[r].1 / q_denom;
        }
        // E step.
        for (x, &pattern) in w.iter_mut().zip(patterns) {
            *x = posterior(&p, &q, prior, pattern);
        }
        // ITK skips the test on the first iteration and stops when no
        // squared change exceeds the bound (so a NaN never holds it up).
        let moved = |x: f64, last: f64| (x - last) * (x - last) > MIN_SQUARED_CHANGE;
        let done =
            iter != 0 && (0..raters).all(|r| !moved(p[r], last_p[r]) && !moved(q[r], last_q[r]));
        last_p.copy_from_slice(&p);
        last_q.copy_from_slice(&q);
        if done {
            converged = true;
            break;
        }
        iter += 1;
    }
    StapleLabel {
        label,
        sensitivity: p,
        specificity: q,
        iterations: iter,
        converged,
        prior,
    }
}

/// A sum taken one addend at a time in order, as a plain `+=` loop rounds
/// it, with equal consecutive addends grouped (zeros change nothing: sums
/// here are ≥ +0).
#[derive(Default)]
struct OrderedSum {
    sum: f64,
    pending: f64,
    count: u64,
}

impl OrderedSum {
    fn add(&mut self, value: f64, count: u32) {
        if value == 0.0 {
            return;
        }
        if value == self.pending {
            self.count += u64::from(count);
        } else {
            self.sum = add_repeated(self.sum, self.pending, self.count);
            self.pending = value;
            self.count = u64::from(count);
        }
    }

    fn finish(self) -> f64 {
        add_repeated(self.sum, self.pending, self.count)
    }
}

const MANTISSA_MASK: u64 = (1 << 52) - 1;

/// `sum` after `count` times `sum += addend`, rounded exactly as that loop
/// rounds, without running it.
///
/// For `sum ≥ 0` and `addend > 0`, while the sum stays within one binade
/// (one exponent, one ulp) each addition rounds `addend` to the same whole
/// number of ulps: the same increment every time, except that a tie (the
/// addend an odd number of half ulps) rounds to even and so depends on the
/// sum's last bit. Every rounded result is even in the tie case, so the
/// increment measured from one rounded result to the next repeats until the
/// binade ends; jump there in one step, then add one at a time across the
/// boundary. A few steps per binade, ≤ 2046 binades.
pub(crate) fn add_repeated(mut sum: f64, addend: f64, mut count: u64) -> f64 {
    const SHORT_RUN: u64 = 8;
    if count == 0 {
        return sum;
    }
    let plain = addend > 0.0 && addend.is_finite() && sum >= 0.0 && sum.is_finite();
    if !plain {
        if addend == 0.0 || !addend.is_finite() || !sum.is_finite() {
            // Idempotent after one addition (x + 0, NaN, ±inf).
            return sum + addend;
        }
        // Negative addends never occur in STAPLE's sums: the plain loop.
        for _ in 0..count {
            sum += addend;
        }
        return sum;
    }
    if count <= SHORT_RUN {
        for _ in 0..count {
            sum += addend;
        }
        return sum;
    }
    // Exponent of the start of the previous addition, if there was one.
    let mut previous_start: Option<u64> = None;
    while count > 0 {
        let before = sum;
        sum += addend;
        count -= 1;
        let (b, a) = (before.to_bits(), sum.to_bits());
        // `before` must itself be a rounding in this binade (else, after a
        // step that crossed into it exactly or from the caller's start, it
        // may be odd and the next tie rounds differently).
        let steady = previous_start == Some(b >> 52) && b >> 52 == a >> 52;
        previous_start = Some(b >> 52);
        if steady {
            let step = a - b;
            if step == 0 {
                return sum;
            }
            let room = (a | MANTISSA_MASK) - a;
            let k = (room / step).min(count);
            sum = f64::from_bits(a + k * step);
            count -= k;
            // The last jump's start was in this binade too.
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(mut sum: f64, addend: f64, count: u64) -> f64 {
        for _ in 0..count {
            sum += addend;
        }
        sum
    }

    /// xorshift64*: reproducible without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn repeated_addition_matches_the_loop_bit_for_bit() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..3000 {
            let addend = match case % 4 {
                0 => rng.unit(),
                1 => rng.unit() * 1e-9,
                // Few significant bits: ties (odd half ulps) on the way.
                2 => (rng.next() % 64 + 1) as f64 / 128.0,
                _ => 1.0 - rng.unit() * 1e-6,
            };
            let start = match case % 3 {
                0 => 0.0,
                1 => rng.unit() * 1000.0,
                // An odd start in ulps, to exercise ties-to-even.
                _ => f64::from_bits((rng.unit() * 3.0 + 1.0).to_bits() | 1),
            };
            let count = rng.next() % 200_000;
            let want = naive(start, addend, count);
            let got = add_repeated(start, addend, count);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "start {start:e} addend {addend:e} count {count}: {got:e} vs {want:e}"
            );
        }
    }

    #[test]
    fn repeated_addition_of_exact_ties() {
        // 2^53 + 2·k: ulp 2, addend 1 is half an ulp (a tie every time);
        // 3 is one and a half.
        let big = 9_007_199_254_740_992.0_f64;
        // Below 2^53 the additions are exact, so the first sum past 2^53
        // may be odd in ulps there (big − 1 + 3 = big + 2).
        for start in [big, big + 2.0, big + 6.0, big - 1.0, big - 3.0, big - 2.0] {
            for addend in [1.0, 3.0, 5.0, 0.5] {
                for count in [9, 10, 1001, 4096] {
                    assert_eq!(
                        add_repeated(start, addend, count).to_bits(),
                        naive(start, addend, count).to_bits(),
                        "{start} {addend} {count}"
                    );
                }
            }
        }
    }

    #[test]
    fn repeated_addition_tie_found_by_chance() {
        // The addend is 1048874501751.5 ulps of [256, 512): a tie there only.
        let (start, addend, count) = (2.3859293087698796e2, 5.9621612635481824e-2, 56294);
        assert_eq!(
            add_repeated(start, addend, count).to_bits(),
            naive(start, addend, count).to_bits()
        );
    }

    #[test]
    fn repeated_addition_of_nan_and_zero() {
        assert!(add_repeated(1.0, f64::NAN, 10).is_nan());
        assert_eq!(add_repeated(1.5, 0.0, 1 << 40), 1.5);
        assert_eq!(add_repeated(1.5, 2.0, 0), 1.5);
    }
}
