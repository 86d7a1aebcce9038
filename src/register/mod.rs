//! Intensity-based rigid and affine registration of two volumes with Mattes
//! mutual information, multi-resolution, in the manner of ITK's
//! ImageRegistrationMethodv4 (so results compare with SimpleITK's). The
//! transform maps fixed-image points to moving-image points, ITK's
//! convention; it is optimised in LPS with ITK's parameters, so the ITK
//! transform file holds exactly the optimised parameters.

pub mod file;
pub mod init;
pub mod mattes;
pub mod optimizer;
pub mod pyramid;
pub mod resample;
pub mod sampling;
pub mod transform;

use std::path::PathBuf;
use std::time::Instant;

use glam::DMat4;
use serde::Serialize;
use thiserror::Error;

use crate::volume::Volume;
pub use file::{read_transform, write_transform};
pub use init::Initializer;
use mattes::{Binning, Evaluation, Mattes};
pub use optimizer::StopReason;
use pyramid::Image;
pub use sampling::Sampling;
use transform::Params;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransformKind {
    /// Rotation and translation (ITK Euler3DTransform).
    Rigid,
    /// General 3×3 matrix and translation (ITK AffineTransform).
    Affine,
}

impl TransformKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransformKind::Rigid => "rigid",
            TransformKind::Affine => "affine",
        }
    }
}

#[derive(Clone, Debug)]
pub struct RegisterOptions {
    pub kind: TransformKind,
    /// On the fixed grid (one byte per voxel, `i` fastest); nonzero = used.
    pub fixed_mask: Option<Vec<u8>>,
    /// Per level, coarsest first: the fixed grid is shrunk by this factor.
    pub shrink_factors: Vec<usize>,
    /// Gaussian σ in mm per level (fixed and moving images). None: 2, 1, 0
    /// voxels of the fixed image's largest spacing for shrinks 4, 2, 1 (σ =
    /// shrink/2 voxels in general, 0 at shrink 1), ITK's usual schedule.
    pub smoothing_sigmas_mm: Option<Vec<f64>>,
    /// Fraction of each level's (masked) grid sampled.
    pub sampling_fraction: f64,
    /// At least this many samples per level (all voxels when fewer): the 50×50
    /// joint histogram needs thousands of points to be smooth.
    pub min_samples: usize,
    pub sampling: Sampling,
    pub bins: usize,
    pub initializer: Initializer,
    /// Metric evaluations per level at most.
    pub max_iterations: usize,
    /// First step, in voxels of the level's (shrunk) fixed grid.
    pub initial_step_voxels: f64,
    /// Converged when the step falls below this, in level voxels.
    pub min_step_voxels: f64,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        RegisterOptions {
            kind: TransformKind::Rigid,
            fixed_mask: None,
            shrink_factors: vec![4, 2, 1],
            smoothing_sigmas_mm: None,
            sampling_fraction: 0.05,
            min_samples: 10_000,
            sampling: Sampling::Random { seed: 1 },
            bins: 50,
            initializer: Initializer::Auto,
            max_iterations: 200,
            initial_step_voxels: 0.5,
            min_step_voxels: 0.002,
        }
    }
}

/// What one resolution level did.
#[derive(Clone, Debug, Serialize)]
pub struct LevelReport {
    pub shrink: usize,
    pub sigma_mm: f64,
    pub kind: TransformKind,
    pub samples: usize,
    pub iterations: usize,
    /// Metric at the level's end (on its own samples and smoothing).
    pub metric: f64,
    pub stop: StopReason,
    pub seconds: f64,
}

