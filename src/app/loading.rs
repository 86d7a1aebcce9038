//! Background loading: files and the bundled sample load on a worker thread;
//! the UI shows the stage and elapsed time and can cancel (the result is then dropped:
//! the engine's loaders have no cancellation points, so the thread runs to its end).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::annotate::journal::{ImageId, image_id};
use crate::annotate::label_formats::read_label_map;
use crate::annotate::labels::LabelSet;
use crate::volume::phantom::{PhantomSpec, ct_phantom};
use crate::volume::{LoadOptions, Progress, Volume, load};

/// What to open.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Sample(PhantomSpec),
    Path {
        image: PathBuf,
        labels: Option<PathBuf>,
    },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Sample(_) => "bundled sample (synthetic CT phantom)".into(),
            Source::Path { image, .. } => image.display().to_string(),
        }
    }
}

pub struct Loaded {
    pub source: Source,
    pub volume: Volume,
    pub labels: Option<(Vec<u8>, Option<LabelSet>)>,
    /// The image's content identity (its journal's key), hashed here on the
    /// loader thread: it reads every voxel.
    pub image_id: ImageId,
}

pub struct Loading {
    pub source: Source,
    pub started: Instant,
    pub stage: Arc<Mutex<String>>,
    /// Fraction done as f32 bits; negative while unknown.
    fraction: Arc<AtomicU32>,
    cancelled: Arc<AtomicBool>,
    rx: Receiver<Result<Loaded, String>>,
}

/// The sample the app opens with no arguments: the phantom at 2 mm (about 4 M voxels,
/// a second or two to build on two cores).
pub fn default_sample() -> PhantomSpec {
    PhantomSpec {
        shape: [180, 130, 166],
        spacing_mm: [2.0; 3],
        ..PhantomSpec::default()
    }
}

impl Loading {
    pub fn start(source: Source) -> Self {
        let (tx, rx) = channel();
        let stage = Arc::new(Mutex::new("starting".to_owned()));
        let cancelled = Arc::new(AtomicBool::new(false));
        let fraction = Arc::new(AtomicU32::new((-1.0f32).to_bits()));
        let (stage2, cancelled2, source2) = (stage.clone(), cancelled.clone(), source.clone());
        let fraction2 = fraction.clone();
        std::thread::spawn(move || {
            let set_stage = |s: &str| {
                if let Ok(mut g) = stage2.lock() {
                    *g = s.to_owned();
                }
                fraction2.store((-1.0f32).to_bits(), Ordering::Relaxed);
            };
            let fraction3 = fraction2.clone();
            let progress = Progress(Arc::new(move |f: f32| {
                fraction3.store(f.to_bits(), Ordering::Relaxed);
            }));
            let result = load_source(&source2, &set_stage, &progress);
            if !cancelled2.load(Ordering::Relaxed) {
                // The receiver may be gone (app closed); nothing to do then.
                let _ = tx.send(result);
            }
        });
        Loading {
            source,
            started: Instant::now(),
            stage,
            fraction,
            cancelled,
            rx,
        }
    }

    /// Fraction done, when the loader knows it (DICOM series).
    pub fn fraction(&self) -> Option<f32> {
        let f = f32::from_bits(self.fraction.load(Ordering::Relaxed));
        (f >= 0.0).then_some(f)
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn stage(&self) -> String {
        self.stage.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// `Some` once finished (or the worker died).
    pub fn poll(&self) -> Option<Result<Loaded, String>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err("the loader stopped unexpectedly".into())),
        }
    }

    /// Blocks until done (tests and the screenshot mode's first frame only).
    pub fn wait(self) -> Result<Loaded, String> {
        self.rx
            .recv()
            .map_err(|_| "the loader stopped unexpectedly".to_owned())?
    }
}

fn load_source(
    source: &Source,
    set_stage: &dyn Fn(&str),
    progress: &Progress,
) -> Result<Loaded, String> {
    match source {
        Source::Sample(spec) => {
            set_stage("building the phantom");
            let (volume, _truth) = ct_phantom(spec).map_err(|e| e.to_string())?;
            set_stage("identifying the image");
            Ok(Loaded {
                source: source.clone(),
                image_id: image_id(&volume),
                volume,
                labels: None,
            })
        }
        Source::Path { image, labels } => {
            set_stage("reading the image");
            let options = LoadOptions {
                progress: Some(progress.clone()),
                ..LoadOptions::default()
            };
            let mut volume = load(image, &options).map_err(|e| e.to_string())?;
            let labels = match labels {
                None => None,
                Some(path) => {
                    set_stage("reading the label map");
                    let file = read_label_map(path, &volume, None).map_err(|e| e.to_string())?;
                    // Shown with the image's: e.g. overlapping segments of a
                    // .seg.nrrd flattened.
                    volume
                        .warnings
                        .extend(file.warnings.iter().map(|w| format!("label map: {w}")));
                    Some((file.labels, file.label_set))
                }
            };
            set_stage("identifying the image");
            Ok(Loaded {
                source: source.clone(),
                image_id: image_id(&volume),
                volume,
                labels,
            })
        }
    }
}
