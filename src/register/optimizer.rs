//! Regular-step gradient descent in physically scaled parameters, with a
//! value check. Parameters are scaled as ITK's
//! RegistrationParameterScalesFromPhysicalShift does (a unit change of each
//! scaled parameter moves the sample points by about 1 mm RMS), so one step
//! length in mm suits angles, translations and matrix entries alike. Each
//! step goes `step_mm` down the normalised scaled gradient; a step that does
//! not lower the metric is refused and the step halved, and the step is also
//! halved when the gradient turns back (ITK's RegularStepGradientDescent
//! relaxation). The value check is what the sample set being fixed per level
//! allows, and it keeps a noisy MI surface from walking the parameters
//! uphill.

use glam::DVec3;

use super::mattes::Evaluation;
use super::sampling::Sample;
use super::transform::{Params, jacobian};

#[derive(Clone, Debug)]
pub struct Settings {
    pub initial_step_mm: f64,
    pub min_step_mm: f64,
    pub max_iterations: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The step fell below the minimum: converged.
    StepBelowMinimum,
    MaxIterations,
    /// The gradient vanished.
    ZeroGradient,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::StepBelowMinimum => "step below minimum",
            StopReason::MaxIterations => "maximum iterations",
            StopReason::ZeroGradient => "zero gradient",
        }
    }
}

pub struct Outcome {
    pub params: Params,
    pub value: f64,
    /// Metric evaluations (each with its gradient).
    pub iterations: usize,
    pub stop: StopReason,
}

/// mm of RMS displacement over `samples` per unit of each parameter.
pub fn physical_scales(params: &Params, samples: &[Sample]) -> Vec<f64> {
    let derivs = params.linear_derivatives();
    let mut jac = vec![DVec3::ZERO; params.len()];
    let mut sum = vec![0.0; params.len()];
    let stride = (samples.len() / 2000).max(1);
    let mut n = 0usize;
    for s in samples.iter().step_by(stride) {
        jacobian(&derivs, params.centre_lps, s.lps, &mut jac);
        for (acc, j) in sum.iter_mut().zip(&jac) {
            *acc += j.length_squared();
        }
        n += 1;
    }
    sum.into_iter()
        .map(|x| (x / n.max(1) as f64).sqrt().max(1e-6))
        .collect()
}

/// Minimises `evaluate` from `start` (which must evaluate).
pub fn minimise(
    start: Params,
    first: Evaluation,
    scales: &[f64],
    settings: &Settings,
    evaluate: impl Fn(&Params) -> Option<Evaluation>,
) -> Outcome {
    let mut params = start;
    let mut current = first;
    let mut step = settings.initial_step_mm;
    let max_step = 4.0 * settings.initial_step_mm;
    let mut iterations = 1;
    let mut previous_direction: Option<Vec<f64>> = None;
    let stop = loop {
        if iterations >= settings.max_iterations {
            break StopReason::MaxIterations;
        }
        if step < settings.min_step_mm {
            break StopReason::StepBelowMinimum;
        }
        let scaled: Vec<f64> = current
            .gradient
            .iter()
            .zip(scales)
            .map(|(g, s)| g / s)
            .collect();
        let norm = scaled.iter().map(|g| g * g).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-300 {
            break StopReason::ZeroGradient;
        }
        let direction: Vec<f64> = scaled.iter().map(|g| g / norm).collect();
        if let Some(prev) = &previous_direction {
            let turn: f64 = prev.iter().zip(&direction).map(|(a, b)| a * b).sum();
            if turn < 0.0 {
                step *= 0.5;
            }
        }
        let mut candidate = params.clone();
        for ((v, d), s) in candidate.values.iter_mut().zip(&direction).zip(scales) {
            *v -= step * d / s;
        }
        iterations += 1;
        match evaluate(&candidate) {
            Some(e) if e.value < current.value => {
                params = candidate;
                current = e;
                previous_direction = Some(direction);
                step = (step * 1.2).min(max_step);
            }
            _ => {
                step *= 0.5;
            }
        }
    };
    Outcome {
        params,
        value: current.value,
        iterations,
        stop,
    }
}
