//! `rayseg phantom`: a synthetic CT phantom with lesions of known volume.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use rayseg::annotate::label_files::write_atomic;
use rayseg::volume::phantom::{PhantomSpec, ct_phantom, save_ct_nifti};

#[derive(Args)]
pub struct PhantomArgs {
    /// Output CT (.nii or .nii.gz, int16 HU).
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Voxels per axis (cube).
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Voxels per axis X,Y,Z (overrides --size), e.g. 512,512,1000.
    #[arg(long, value_name = "X,Y,Z", value_delimiter = ',', num_args = 1)]
    pub shape: Vec<usize>,
    /// Sub-voxel samples per axis for partial-volume edges (1..=8; 1 is fastest).
    #[arg(long, default_value_t = 4)]
    pub supersample: usize,
    /// Voxel spacing X,Y,Z in mm (default 1.5,1.5,1.5).
    #[arg(long, value_name = "X,Y,Z", value_delimiter = ',', num_args = 1)]
    pub spacing: Vec<f64>,
    /// Write the lesion truth (centres, radii, analytic volumes) as JSON here.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Noise seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Gaussian noise SD in HU.
    #[arg(long, default_value_t = 10.0)]
    pub noise_hu: f64,
}

pub fn run(args: PhantomArgs) -> anyhow::Result<()> {
    let spacing_mm = match args.spacing.as_slice() {
        [] => [1.5; 3],
        [s] => [*s; 3],
        [x, y, z] => [*x, *y, *z],
        other => anyhow::bail!("--spacing takes X,Y,Z or one number, got {other:?}"),
    };
    let shape = match args.shape.as_slice() {
        [] => [args.size; 3],
        [x, y, z] => [*x, *y, *z],
        other => anyhow::bail!("--shape takes X,Y,Z, got {other:?}"),
    };
    let spec = PhantomSpec {
        shape,
        spacing_mm,
        seed: args.seed,
        noise_sd_hu: args.noise_hu,
        supersample: args.supersample,
    };
    let (volume, truth) = ct_phantom(&spec)?;
    save_ct_nifti(&args.output, &volume)?;
    println!(
        "wrote {} ({:?} voxels, spacing {:?} mm)",
        args.output.display(),
        volume.shape,
        spacing_mm
    );
    for t in &truth {
        println!(
            "  {:<20} {:>7.3} mL at {:?} ({})",
            t.name, t.volume_ml, t.centre_ras_mm, t.location
        );
    }
    if let Some(path) = &args.truth {
        let json = serde_json::to_vec_pretty(&truth)?;
        write_atomic(path, &json).context("writing the truth JSON")?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
