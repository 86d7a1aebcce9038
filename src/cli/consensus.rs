//! `rayseg consensus`: one label map from several raters' (STAPLE as ITK
//! computes it, or majority vote), with each rater's sensitivity and
//! specificity per label.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rayseg::annotate::consensus::{Consensus, Method, StapleOptions, check_same_grid, consensus};
use rayseg::annotate::label_formats::{LabelFormat, read_label_map_alone, write_label_map};
use serde_json::json;

use super::timing::Phases;

#[derive(Args)]
pub struct ConsensusArgs {
    /// Raters' label maps on one grid (NIfTI, NRRD, MetaImage, .seg.nrrd); at least 2.
    #[arg(required = true, num_args = 2..)]
    pub inputs: Vec<PathBuf>,
    /// Output label map, with the first input's label names; never an input.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format: nifti, seg.nrrd, nrrd or metaimage (default: by extension).
    #[arg(long)]
    pub format: Option<LabelFormat>,
    #[arg(long, value_enum, default_value_t = MethodArg::Staple)]
    pub method: MethodArg,
    /// STAPLE: scales the prior, as ITK's ConfidenceWeight.
    #[arg(long, default_value_t = 1.0)]
    pub confidence_weight: f64,
    /// STAPLE: stop after this many iterations (ITK's MaximumIterations;
    /// default: until converged, as ITK).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_iterations: Option<u32>,
    /// Print one JSON object: per label, each rater's sensitivity,
    /// specificity and volume, the iterations and the consensus volume.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodArg {
    /// Per label, ITK's STAPLE; the label with probability ≥ 0.5 (the most
    /// probable if several, ties to the lower label).
    Staple,
    /// The label most raters gave; a tie gives background.
    Majority,
}

pub fn run(args: ConsensusArgs) -> anyhow::Result<()> {
    let mut phases = Phases::start();
    for input in &args.inputs {
        if same_file(input, &args.output) {
            anyhow::bail!(
                "{}: the output would overwrite an input",
                args.output.display()
            );
        }
    }
    // The first input's grid and label names go to the output; of the
    // others only the labels and the grid's geometry are kept.
    let mut grids = Vec::with_capacity(args.inputs.len());
    let mut maps = Vec::with_capacity(args.inputs.len());
    let mut first = None;
    for path in &args.inputs {
        let (grid, file) = read_label_map_alone(path, None)
            .with_context(|| format!("reading {}", path.display()))?;
        for w in &file.warnings {
            eprintln!("warning: {}: {w}", path.display());
        }
        grids.push((path.as_path(), grid.shape, grid.ras_from_voxel));
        maps.push(file.labels);
        if first.is_none() {
            first = Some((grid, file.label_set.unwrap_or_default()));
        }
    }
    let Some((grid, label_set)) = first else {
        anyhow::bail!("no inputs");
    };
    check_same_grid(&grids)?;
    phases.mark("load");

    let method = match args.method {
        MethodArg::Staple => Method::Staple,
        MethodArg::Majority => Method::Majority,
    };
    let options = StapleOptions {
        confidence_weight: args.confidence_weight,
        max_iterations: args.max_iterations.unwrap_or(u32::MAX),
    };
    let raters: Vec<&[u8]> = maps.iter().map(Vec::as_slice).collect();
    let result = consensus(&raters, method, &options)?;
    phases.mark("consensus");

    let written = write_label_map(&args.output, &result.labels, &label_set, &grid, args.format)?;
    phases.mark("write");

    let voxel_ml = grid.voxel_volume_mm3() / 1000.0;
    let name = |label: u8| label_set.get(label).map(|l| l.name.clone());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report_json(&args, method, &result, voxel_ml, &name))?
        );
    } else {
        print_report(&args, method, &result, voxel_ml, &name);
        let written: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        println!("wrote {}", written.join(" and "));
    }
    phases.report();
    Ok(())
}

fn report_json(
    args: &ConsensusArgs,
    method: Method,
    result: &Consensus,
    voxel_ml: f64,
    name: &dyn Fn(u8) -> Option<String>,
) -> serde_json::Value {
    let labels: Vec<serde_json::Value> = result
        .summary
        .iter()
        .map(|s| {
            let raters: Vec<serde_json::Value> = args
                .inputs
                .iter()
                .enumerate()
                .map(|(r, path)| {
                    let mut o = json!({
                        "input": path.display().to_string(),
                        "voxels": s.rater_voxels[r],
                        "volume_ml": s.rater_voxels[r] as f64 * voxel_ml,
                    });
                    if let Some(e) = &s.staple {
                        o["sensitivity"] = json!(e.sensitivity[r]);
                        o["specificity"] = json!(e.specificity[r]);
                    }
                    o
                })
                .collect();
            let mut o = json!({
                "label": s.label,
                "name": name(s.label),
                "consensus_voxels": s.consensus_voxels,
                "consensus_ml": s.consensus_voxels as f64 * voxel_ml,
                "raters": raters,
            });
            if let Some(e) = &s.staple {
                o["iterations"] = json!(e.iterations);
                o["converged"] = json!(e.converged);
                o["prior"] = json!(e.prior);
            }
            o
        })
        .collect();
    json!({
        "method": method,
        "inputs": args.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "output": args.output.display().to_string(),
        "voxel_ml": voxel_ml,
        "labels": labels,
    })
}

fn print_report(
    args: &ConsensusArgs,
    method: Method,
    result: &Consensus,
    voxel_ml: f64,
    name: &dyn Fn(u8) -> Option<String>,
) {
    let what = match method {
        Method::Staple => "STAPLE",
        Method::Majority => "majority vote",
    };
    println!("{what} of {} label maps", args.inputs.len());
    if result.summary.is_empty() {
        println!("no labels in any input");
    }
    let width = args
        .inputs
        .iter()
        .map(|p| p.display().to_string().chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    for s in &result.summary {
        let named = name(s.label).map_or(String::new(), |n| format!(" ({n})"));
        let mut head = format!(
            "label {}{named}: {} voxels, {:.3} mL",
            s.label,
            s.consensus_voxels,
            s.consensus_voxels as f64 * voxel_ml
        );
        if let Some(e) = &s.staple {
            let state = if e.converged {
                "converged"
            } else {
                "not converged"
            };
            head += &format!(
                "; {} iterations ({state}), prior {:.6}",
                e.iterations, e.prior
            );
        }
        println!("{head}");
        match &s.staple {
            Some(_) => println!(
                "  {:<width$} {:>11} {:>11} {:>10} {:>10}",
                "rater", "sensitivity", "specificity", "voxels", "mL"
            ),
            None => println!("  {:<width$} {:>10} {:>10}", "rater", "voxels", "mL"),
        }
        for (r, path) in args.inputs.iter().enumerate() {
            let voxels = s.rater_voxels[r];
            let ml = voxels as f64 * voxel_ml;
            let path = path.display().to_string();
            match &s.staple {
                Some(e) => println!(
                    "  {path:<width$} {:>11.6} {:>11.6} {voxels:>10} {ml:>10.3}",
                    e.sensitivity[r], e.specificity[r]
                ),
                None => println!("  {path:<width$} {voxels:>10} {ml:>10.3}"),
            }
        }
    }
}

/// Whether `output` names `input` (the output need not exist yet).
fn same_file(input: &Path, output: &Path) -> bool {
    let Ok(input) = input.canonicalize() else {
        return false;
    };
    if let Ok(output) = output.canonicalize() {
        return input == output;
    }
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), output.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name) == input,
        _ => false,
    }
}
