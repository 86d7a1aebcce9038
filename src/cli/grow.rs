//! `rayseg grow`: seeded region growing written to a label map.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use rayseg::annotate::document::RegionPreview;
use rayseg::annotate::grow::{
    Connectivity, GrowImage, GrowRequest, PackedFormat, PackedImage, RegionGrower, VoxelBits,
    cpu::grow_region_cpu, gpu_threshold_exact, seed_from_ras,
};
use rayseg::annotate::label_formats::{LabelFormat, output_format};
use rayseg::annotate::labels::LabelSet;
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};

use super::SourceArgs;

#[derive(Args)]
pub struct GrowArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Seed voxel index I,J,K (0-based; repeat for several seeds).
    #[arg(long = "seed", value_name = "I,J,K", value_parser = parse_ijk, allow_hyphen_values = true)]
    pub seeds_ijk: Vec<[i64; 3]>,
    /// Seed in RAS millimetres X,Y,Z (the nearest voxel; repeatable).
    #[arg(long = "seed-mm", value_name = "X,Y,Z", value_parser = parse_xyz, allow_hyphen_values = true)]
    pub seeds_mm: Vec<[f64; 3]>,
    /// Lower bound on the scaled values (HU for CT), inclusive.
    #[arg(long, allow_hyphen_values = true)]
    pub lower: f64,
    /// Upper bound on the scaled values, inclusive.
    #[arg(long, allow_hyphen_values = true)]
    pub upper: f64,
    /// 6 (face) or 26 (face, edge and corner) neighbours.
    #[arg(long, default_value_t = 6, value_parser = parse_connectivity)]
    pub connectivity: u32,
    /// Only voxels within this RAS distance (mm, between voxel centres) of any seed.
    #[arg(long)]
    pub max_distance_mm: Option<f64>,
    /// Label value written into the region.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..))]
    pub label: u8,
    /// Existing label map on the image's grid to grow into (default: an empty map).
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// Locked labels L,... (with --mask): neither grown over nor overwritten.
    #[arg(long, value_delimiter = ',')]
    pub locked: Vec<u8>,
    /// Use the CPU reference instead of the GPU (slow; for checks).
    #[arg(long)]
    pub cpu: bool,
    /// Output label map: .nii(.gz), .nrrd, .mha (each with a .labels.json
    /// sidecar) or .seg.nrrd (3D Slicer), by extension unless --format says;
    /// the edit is journaled in `<name>.journal.jsonl` beside it.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format: nifti, seg.nrrd, nrrd or metaimage.
    #[arg(long)]
    pub format: Option<LabelFormat>,
    /// Who edits (default: $RAYSEG_AUTHOR, else the OS user name).
    #[arg(long)]
    pub author: Option<String>,
    /// --mask is a model's draft (NAME: the model): the journal records it,
    /// with its file's hash, as the start of human editing (see `provenance`).
    #[arg(long, value_name = "NAME", requires = "mask")]
    pub draft_model: Option<String>,
}

fn parse_triple<T: std::str::FromStr>(s: &str) -> Result<[T; 3], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(format!("expected three comma-separated numbers, got {s:?}"));
    };
    let parse = |x: &str| {
        x.parse::<T>()
            .map_err(|_| format!("{x:?} is not a valid number"))
    };
    Ok([parse(a)?, parse(b)?, parse(c)?])
}

fn parse_connectivity(s: &str) -> Result<u32, String> {
    match s.trim() {
        "6" => Ok(6),
        "26" => Ok(26),
        _ => Err(format!("{s:?}: connectivity is 6 or 26")),
    }
}

fn parse_ijk(s: &str) -> Result<[i64; 3], String> {
    parse_triple(s)
}