/// The ITK form of the result: LPS parameters of the named transform class.
#[derive(Clone, Debug, Serialize)]
pub struct ItkTransform {
    pub class: String,
    pub parameters: Vec<f64>,
    pub fixed_parameters: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct Registration {
    pub kind: TransformKind,
    /// Maps a point of the fixed image (RAS mm) to the corresponding point of
    /// the moving image (ITK's convention: fixed-space points to moving space).
    pub moving_ras_from_fixed_ras: DMat4,
    /// Mattes MI as ITK reports it (negative; lower is better), at the final
    /// parameters on the finest level's samples.
    pub final_metric: f64,
    pub levels: Vec<LevelReport>,
    /// The initialiser used (Auto resolves to the one it chose).
    pub initializer: Initializer,
    /// Metric at the start of the first level.
    pub initial_metric: f64,
    pub itk: ItkTransform,
    pub seconds: f64,
    /// File names recorded in the JSON (the CLI sets them).
    pub fixed_file: Option<String>,
    pub moving_file: Option<String>,
}

#[derive(Debug, Error)]
pub enum RegisterError {
    #[error("{which} image is {shape:?} voxels: registration needs at least 4 along each axis")]
    TooSmall {
        which: &'static str,
        shape: [usize; 3],
    },
    #[error("{which} image has {count} NaN or infinite voxels: replace or mask them first")]
    NonFinite { which: &'static str, count: usize },
    #[error("{which} image has one value ({value}) everywhere: mutual information needs contrast")]
    Constant { which: &'static str, value: f64 },
    #[error(
        "fixed mask has {got} voxels but the fixed grid {shape:?} has {want}: it must lie on the fixed image's grid"
    )]
    MaskSize {
        got: usize,
        want: usize,
        shape: [usize; 3],
    },
    #[error("fixed mask has no nonzero voxel")]
    EmptyMask,
    #[error(
        "only {samples} fixed samples at shrink {shrink} (at least 50 needed): the mask is too small"
    )]
    TooFewSamples { samples: usize, shrink: usize },
    #[error(
        "the images do not overlap: with every initialiser tried ({tried}), fewer than \
         {needed} of {samples} fixed sample points map inside the moving image"
    )]
    NoOverlap {
        tried: String,
        needed: usize,
        samples: usize,
    },
    #[error("invalid options: {0}")]
    Options(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    TransformFile { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

/// The volume as f32 in LPS, checked for what registration cannot use.
fn image_of(volume: &Volume, which: &'static str) -> Result<Image, RegisterError> {
    if volume.shape.iter().any(|&n| n < 4) {
        return Err(RegisterError::TooSmall {
            which,
            shape: volume.shape,
        });
    }
    let data = volume.data.to_f32_vec();
    let count = data.iter().filter(|v| !v.is_finite()).count();
    if count > 0 {
        return Err(RegisterError::NonFinite { which, count });
    }
    let (lo, hi) = volume.value_range();
    if lo >= hi {
        return Err(RegisterError::Constant { which, value: lo });
    }
    let lps_from_index = transform::lps_from_ras() * volume.ras_from_voxel;
    Ok(Image::new(volume.shape, data, lps_from_index))
}

fn validate(options: &RegisterOptions) -> Result<Vec<f64>, RegisterError> {
    let bad = |m: String| Err(RegisterError::Options(m));
    if options.shrink_factors.is_empty() || options.shrink_factors.contains(&0) {
        return bad("shrink factors must be ≥ 1, at least one level".into());
    }
    if !(options.sampling_fraction > 0.0 && options.sampling_fraction <= 1.0) {
        return bad(format!(
            "sampling fraction {} must be in (0, 1]",
            options.sampling_fraction
        ));
    }
    if !(8..=1024).contains(&options.bins) {
        return bad(format!("{} histogram bins: use 8..=1024", options.bins));
    }
    if options.max_iterations == 0 {
        return bad("max iterations must be ≥ 1".into());
    }
    if !(options.initial_step_voxels > options.min_step_voxels && options.min_step_voxels > 0.0) {
        return bad("steps: need initial > minimum > 0".into());
    }
    match &options.smoothing_sigmas_mm {
        Some(s) if s.len() != options.shrink_factors.len() => bad(format!(
            "{} smoothing sigmas for {} shrink factors",
            s.len(),
            options.shrink_factors.len()
        )),
        Some(s) if s.iter().any(|x| !(x.is_finite() && *x >= 0.0)) => {
            bad("smoothing sigmas must be finite and ≥ 0".into())
        }
        Some(s) => Ok(s.clone()),
        None => Ok(Vec::new()),
    }
}

pub fn register(
    fixed: &Volume,
    moving: &Volume,
    options: &RegisterOptions,
) -> Result<Registration, RegisterError> {
    let started = Instant::now();
    let sigmas_given = validate(options)?;
    let fixed_image = image_of(fixed, "fixed")?;
    let moving_image = image_of(moving, "moving")?;
    let mask = options.fixed_mask.as_deref();
    if let Some(m) = mask {
        if m.len() != fixed.voxel_count() {
            return Err(RegisterError::MaskSize {
                got: m.len(),
                want: fixed.voxel_count(),
                shape: fixed.shape,
            });
        }
        if m.iter().all(|&v| v == 0) {
            return Err(RegisterError::EmptyMask);
        }
    }
    let max_spacing = fixed.spacing_mm.iter().cloned().fold(0.0, f64::max);
    let mean_spacing = fixed.spacing_mm.iter().sum::<f64>() / 3.0;
    let mut params: Option<Params> = None;
    let mut chosen = options.initializer;
    let mut initial_metric = f64::NAN;
    let mut levels = Vec::new();
    let mut final_metric = f64::NAN;
    for (l, &shrink) in options.shrink_factors.iter().enumerate() {
        let level_started = Instant::now();
        let sigma_mm = if sigmas_given.is_empty() {
            if shrink > 1 {
                0.5 * shrink as f64 * max_spacing
            } else {
                0.0
            }
        } else {
            sigmas_given[l]
        };
        let fixed_s = pyramid::smooth(&fixed_image, sigma_mm);
        let moving_s = pyramid::smooth(&moving_image, sigma_mm);
        let (level_shape, fixed_index_from_level) = pyramid::shrunk_grid(fixed.shape, shrink);
        let level_voxels = (level_shape[0] * level_shape[1] * level_shape[2]) as f64;
        let fraction = options
            .sampling_fraction
            .max(options.min_samples as f64 / level_voxels);
        let samples = sampling::draw(
            &fixed_s,
            level_shape,
            fixed_index_from_level,
            mask,
            fraction,
            options.sampling,
        );
        if samples.len() < 50 {
            return Err(RegisterError::TooFewSamples {
                samples: samples.len(),
                shrink,
            });
        }
        let (flo, fhi) = samples
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| {
                (a.min(s.value), b.max(s.value))
            });
        let (mlo, mhi) = moving_s.min_max();
        let metric = Mattes {
            bins: options.bins,
            fixed: Binning::new(flo, fhi, options.bins),
            moving: Binning::new(mlo, mhi, options.bins),
            moving_image: &moving_s,
            samples: &samples,
            min_valid: (samples.len() / 10).max(32),
        };
        let evaluate = |p: &Params| metric.evaluate(p, true);
        let level_voxel_mm = shrink as f64 * mean_spacing;
        let settings = optimizer::Settings {
            initial_step_mm: options.initial_step_voxels * level_voxel_mm,
            min_step_mm: options.min_step_voxels * level_voxel_mm,
            max_iterations: options.max_iterations,
        };
        let mut iterations = 0;
        let (start, first): (Params, Evaluation) = match params.take() {
            Some(p) => match evaluate(&p) {
                Some(e) => (p, e),
                // The finer level's samples left the moving image entirely.
                None => return Err(no_overlap(chosen.as_str().into(), &metric)),
            },
            None => {
                let refine = |p: Params, e: Evaluation| {
                    let scales = optimizer::physical_scales(&p, &samples);
                    optimizer::minimise(p, e, &scales, &settings, evaluate)
                };
                let start = initialise(options, &fixed_image, &moving_image, &evaluate, refine)
                    .ok_or_else(|| no_overlap(tried(options.initializer), &metric))?;
                chosen = start.how;
                initial_metric = start.initial_metric;
                iterations += start.iterations;
                (start.params, start.evaluation)
            }
        };
        let mut start = (start, first);
        // Affine: settle the rigid part first at the coarsest level, so the
        // 12 parameters start near the answer.
        if options.kind == TransformKind::Affine && l == 0 {
            let scales = optimizer::physical_scales(&start.0, &samples);
            let out = optimizer::minimise(start.0, start.1, &scales, &settings, evaluate);
            iterations += out.iterations;
            let p = out.params.to_affine();
            let e = evaluate(&p).ok_or_else(|| no_overlap(chosen.as_str().into(), &metric))?;
            start = (p, e);
        }
        let scales = optimizer::physical_scales(&start.0, &samples);
        let out = optimizer::minimise(start.0, start.1, &scales, &settings, evaluate);
        iterations += out.iterations;
        final_metric = out.value;
        levels.push(LevelReport {
            shrink,
            sigma_mm,
            kind: options.kind,
            samples: samples.len(),
            iterations,
            metric: out.value,
            stop: out.stop,
            seconds: level_started.elapsed().as_secs_f64(),
        });
        params = Some(out.params);
    }
    let params = params.expect("at least one level ran");
    let moving_ras_from_fixed_ras = transform::ras_map_from_lps_map(params.matrix());
    let c = params.centre_lps;
    let itk = match params.kind {
        TransformKind::Rigid => ItkTransform {
            class: "Euler3DTransform_double_3_3".into(),
            parameters: params.values.clone(),
            fixed_parameters: vec![c.x, c.y, c.z, 0.0],
        },
        TransformKind::Affine => ItkTransform {
            class: "AffineTransform_double_3_3".into(),
            parameters: params.values.clone(),
            fixed_parameters: vec![c.x, c.y, c.z],
        },
    };
    Ok(Registration {
        kind: options.kind,
        moving_ras_from_fixed_ras,
        final_metric,
        levels,
        initializer: chosen,
        initial_metric,
        itk,
        seconds: started.elapsed().as_secs_f64(),
        fixed_file: None,
        moving_file: None,
    })
}

fn tried(how: Initializer) -> String {
    match how {
        Initializer::Auto => "geometry, moments, identity".into(),
        other => other.as_str().into(),
    }
}

fn no_overlap(tried: String, metric: &Mattes) -> RegisterError {
    RegisterError::NoOverlap {
        tried,
        needed: metric.min_valid,
        samples: metric.samples.len(),
    }
}

/// Where the first level starts.
struct Start {
    params: Params,
    evaluation: Evaluation,
    how: Initializer,
    /// Metric of the chosen initialiser before any optimisation.
    initial_metric: f64,
    /// Evaluations spent choosing.
    iterations: usize,
}

/// The starting transform (rigid; the affine stage follows in `register`):
/// the asked-for initialiser, or under Auto the one of geometry, moments and
/// identity whose rigid optimisation at the coarsest level ends lowest. The
/// starting values alone choose badly when something outside the fixed mask
/// (a table, another field of view) drags the moments or the grid centre
/// away; a coarse optimisation from each costs little and tells them apart.
fn initialise(
    options: &RegisterOptions,
    fixed: &Image,
    moving: &Image,
    evaluate: &impl Fn(&Params) -> Option<Evaluation>,
    refine: impl Fn(Params, Evaluation) -> optimizer::Outcome,
) -> Option<Start> {
    let candidates: &[Initializer] = match options.initializer {
        Initializer::Auto => &[
            Initializer::Geometry,
            Initializer::Moments,
            Initializer::Identity,
        ],
        ref one => std::slice::from_ref(one),
    };
    let mut best: Option<Start> = None;
    let mut spent = 0;
    for &how in candidates {
        let (centre, translation) =
            init::centre_and_translation(how, fixed, moving, options.fixed_mask.as_deref());
        let mut p = Params::identity(TransformKind::Rigid, centre);
        p.set_translation(translation);
        let Some(e) = evaluate(&p) else { continue };
        let initial_metric = e.value;
        let (params, evaluation) = if candidates.len() > 1 {
            let out = refine(p, e);
            spent += out.iterations;
            let Some(e) = evaluate(&out.params) else {
                continue;
            };
            (out.params, e)
        } else {
            (p, e)
        };
        if best
            .as_ref()
            .is_none_or(|b| evaluation.value < b.evaluation.value)
        {
            best = Some(Start {
                params,
                evaluation,
                how,
                initial_metric,
                iterations: 0,
            });
        }
    }
    best.map(|b| Start {
        iterations: spent,
        ..b
    })
}
