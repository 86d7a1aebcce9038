//! `rayseg view` (and `rayseg` alone): the interactive app.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use rayseg::app::loading::Source;
use rayseg::app::second_image::SecondSource;
use rayseg::app::{AppConfig, RaysegApp, native_options};

#[derive(Args, Default)]
pub struct ViewArgs {
    /// A NIfTI, NRRD or MetaImage file, a DICOM file or a DICOM series folder;
    /// none opens the bundled sample.
    pub path: Option<PathBuf>,
    /// A label map (NIfTI, NRRD, MetaImage, .seg.nrrd, DICOM SEG), shown and
    /// edited with the image (resampled onto its grid if on another).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// --labels is this model's draft: journaled as such; the labels panel
    /// shows per label what people kept, removed and added.
    #[arg(long, value_name = "NAME", requires = "labels")]
    pub draft_model: Option<String>,
    /// A second image (another time point, or another modality of the same
    /// patient), shown side by side with the first (or fused over it), the
    /// crosshair linked through --transform.
    #[arg(long, value_name = "IMG")]
    pub second: Option<PathBuf>,
    /// The second image's label map (its lesions, for the lesion table).
    #[arg(long, value_name = "MASK", requires = "second")]
    pub second_labels: Option<PathBuf>,
    /// moving_ras_from_fixed_ras as JSON (`{"moving_ras_from_fixed_ras": [[4 rows]]}`):
    /// a point of the first image (RAS mm) to the second's. None: identity
    /// (both in the same scanner coordinates).
    #[arg(long, value_name = "T.json", requires = "second")]
    pub transform: Option<PathBuf>,
    /// Start with the second image fused over the first (else side by side).
    #[arg(long, requires = "second")]
    pub fused: bool,
    /// Render the window once the views have content, save it as PNG and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Window size for the screenshot (and the first window), WIDTHxHEIGHT in points.
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(f32, f32)>,
}

fn parse_size(s: &str) -> Result<(f32, f32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("size {s:?} is not WIDTHxHEIGHT"))?;
    let p = |v: &str| {
        v.trim()
            .parse::<f32>()
            .ok()
            .filter(|n| (200.0..=8192.0).contains(n))
            .ok_or_else(|| format!("size {s:?}: each side must be 200..=8192"))
    };
    Ok((p(w)?, p(h)?))
}

pub fn run(args: ViewArgs) -> anyhow::Result<()> {
    let source = match args.path {
        Some(image) => Source::Path {
            image,
            labels: args.labels,
        },
        None if args.labels.is_some() => anyhow::bail!("--labels needs an image path"),
        None => Source::Sample(rayseg::app::loading::default_sample()),
    };
    let (w, h) = args.size.unwrap_or((1400.0, 900.0));
    let config = AppConfig {
        source,
        screenshot: args.screenshot.clone(),
        draft_model: args.draft_model.clone(),
        second: args.second.map(|image| SecondSource {
            image,
            labels: args.second_labels,
            transform: args.transform,
            fused: args.fused,
        }),
        ..AppConfig::default()
    };
    let result = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = result.clone();
    eframe::run_native(
        "rayseg",
        native_options(egui::vec2(w, h)),
        Box::new(move |cc| {
            let app = RaysegApp::new(cc, config);
            let app_slot = app.screenshot_result.clone();
            *slot.lock().map_err(|_| "screenshot state poisoned")? = Some(app_slot);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not start: {e}"))?;
    if let Some(out) = args.screenshot {
        let app_slot = result
            .lock()
            .map_err(|_| anyhow::anyhow!("screenshot state poisoned"))?
            .clone()
            .context("the app never started")?;
        let outcome = app_slot
            .lock()
            .map_err(|_| anyhow::anyhow!("screenshot state poisoned"))?
            .clone();
        match outcome {
            Some(Ok(path)) => eprintln!("wrote {}", path.display()),
            Some(Err(e)) => anyhow::bail!("screenshot {}: {e}", out.display()),
            None => anyhow::bail!(
                "the window closed before the screenshot of {} was taken",
                out.display()
            ),
        }
    }
    Ok(())
}
