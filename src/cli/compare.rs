//! `rayseg compare`: agreement of two label maps on one grid, per label.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use rayseg::annotate::label_formats::{LabelMapFile, read_label_map_alone};
use rayseg::annotate::metrics::{
    DEFAULT_TOLERANCE_MM, EMPTY_POLICY, Empty, Grid, HD_PERCENT, LabelMetrics, Options, compare,
};
use serde::Serialize;

#[derive(Args)]
pub struct CompareArgs {
    /// First label map (NIfTI, NRRD, MetaImage, .seg.nrrd): the reference of
    /// the relative volume difference.
    pub a: PathBuf,
    /// Second label map, on the same grid as A.
    pub b: PathBuf,
    /// Only this label (reported even when it is in neither map).
    #[arg(long)]
    pub label: Option<u8>,
    /// Distance within which two surfaces count as touching, for the surface Dice.
    #[arg(
        long,
        value_name = "MM",
        default_value_t = DEFAULT_TOLERANCE_MM,
        allow_negative_numbers = true
    )]
    pub tolerance_mm: f64,
    /// Print one JSON object: files, grid, tolerance, empty-mask policy, labels.
    #[arg(long)]
    pub json: bool,
}

/// What `--json` prints.
#[derive(Serialize)]
struct Report<'a> {
    files: Files<'a>,
    grid: GridReport,
    tolerance_mm: f64,
    hd_percentile: f64,
    method: &'static str,
    policy: &'static str,
    labels: Vec<NamedMetrics<'a>>,
}

#[derive(Serialize)]
struct Files<'a> {
    a: &'a Path,
    b: &'a Path,
}

#[derive(Serialize)]
struct GridReport {
    shape: [usize; 3],
    spacing_mm: [f64; 3],
    /// Rows of the 4×4 voxel-to-RAS matrix.
    ras_from_voxel: [[f64; 4]; 4],
    voxel_volume_ml: f64,
}

#[derive(Serialize)]
struct NamedMetrics<'a> {
    #[serde(flatten)]
    metrics: &'a LabelMetrics,
    name: Option<&'a str>,
}

const METHOD: &str = "Surfaces as DeepMind surface-distance: surface elements on the half-voxel \
    grid from 2x2x2 neighbour codes, weighted by their marching-cubes area; exact Euclidean \
    distances in mm; HD95 the larger of the two directed area-weighted 95th percentiles; ASSD the \
    area-weighted mean over both surfaces";

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let mut phases = super::timing::Phases::start();
    let (grid_a, file_a) = read(&args.a)?;
    let (grid_b, file_b) = read(&args.b)?;
    phases.mark("read");
    grid_a.check_same(&grid_b).with_context(|| {
        format!(
            "{} and {} are not on the same voxel grid",
            args.a.display(),
            args.b.display()
        )
    })?;
    let options = Options {
        tolerance_mm: args.tolerance_mm,
        label: args.label,
    };
    let metrics = compare(&grid_a, &file_a.labels, &file_b.labels, &options)
        .with_context(|| format!("comparing {} with {}", args.a.display(), args.b.display()))?;
    phases.mark("compare");
    // Names from A, else from B.
    let name = |label: u8| {
        [&file_a, &file_b].into_iter().find_map(|f| {
            let info = f.label_set.as_ref()?.get(label)?;
            Some(info.name.as_str())
        })
    };
    let labels: Vec<NamedMetrics> = metrics
        .iter()
        .map(|m| NamedMetrics {
            metrics: m,
            name: name(m.label),
        })
        .collect();
    let spacing_mm = grid_a.spacing_mm()?;
    if args.json {
        let report = Report {
            files: Files {
                a: &args.a,
                b: &args.b,
            },
            grid: GridReport {
                shape: grid_a.shape,
                spacing_mm,
                ras_from_voxel: grid_a.ras_from_voxel.transpose().to_cols_array_2d(),
                voxel_volume_ml: grid_a.voxel_volume_ml(),
            },
            tolerance_mm: args.tolerance_mm,
            hd_percentile: HD_PERCENT,
            method: METHOD,
            policy: EMPTY_POLICY,
            labels,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&args, &grid_a, spacing_mm, &labels);
    }
    phases.mark("print");
    phases.report();
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<(Grid, LabelMapFile)> {
    let (volume, file) = read_label_map_alone(path, None)?;
    for w in &file.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    let grid = Grid {
        shape: volume.shape,
        ras_from_voxel: volume.ras_from_voxel,
    };
    Ok((grid, file))
}

fn print_text(args: &CompareArgs, grid: &Grid, spacing_mm: [f64; 3], labels: &[NamedMetrics]) {
    let [n0, n1, n2] = grid.shape;
    let [s0, s1, s2] = spacing_mm;
    println!("A: {}\nB: {}", args.a.display(), args.b.display());
    println!(
        "grid {n0}×{n1}×{n2}, spacing {s0:.3} × {s1:.3} × {s2:.3} mm; surface Dice tolerance {} mm",
        args.tolerance_mm
    );
    if labels.is_empty() {
        println!("no labels in either map");
        return;
    }
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    for l in labels {
        let m = l.metrics;
        match l.name {
            Some(name) => println!("\nlabel {} ({name})", m.label),
            None => println!("\nlabel {}", m.label),
        }
        if let Some(empty) = m.empty {
            let which = match empty {
                Empty::A => "missing from A: no surface distances",
                Empty::B => "missing from B: no surface distances",
                Empty::Both => "in neither map: nothing to compare",
            };
            println!("  {which}");
        }
        let rows = [
            (
                "voxels A / B / both",
                format!("{} / {} / {}", m.voxels_a, m.voxels_b, m.voxels_both),
            ),
            (
                "volume A / B",
                format!("{:.3} / {:.3} mL", m.volume_a_ml, m.volume_b_ml),
            ),
            (
                "volume B − A",
                format!(
                    "{:+.3} mL ({} %)",
                    m.volume_diff_ml,
                    m.volume_diff_percent
                        .map_or("-".to_string(), |p| format!("{p:+.2}"))
                ),
            ),
            ("Dice", opt(m.dice, 4)),
            ("Jaccard", opt(m.jaccard, 4)),
            (
                "surface Dice",
                format!("{} (at {} mm)", opt(m.surface_dice, 4), args.tolerance_mm),
            ),
            ("Hausdorff mm", opt(m.hausdorff_mm, 3)),
            ("HD95 mm", opt(m.hd95_mm, 3)),
            (
                "ASSD mm",
                format!(
                    "{} (A→B {}, B→A {})",
                    opt(m.assd_mm, 3),
                    opt(m.asd_a_to_b_mm, 3),
                    opt(m.asd_b_to_a_mm, 3)
                ),
            ),
            (
                "surface A / B",
                format!(
                    "{:.1} / {:.1} mm²",
                    m.surface_area_a_mm2, m.surface_area_b_mm2
                ),
            ),
        ];
        for (what, value) in rows {
            println!("  {what:<20} {value}");
        }
    }
    if labels.iter().any(|l| l.metrics.empty.is_some()) {
        println!("\n{EMPTY_POLICY}");
    }
}
