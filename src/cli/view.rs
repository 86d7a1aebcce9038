//! `rayseg view` (and `rayseg` alone): the interactive app.

use clap::Args;

#[derive(Args, Default)]
pub struct ViewArgs {
    /// A .nii/.nii.gz file, a DICOM file or a DICOM series folder; none opens the bundled sample.
    pub path: Option<std::path::PathBuf>,
}

pub fn run(args: ViewArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("rayseg view is not implemented yet")
}
