//! Mattes mutual information and its analytic gradient, with the Parzen
//! windowing of ITK's MattesMutualInformationImageToImageMetricv4: a
//! zero-order (box) window for the fixed values and a cubic B-spline window
//! for the moving values, two padding bins either side, value −MI.

use glam::DVec3;
use rayon::prelude::*;

use super::pyramid::Image;
use super::sampling::Sample;
use super::transform::{Params, jacobian};

const PADDING: usize = 2;

/// Bin geometry of one image's intensities.
#[derive(Clone, Copy, Debug)]
pub struct Binning {
    bin_size: f64,
    normalized_min: f64,
}

impl Binning {
    pub fn new(min: f64, max: f64, bins: usize) -> Self {
        let range = (max - min).max(1e-12);
        let bin_size = range / (bins - 2 * PADDING) as f64;
        Binning {
            bin_size,
            normalized_min: min / bin_size - PADDING as f64,
        }
    }

    fn term(&self, v: f64) -> f64 {
        v / self.bin_size - self.normalized_min
    }
}

/// Cubic B-spline.
#[inline]
fn b3(u: f64) -> f64 {
    let a = u.abs();
    if a < 1.0 {
        (4.0 - 6.0 * a * a + 3.0 * a * a * a) / 6.0
    } else if a < 2.0 {
        let t = 2.0 - a;
        t * t * t / 6.0
    } else {
        0.0
    }
}

/// Derivative of the cubic B-spline.
#[inline]
fn db3(u: f64) -> f64 {
    let a = u.abs();
    if a < 1.0 {
        -2.0 * u + 1.5 * u * a
    } else if a < 2.0 {
        let t = 2.0 - a;
        -0.5 * t * t * u.signum()
    } else {
        0.0
    }
}

/// The metric's set-up for one level.
pub struct Mattes<'a> {
    pub bins: usize,
    pub fixed: Binning,
    pub moving: Binning,
    pub moving_image: &'a Image,
    pub samples: &'a [Sample],
    /// Fewest samples that must map inside the moving image.
    pub min_valid: usize,
}

/// A sample that mapped inside the moving image.
struct Mapped {
    sample: usize,
    fixed_bin: usize,
    /// Continuous moving bin coordinate (the B-spline window's centre).
    term: f64,
    /// Moving image gradient (per mm, LPS) at the mapped point.
    gradient: DVec3,
}

#[derive(Clone, Debug)]
pub struct Evaluation {
    /// −MI (lower is better), as ITK reports it.
    pub value: f64,
    /// ∂value/∂parameter.
    pub gradient: Vec<f64>,
    pub valid_samples: usize,
}

impl Mattes<'_> {
    fn fixed_bin(&self, v: f64) -> usize {
        let b = self.fixed.term(v).floor();
        (b.max(PADDING as f64) as usize).min(self.bins - PADDING - 1)
    }

    /// Moving window's lowest bin: the window spans `first..first + 4`.
    fn moving_first_bin(&self, term: f64) -> usize {
        let b = term.floor().max(1.0) as usize;
        b.min(self.bins - 3) - 1
    }

    /// Value and (when `with_gradient`) gradient at `params`; None when too
    /// few samples map inside the moving image.
    pub fn evaluate(&self, params: &Params, with_gradient: bool) -> Option<Evaluation> {
        let m = params.matrix();
        let mapped: Vec<Mapped> = self
            .samples
            .par_iter()
            .enumerate()
            .filter_map(|(n, s)| {
                let q = m.transform_point3(s.lps);
                let (v, gradient) = self.moving_image.value_and_gradient(q)?;
                Some(Mapped {
                    sample: n,
                    fixed_bin: self.fixed_bin(s.value),
                    term: self.moving.term(v),
                    gradient,
                })
            })
            .collect();
        if mapped.len() < self.min_valid.max(1) {
            return None;
        }
        let bins = self.bins;
        let mut joint = vec![0.0f64; bins * bins];
        for p in &mapped {
            let first = self.moving_first_bin(p.term);
            for k in first..first + 4 {
                joint[p.fixed_bin * bins + k] += b3(k as f64 - p.term);
            }
        }
        let total: f64 = joint.iter().sum();
        joint.iter_mut().for_each(|x| *x /= total);
        let mut fixed_marginal = vec![0.0; bins];
        let mut moving_marginal = vec![0.0; bins];
        for f in 0..bins {
            for k in 0..bins {
                fixed_marginal[f] += joint[f * bins + k];
                moving_marginal[k] += joint[f * bins + k];
            }
        }
        let mut mi = 0.0;
        // W(f, m) = log(p(f, m) / p_m(m)): ∂MI/∂θ = Σ ∂p(f, m)/∂θ · W(f, m),
        // the marginal terms cancelling (the fixed bins do not move and
        // Σ ∂p = 0).
        let mut weight = vec![0.0; bins * bins];
        for f in 0..bins {
            for k in 0..bins {
                let p = joint[f * bins + k];
                if p > 1e-16 && moving_marginal[k] > 1e-16 {
                    mi += p * (p / (fixed_marginal[f] * moving_marginal[k])).ln();
                    weight[f * bins + k] = (p / moving_marginal[k]).ln();
                }
            }
        }
        let n_params = params.len();
        let mut gradient = vec![0.0; n_params];
        if with_gradient {
            let derivs = params.linear_derivatives();
            let centre = params.centre_lps;
            let scale = 1.0 / (self.moving.bin_size * mapped.len() as f64);
            gradient = mapped
                .par_iter()
                .fold(
                    || (vec![0.0; n_params], vec![DVec3::ZERO; n_params]),
                    |(mut acc, mut jac), p| {
                        let first = self.moving_first_bin(p.term);
                        // ∂B3(k − term)/∂term = −B3'(k − term).
                        let mut dmi_dterm = 0.0;
                        for k in first..first + 4 {
                            dmi_dterm -= weight[p.fixed_bin * bins + k] * db3(k as f64 - p.term);
                        }
                        jacobian(&derivs, centre, self.samples[p.sample].lps, &mut jac);
                        for (a, j) in acc.iter_mut().zip(&jac) {
                            *a += dmi_dterm * p.gradient.dot(*j);
                        }
                        (acc, jac)
                    },
                )
                .map(|(acc, _)| acc)
                .reduce(
                    || vec![0.0; n_params],
                    |mut a, b| {
                        a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                        a
                    },
                )
                .into_iter()
                // value = −MI, so its gradient is −∂MI/∂θ.
                .map(|g| -g * scale)
                .collect();
        }
        Some(Evaluation {
            value: -mi,
            gradient,
            valid_samples: mapped.len(),
        })
    }
}
