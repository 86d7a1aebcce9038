//! `rayseg register`: rigid or affine Mattes-MI registration of two images.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use rayseg::register::file::{itk_path_beside, json_text};
use rayseg::register::resample::resample_onto_fixed;
use rayseg::register::{
    Initializer, RegisterOptions, Sampling, TransformKind, register, write_transform,
};
use rayseg::volume::{LoadOptions, load};

#[derive(Args)]
pub struct RegisterArgs {
    /// The fixed image (its grid is the reference).
    pub fixed: PathBuf,
    /// The moving image (brought onto the fixed one).
    pub moving: PathBuf,
    /// Output transform: T.json writes the JSON (4×4 RAS matrices, metric,
    /// levels) and T.tfm beside it (ITK text transform, LPS, fixed→moving
    /// points, which SimpleITK and Slicer read); T.tfm or T.txt writes only
    /// the ITK file.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Rigid: rotation + translation (the default; ITK Euler3DTransform).
    #[arg(long, conflicts_with = "affine")]
    pub rigid: bool,
    /// Affine: 12 parameters (ITK AffineTransform), after a rigid start.
    #[arg(long)]
    pub affine: bool,
    /// Only fixed voxels where this label map is nonzero are sampled (read
    /// onto the fixed grid).
    #[arg(long, value_name = "MASK")]
    pub fixed_mask: Option<PathBuf>,
    /// Also write the moving image resampled onto the fixed grid (float32 NIfTI).
    #[arg(long, value_name = "OUT.nii.gz")]
    pub resampled: Option<PathBuf>,
    /// Shrink factors per level, coarsest first.
    #[arg(long, value_delimiter = ',', default_value = "4,2,1")]
    pub shrink: Vec<usize>,
    /// Gaussian σ in mm per level (default: shrink/2 voxels of the fixed
    /// image's largest spacing, 0 at shrink 1).
    #[arg(long, value_delimiter = ',')]
    pub sigmas_mm: Vec<f64>,
    /// Fraction of each level's fixed grid sampled.
    #[arg(long, default_value_t = 0.05)]
    pub sampling: f64,
    /// At least this many samples per level (all voxels when fewer).
    #[arg(long, default_value_t = 10_000)]
    pub min_samples: usize,
    /// Sample every k-th voxel instead of random voxels.
    #[arg(long)]
    pub regular: bool,
    /// Seed of the random sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Histogram bins of the mutual information.
    #[arg(long, default_value_t = 50)]
    pub bins: usize,
    /// Metric evaluations per level at most.
    #[arg(long, default_value_t = 200)]
    pub iterations: usize,
    /// Starting transform: geometry, moments, identity, or auto (the best of
    /// the three by the metric at the coarsest level).
    #[arg(long, default_value = "auto", value_parser = parse_init)]
    pub init: Initializer,
    /// Print the JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_init(s: &str) -> Result<Initializer, String> {
    match s {
        "auto" => Ok(Initializer::Auto),
        "geometry" => Ok(Initializer::Geometry),
        "moments" => Ok(Initializer::Moments),
        "identity" => Ok(Initializer::Identity),
        other => Err(format!(
            "{other:?}: one of auto, geometry, moments, identity"
        )),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn name_of(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

pub fn run(args: RegisterArgs) -> anyhow::Result<()> {
    let mut phases = super::timing::Phases::start();
    let lower = args.output.to_string_lossy().to_ascii_lowercase();
    let mut outputs = vec![args.output.clone()];
    if lower.ends_with(".json") {
        outputs.push(itk_path_beside(&args.output));
    } else if !(lower.ends_with(".tfm") || lower.ends_with(".txt")) {
        bail!(
            "{}: the output ends in .json, .tfm or .txt",
            args.output.display()
        );
    }
    outputs.extend(args.resampled.clone());
    for out in &outputs {
        for input in [&args.fixed, &args.moving]
            .into_iter()
            .chain(&args.fixed_mask)
        {
            if same_file(out, input) {
                bail!("{} is an input; refusing to overwrite it", out.display());
            }
        }
    }
    let fixed = load(&args.fixed, &LoadOptions::default())?;
    let moving = load(&args.moving, &LoadOptions::default())?;
    let fixed_mask = match &args.fixed_mask {
        Some(path) => Some(super::load_label_map(path, &fixed)?.labels),
        None => None,
    };
    phases.mark("load");
    let options = RegisterOptions {
        kind: if args.affine {
            TransformKind::Affine
        } else {
            TransformKind::Rigid
        },
        fixed_mask,
        shrink_factors: args.shrink.clone(),
        smoothing_sigmas_mm: (!args.sigmas_mm.is_empty()).then(|| args.sigmas_mm.clone()),
        sampling_fraction: args.sampling,
        min_samples: args.min_samples,
        sampling: if args.regular {
            Sampling::Regular
        } else {
            Sampling::Random { seed: args.seed }
        },
        bins: args.bins,
        initializer: args.init,
        max_iterations: args.iterations,
        ..RegisterOptions::default()
    };
    let mut reg = register(&fixed, &moving, &options).with_context(|| {
        format!(
            "registering {} to {}",
            args.moving.display(),
            args.fixed.display()
        )
    })?;
    reg.fixed_file = Some(name_of(&args.fixed));
    reg.moving_file = Some(name_of(&args.moving));
    phases.mark("register");
    write_transform(&args.output, &reg)?;
    if let Some(path) = &args.resampled {
        let values = resample_onto_fixed(&fixed, &moving, reg.moving_ras_from_fixed_ras);
        rayseg::volume::nifti::save_f32(path, &values, &fixed)?;
    }
    phases.mark("write");
    if args.json {
        let itk = lower
            .ends_with(".json")
            .then(|| itk_path_beside(&args.output));
        println!("{}", json_text(&reg, itk.as_deref()));
    } else {
        println!(
            "fixed:  {}\nmoving: {}",
            args.fixed.display(),
            args.moving.display()
        );
        println!(
            "{} registration, Mattes MI ({} bins), initialiser {}",
            reg.kind.as_str(),
            options.bins,
            reg.initializer.as_str()
        );
        for l in &reg.levels {
            println!(
                "  level shrink {} σ {:.2} mm: {} samples, {} iterations, metric {:.5} ({}), {:.2} s",
                l.shrink,
                l.sigma_mm,
                l.samples,
                l.iterations,
                l.metric,
                l.stop.as_str(),
                l.seconds
            );
        }
        println!("initial metric {:.5}", reg.initial_metric);
        println!("final metric {:.5}", reg.final_metric);
        println!("moving_ras_from_fixed_ras:");
        let rows = reg.moving_ras_from_fixed_ras.transpose().to_cols_array_2d();
        for r in rows.iter() {
            println!(
                "  [{:>10.6} {:>10.6} {:>10.6} {:>10.4}]",
                r[0], r[1], r[2], r[3]
            );
        }
        for out in &outputs {
            println!("wrote {}", out.display());
        }
    }
    phases.report();
    Ok(())
}
