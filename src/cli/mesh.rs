//! `rayseg mesh`: Surface meshes of labels.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use rayseg::annotate::label_formats::read_label_map_alone;
use rayseg::annotate::mesh::{
    DEFAULT_SMOOTHING_ITERATIONS, MeshFormat, MeshOptions, MeshSpace, label_voxel_count,
    try_label_surface, voxel_volume_mm3, write_mesh,
};

#[derive(Args)]
pub struct MeshArgs {
    /// Label map (NIfTI, NRRD, .seg.nrrd, MetaImage or DICOM); its own grid
    /// places the mesh in world millimetres.
    pub mask: PathBuf,
    /// The label to mesh. Without it every label present is meshed, one file
    /// each, OUT_<label name> (as 3D Slicer exports segments).
    #[arg(long)]
    pub label: Option<u8>,
    /// Mesh file: .stl (binary unless --ascii), .obj, or .ply (binary
    /// little-endian unless --ascii).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Taubin smoothing passes (0: the voxel boundary itself).
    #[arg(long, default_value_t = DEFAULT_SMOOTHING_ITERATIONS)]
    pub smooth: usize,
    /// Coordinate frame written to the file (and named in its header).
    #[arg(long, value_enum, default_value_t = SpaceArg::Lps)]
    pub space: SpaceArg,
    /// Text STL or PLY instead of binary.
    #[arg(long)]
    pub ascii: bool,
    /// Keep the smoothed surface's own volume instead of restoring the
    /// label's voxel volume.
    #[arg(long)]
    pub no_volume_correction: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SpaceArg {
    /// x left, y posterior, z superior (DICOM; what Slicer writes).
    Lps,
    /// x right, y anterior, z superior.
    Ras,
}

impl From<SpaceArg> for MeshSpace {
    fn from(space: SpaceArg) -> Self {
        match space {
            SpaceArg::Lps => MeshSpace::Lps,
            SpaceArg::Ras => MeshSpace::Ras,
        }
    }
}

/// A label name made safe for a file name: letters, digits and `-_.+`
/// kept, anything else `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `dir/out.stl` with `suffix` → `dir/out_<suffix>.stl`.
fn with_suffix(output: &Path, suffix: &str) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match output.extension() {
        Some(ext) => format!("{stem}_{suffix}.{}", ext.to_string_lossy()),
        None => format!("{stem}_{suffix}"),
    };
    output.with_file_name(name)
}

pub fn run(args: MeshArgs) -> anyhow::Result<()> {
    let mut phases = super::timing::Phases::start();
    let format = MeshFormat::from_path(&args.output, args.ascii)?;
    let space = MeshSpace::from(args.space);
    if args.label == Some(0) {
        bail!("label 0 is the background; give a label from 1 to 255");
    }
    let (grid, file) = read_label_map_alone(&args.mask, None)?;
    for w in &file.warnings {
        eprintln!("warning: {}: {w}", args.mask.display());
    }
    phases.mark("load");

    let mut present = [false; 256];
    for &v in &file.labels {
        present[v as usize] = true;
    }
    let name_of = |label: u8| {
        file.label_set
            .as_ref()
            .and_then(|s| s.get(label))
            .map(|l| l.name.clone())
            .filter(|n| !n.trim().is_empty())
    };
    // (label, output path, name for the header)
    let mut jobs: Vec<(u8, PathBuf, String)> = Vec::new();
    match args.label {
        Some(label) => {
            if !present[label as usize] {
                bail!("{}: label {label} has no voxels", args.mask.display());
            }
            let name = name_of(label).unwrap_or_else(|| format!("label {label}"));
            jobs.push((label, args.output.clone(), name));
        }
        None => {
            let mut used = std::collections::HashSet::new();
            for label in 1..=255u8 {
                if !present[label as usize] {
                    continue;
                }
                let name = name_of(label);
                let mut suffix = name
                    .as_deref()
                    .map(file_safe)
                    .unwrap_or_else(|| format!("label_{label}"));
                if !used.insert(suffix.clone()) {
                    suffix = format!("{suffix}_{label}");
                    used.insert(suffix.clone());
                }
                let name = name.unwrap_or_else(|| format!("label {label}"));
                jobs.push((label, with_suffix(&args.output, &suffix), name));
            }
            if jobs.is_empty() {
                bail!("{}: no labels (every voxel is 0)", args.mask.display());
            }
        }
    }
    for (_, path, _) in &jobs {
        if super::brush::same_file(path, &args.mask) {
            bail!(
                "output {} is the input mask; refusing to overwrite it",
                path.display()
            );
        }
    }

    let options = MeshOptions {
        smoothing_iterations: args.smooth,
        preserve_volume: !args.no_volume_correction,
    };
    let voxel_mm3 = voxel_volume_mm3(grid.ras_from_voxel);
    let frame = space.name();
    println!(
        "{:>5}  {:<16} {:>10} {:>10} {:>10} {:>8}  bounds {frame} mm (min .. max)  file",
        "label", "name", "triangles", "mesh mL", "voxel mL", "diff %"
    );
    for (label, path, name) in &jobs {
        let mesh = try_label_surface(
            &file.labels,
            grid.shape,
            grid.ras_from_voxel,
            *label,
            &options,
        )
        .with_context(|| format!("{}: label {label}", args.mask.display()))?;
        let mesh_ml = mesh.enclosed_volume_mm3() / 1000.0;
        let voxel_ml = label_voxel_count(&file.labels, *label) as f64 * voxel_mm3 / 1000.0;
        let diff_percent = 100.0 * (mesh_ml - voxel_ml) / voxel_ml;
        let (lo, hi) = mesh
            .bounds_ras_mm()
            .map(|(lo, hi)| {
                // Bounds in the file's frame: LPS negates x and y.
                let f = |p: [f64; 3]| space.from_ras(p.map(|x| x as f32)).map(f64::from);
                let (a, b) = (f(lo), f(hi));
                (
                    [0, 1, 2].map(|i| a[i].min(b[i])),
                    [0, 1, 2].map(|i| a[i].max(b[i])),
                )
            })
            .unwrap_or_default();
        write_mesh(path, &mesh, format, space, name)?;
        println!(
            "{label:>5}  {:<16} {:>10} {mesh_ml:>10.3} {voxel_ml:>10.3} {diff_percent:>+8.2}  \
             ({:.1}, {:.1}, {:.1}) .. ({:.1}, {:.1}, {:.1})  {}",
            name,
            mesh.triangles.len(),
            lo[0],
            lo[1],
            lo[2],
            hi[0],
            hi[1],
            hi[2],
            path.display()
        );
    }
    phases.mark("mesh_and_write");
    phases.report();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_label_file_names() {
        assert_eq!(
            with_suffix(Path::new("out/seg.stl"), "left kidney"),
            PathBuf::from("out/seg_left kidney.stl")
        );
        assert_eq!(file_safe("left kidney/2"), "left_kidney_2");
        assert_eq!(
            with_suffix(Path::new("seg"), "label_3"),
            PathBuf::from("seg_label_3")
        );
    }
}