fn parse_xyz(s: &str) -> Result<[f64; 3], String> {
    parse_triple(s)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub fn run(args: GrowArgs) -> anyhow::Result<()> {
    if same_file(&args.output, &args.source.path) {
        bail!(
            "output {} is the input image; refusing to overwrite it",
            args.output.display()
        );
    }
    output_format(&args.output, args.format)?;
    if args.seeds_ijk.is_empty() && args.seeds_mm.is_empty() {
        bail!("give at least one --seed I,J,K or --seed-mm X,Y,Z");
    }
    let mut phases = super::timing::Phases::start();
    // GPU start-up (instance, device, pipeline compilation and JIT: ~100 ms on lavapipe)
    // runs on another thread while this one loads the image (~80 ms, mostly
    // single-threaded inflate), so on 2+ cores most of it is hidden.
    let gpu = (!args.cpu).then(|| {
        std::thread::spawn(|| -> anyhow::Result<(GpuContext, RegionGrower)> {
            let ctx = GpuContext::new(&GpuOptions::from_env())?;
            let grower = RegionGrower::new(&ctx.device)?;
            // Compiles and JITs the labelling passes and the u8 threshold now,
            // while the image loads (an i16 image's threshold compiles later).
            grower.warm_up(&ctx.device, &ctx.queue, &[PackedFormat::U8])?;
            Ok((ctx, grower))
        })
    });
    let volume = args.source.load()?;
    phases.mark("load");
    let shape = volume.shape;
    let mut seeds = Vec::new();
    for s in &args.seeds_ijk {
        if (0..3).any(|a| s[a] < 0 || s[a] >= shape[a] as i64) {
            bail!(
                "seed voxel {s:?} lies outside the {}x{}x{} grid",
                shape[0],
                shape[1],
                shape[2]
            );
        }
        seeds.push(s.map(|x| x as u32));
    }
    for s in &args.seeds_mm {
        seeds.push(seed_from_ras(&volume, *s)?);
    }
    let connectivity =
        Connectivity::from_neighbours(args.connectivity).context("connectivity must be 6 or 26")?;
    let mut request = GrowRequest::new(
        &volume,
        seeds,
        args.lower,
        args.upper,
        connectivity,
        args.label,
    );
    request.max_distance_mm = args.max_distance_mm;
    for &l in &args.locked {
        request.locked_bits[l as usize / 32] |= 1 << (l % 32);
    }
    let (labels, set) = match &args.mask {
        Some(path) => super::labelmap::read(path, &volume)?,
        None => (vec![0u8; volume.voxel_count()], LabelSet::default()),
    };
    if !gpu_threshold_exact(&volume) && !args.cpu {
        eprintln!(
            "warning: some values are not exact in float32; voxels within float32 rounding \
             of a bound may be classified differently than in float64 (use --cpu for exact)"
        );
    }

    let (region, outcome) = if args.cpu {
        let started = std::time::Instant::now();
        let (region, outcome) = grow_region_cpu(&volume, &labels, &request)?;
        println!(
            "kernel: CPU reference {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        (region, outcome)
    } else {
        phases.mark("prepare");
        let (ctx, grower) = gpu
            .context("GPU start-up thread")?
            .join()
            .map_err(|_| anyhow::anyhow!("the GPU start-up thread panicked"))??;
        // What the start-up thread had left to do once the image was loaded.
        phases.mark("gpu_init");
        let (device, queue) = (&ctx.device, &ctx.queue);
        // The packed buffer is faster to threshold; the texture takes the rest.
        let packed = PackedImage::upload(device, queue, &volume)?;
        let texture = match packed {
            Some(_) => None,
            None => Some(VolumeTexture::upload(device, queue, &volume)?),
        };
        let image = match (&packed, &texture) {
            (Some(p), _) => GrowImage::Packed(p),
            (None, Some(t)) => GrowImage::Texture(t),
            (None, None) => bail!("no GPU copy of the image"),
        };
        // Only built when some label is locked (needs --mask to matter).
        let locked = VoxelBits::locked(&labels, volume.shape, &request.locked_bits)?;
        phases.mark("upload");
        let (region, outcome) =
            grower.grow_region(device, queue, image, locked.as_ref(), &request)?;
        phases.mark("grow");
        let t = &outcome.timings;
        let gpu = match (t.threshold_gpu_ms, t.label_gpu_ms) {
            (Some(a), Some(b)) => {
                format!(
                    "{:.1} ms GPU (threshold {a:.1} + labelling {b:.1}), ",
                    a + b
                )
            }
            _ => String::new(),
        };
        println!(
            "kernel: {gpu}{:.1} ms wall with the run-count readback and scan ({:.1} ms); \
             {} runs; adapter {}",
            t.total_wall_ms,
            t.scan_wall_ms,
            outcome.run_count,
            adapter_summary(&ctx.adapter_info)
        );
        if !t.passes.is_empty() {
            let passes: Vec<String> = t
                .passes
                .iter()
                .map(|(n, ms)| format!("{n} {ms:.1}"))
                .collect();
            println!("passes (ms GPU): {}", passes.join(", "));
        }
        (region, outcome)
    };
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    let ml = outcome.voxel_count as f64 * volume.voxel_volume_mm3() / 1000.0;
    println!(
        "region: {} voxels, {ml:.3} mL (label {}, {}-connectivity)",
        outcome.voxel_count,
        args.label,
        connectivity.neighbours()
    );
    // The region enters the document as one journaled edit over its box.
    let volume = std::sync::Arc::new(volume);
    let mut doc = super::labelmap::journaled(
        volume.clone(),
        labels,
        set,
        args.mask.is_some(),
        &args.output,
        args.author.as_deref(),
        args.draft_model.as_deref().zip(args.mask.as_deref()),
        args.mask.as_deref(),
    )?;
    let params = serde_json::json!({
        "label": args.label,
        "seeds_mm": request.seeds_ijk.iter().map(|s| {
            volume.ras_from_index(glam::DVec3::new(s[0] as f64, s[1] as f64, s[2] as f64)).to_array()
        }).collect::<Vec<_>>(),
        "lower": args.lower,
        "upper": args.upper,
        "connectivity": args.connectivity,
        "max_distance_mm": args.max_distance_mm,
        "locked": args.locked,
    });
    doc.set_preview(RegionPreview::from_bits(
        &region, args.label, "grow", params,
    ));
    doc.accept_preview()?;
    phases.mark("apply");
    let (format, written) = super::labelmap::write(
        &args.output,
        doc.labels(),
        doc.label_set(),
        &volume,
        args.format,
    )?;
    doc.mark_saved(format)?;
    println!("wrote {written}");
    phases.mark("save");
    phases.report();
    println!("wrote {}", args.output.display());
    Ok(())
}
