//! The interactive app (eframe + egui-wgpu): four linked views over one document.
//! Long work (loading, statistics, region-grow previews) runs on worker
//! threads; GPU work is recorded in paint callbacks and never waited on.

pub mod config;
mod dialogs;
mod editing;
pub mod effects_panel;
pub mod gpu_callback;
pub mod gpu_edits;
mod gpu_grow;
pub mod help;
pub mod journal;
pub mod labels_panel;
pub mod lesion_table;
pub mod loading;
mod panels;
mod provenance_panel;
pub mod registration;
mod second_gpu;
pub mod second_image;
mod seeds_tool;
pub mod state;
pub mod surfaces;
mod terminology_panel;
pub mod tools;
pub mod views;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use egui::{Color32, Rect, Vec2};

use crate::annotate::document::Recovery;
use crate::annotate::document::change::gather;
use crate::annotate::label_formats;
use crate::annotate::stats::{LabelStats, label_stats_in};
use crate::gpu::{required_features, required_limits, run_self_check};
use crate::render::raymarch::{RenderMode, TransferPreset};
use crate::render::window::{CtPreset, Window};
use gpu_callback::{GpuStats, LabelPatch, LabelsUpload, ViewKind};
use loading::{Loading, Source};
use state::{BrushSettings, Document, GrowPreview, GrowSettings, Tool};
use views::{ViewAction, ViewerState};

/// How the app starts.
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub source: Source,
    /// Save a PNG of the window once the views have content, then quit.
    pub screenshot: Option<PathBuf>,
    /// Recent files and recovery; `None` disables both (tests).
    pub config_dir: Option<PathBuf>,
    /// The first source's label map is this model's draft (`--draft-model`):
    /// journaled as such, and the labels panel shows what people changed.
    pub draft_model: Option<String>,
    /// A second image (another time point or modality) to open beside the first.
    pub second: Option<second_image::SecondSource>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            source: Source::Sample(loading::default_sample()),
            screenshot: None,
            config_dir: config::config_dir(),
            draft_model: None,
            second: None,
        }
    }
}

/// Device request: the engine's features and the adapter's limits (eframe's default
/// asks for default limits, too small for volumes).
pub fn wgpu_setup() -> egui_wgpu::WgpuSetup {
    let mut setup = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.device_descriptor = Arc::new(|adapter| wgpu::DeviceDescriptor {
        label: Some("rayseg::app_device"),
        required_features: required_features(adapter),
        required_limits: required_limits(adapter),
        ..Default::default()
    });
    egui_wgpu::WgpuSetup::CreateNew(setup)
}

pub fn native_options(size: Vec2) -> eframe::NativeOptions {
    eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: egui::ViewportBuilder::default()
            .with_title("rayseg")
            .with_inner_size(size)
            .with_drag_and_drop(true),
        wgpu_options: egui_wgpu::WgpuConfiguration {
            wgpu_setup: wgpu_setup(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Outcome of `--screenshot`, read by the CLI after the window closes.
pub type ScreenshotResult = Arc<Mutex<Option<Result<PathBuf, String>>>>;

enum Pending {
    Open(Source),
    Quit,
}

/// Actions that need the CPU copy of the labels complete, held while GPU brush
/// strokes are still on their way back (a frame or two).
#[derive(Debug)]
enum Deferred {
    UndoRedo(bool),
    Save(Option<PathBuf>),
    AcceptGrow,
    Grow,
    Seeds,
    AcceptSeeds,
    ApplyEffect,
    AcceptEffect,
}

/// (volume id, statistics epoch, labels recomputed, their statistics) from
/// the stats worker.
type StatsReply = (u64, u64, Vec<u8>, Result<Vec<LabelStats>, String>);

struct GrowJob {
    generation: u64,
    rx: Receiver<(u64, Result<GrowPreview, String>)>,
}

pub struct RaysegApp {
    config: AppConfig,
    doc: Option<Document>,
    viewer: Option<ViewerState>,
    pub tool: Tool,
    pub brush: BrushSettings,
    pub grow: GrowSettings,
    grow_seed: Option<[u32; 3]>,
    grow_generation: u64,
    grow_job: Option<GrowJob>,
    pub seeds: crate::annotate::document::SeedsSettings,
    seeds_job: Option<seeds_tool::SeedsJob>,
    seeds_session: Option<seeds_tool::SeedsSession>,
    /// Seeds changed while a competition ran: run it again after.
    seeds_again: bool,
    pub effect: effects_panel::EffectSettings,
    effect_job: Option<Receiver<effects_panel::EffectReply>>,
    /// GPU region growing (None only when the GPU grower failed to build).
    gpu_grow: Option<Arc<gpu_grow::GpuGrow>>,
    /// GPU brush (None without r8uint storage textures: the CPU reference paints).
    gpu_edits: Option<gpu_edits::GpuEdits>,
    /// A stroke ended (erase?) and waits for its GPU boxes before its undo step.
    stroke_ending: Option<bool>,
    deferred: Vec<Deferred>,
    stats_job: Option<Receiver<StatsReply>>,
    loading: Option<Loading>,
    labels_upload: Option<(u64, LabelsUpload)>,
    upload_version: u64,
    gpu_stats: Arc<GpuStats>,
    target_format: Option<wgpu::TextureFormat>,
    fatal: Option<String>,
    errors: Vec<String>,
    status: String,
    show_help: bool,
    show_debug: bool,
    frame_ms: f64,
    last_frame: Option<Instant>,
    started: Instant,
    recent: config::RecentFiles,
    pending: Option<Pending>,
    quit_confirmed: bool,
    path_prompt: Option<(bool, String)>,
    /// The path window's field was given the keyboard (once per opening).
    path_prompt_focused: bool,
    recovery_offer: Option<journal::JournalOffer>,
    screenshot_requested: bool,
    screenshot_frames: u32,
    pub screenshot_result: ScreenshotResult,
    /// The second image: side by side, fused, the lesion table (`second_image`).
    second: second_image::SecondState,
}

impl RaysegApp {
    pub fn new(cc: &eframe::CreationContext<'_>, config: AppConfig) -> Self {
        let mut fatal = None;
        let target_format = cc.wgpu_render_state.as_ref().map(|rs| rs.target_format);
        match &cc.wgpu_render_state {
            None => fatal = Some("rayseg needs the wgpu renderer, which did not start".into()),
            Some(rs) => {
                if let Err(e) = run_self_check(&rs.device, &rs.queue, &rs.adapter.get_info()) {
                    fatal = Some(format!("The GPU failed rayseg's self-check: {e}"));
                }
            }
        }
        let gpu_grow = cc.wgpu_render_state.as_ref().and_then(|rs| {
            gpu_grow::GpuGrow::new(&rs.device, &rs.queue)
                .map_err(|e| log::warn!("GPU region growing unavailable, using the CPU: {e}"))
                .ok()
        });
        let gpu_edits = cc.wgpu_render_state.as_ref().and_then(|rs| {
            let edits = gpu_edits::GpuEdits::new(&rs.adapter, &rs.device);
            if edits.is_none() {
                log::warn!(
                    "the adapter cannot write r8uint storage textures: the brush paints on the CPU"
                );
            }
            edits
        });
        let recent = config::RecentFiles::load(config.config_dir.as_deref());
        let loading = Some(Loading::start(config.source.clone()));
        let second = config.second.clone();
        let mut app = RaysegApp {
            config,
            doc: None,
            viewer: None,
            tool: Tool::Navigate,
            brush: BrushSettings::default(),
            grow: GrowSettings::default(),
            grow_seed: None,
            grow_generation: 0,
            grow_job: None,
            seeds: Default::default(),
            seeds_job: None,
            seeds_session: None,
            seeds_again: false,
            effect: Default::default(),
            effect_job: None,
            gpu_grow,
            gpu_edits,
            stroke_ending: None,
            deferred: Vec::new(),
            stats_job: None,
            loading,
            labels_upload: None,
            upload_version: 0,
            gpu_stats: Arc::new(GpuStats::default()),
            target_format,
            fatal,
            errors: Vec::new(),
            status: String::new(),
            show_help: false,
            show_debug: false,
            frame_ms: 0.0,
            last_frame: None,
            started: Instant::now(),
            recent,
            pending: None,
            quit_confirmed: false,
            path_prompt: None,
            path_prompt_focused: false,
            recovery_offer: None,
            screenshot_requested: false,
            screenshot_frames: 0,
            screenshot_result: Arc::new(Mutex::new(None)),
            second: Default::default(),
        };
        if let Some(source) = second {
            app.open_second(source);
        }
        app
    }

    /// The open document (tests assert on its mask and statistics).
    pub fn document(&self) -> Option<&Document> {
        self.doc.as_ref()
    }

    pub fn document_mut(&mut self) -> Option<&mut Document> {
        self.doc.as_mut()
    }

    pub fn viewer(&self) -> Option<&ViewerState> {
        self.viewer.as_ref()
    }

    pub fn viewer_mut(&mut self) -> Option<&mut ViewerState> {
        self.viewer.as_mut()
    }

    /// True when region growing runs on the GPU (the `rayseg grow` kernel).
    pub fn grows_on_gpu(&self) -> bool {
        self.gpu_grow.is_some()
    }

    /// True when region growing reads the renderer's image texture (one image
    /// copy on the GPU) for the open document.
    pub fn grow_shares_renderer_image(&self) -> bool {
        let (Some(g), Some(doc)) = (self.gpu_grow.as_ref(), self.doc.as_ref()) else {
            return false;
        };
        g.renderer_image
            .lock()
            .map(|s| s.as_ref().is_some_and(|(id, _)| *id == doc.volume_id))
            .unwrap_or(false)
    }

    /// True when brush strokes are painted by the GPU kernel into the label texture.
    pub fn paints_on_gpu(&self) -> bool {
        self.gpu_edits.is_some()
    }

    /// Brush strokes recorded on the GPU so far.
    pub fn gpu_strokes(&self) -> u64 {
        self.gpu_edits.as_ref().map_or(0, |g| g.recorded())
    }

    /// Loading, growing, computing statistics or syncing GPU strokes.
    pub fn is_busy(&self) -> bool {
        !self.edits_settled()
            || !self.deferred.is_empty()
            || self.loading.is_some()
            || self.grow_job.is_some()
            || self.seeds_job.is_some()
            || self.effect_job.is_some()
            || self.stats_job.is_some()
            || self.doc.as_ref().is_some_and(|d| !d.stats_current())
            || self.viewer.as_ref().is_some_and(|v| v.surfaces_busy())
            || self.second.busy()
    }

    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// The status bar's message.
    pub fn status(&self) -> &str {
        &self.status
    }

    pub fn fatal_error(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    /// View images recorded on the GPU so far.
    pub fn gpu_frames(&self) -> u64 {
        self.gpu_stats.frames_rendered.load(Ordering::Relaxed)
    }

    /// Screen rect of a view in the last frame (tests simulate the mouse over it).
    pub fn view_rect(ctx: &egui::Context, kind: ViewKind) -> Option<Rect> {
        ctx.data(|d| d.get_temp::<Rect>(egui::Id::unique(("view_rect", kind.name()))))
    }

    fn now_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn open(&mut self, source: Source) {
        if self.doc.as_ref().is_some_and(|d| d.dirty) {
            self.pending = Some(Pending::Open(source));
            return;
        }
        self.open_now(source);
    }

    fn open_now(&mut self, source: Source) {
        if let Some(l) = self.loading.take() {
            l.cancel();
        }
        self.loading = Some(Loading::start(source));
    }

    fn poll_workers(&mut self) {
        self.poll_seeds();
        self.poll_effect();
        self.poll_second();
        if let Some(result) = self.loading.as_ref().and_then(Loading::poll) {
            let source = self.loading.take().map(|l| l.source);
            match result {
                Ok(loaded) => self.install(loaded),
                Err(e) => self.errors.push(format!(
                    "Cannot open {}: {e}",
                    source.map(|s| s.describe()).unwrap_or_default()
                )),
            }
        }
        if let Some(job) = &self.grow_job
            && let Ok((generation, result)) = job.rx.try_recv()
        {
            let current = job.generation;
            self.grow_job = None;
            if generation == current
                && generation == self.grow_generation
                && let Some(doc) = self.doc.as_mut()
            {
                match result {
                    Ok(preview) => doc.set_grow_preview(preview),
                    Err(e) => self.errors.push(format!("Region grow: {e}")),
                }
            }
        }
        if let Some(rx) = &self.stats_job
            && let Ok((volume_id, epoch, labels, result)) = rx.try_recv()
        {
            self.stats_job = None;
            if let Some(doc) = self.doc.as_mut()
                && doc.volume_id == volume_id
                && doc.stats_epoch == epoch
            {
                doc.stats_running = false;
                match result {
                    Ok(stats) => doc.apply_stats(&labels, stats),
                    Err(e) => self.errors.push(format!("Statistics: {e}")),
                }
            }
        }
        // Statistics of the labels the committed edits changed, over a box
        // holding them, off the UI thread, once a stroke ends.
        if self.stats_job.is_none()
            && let Some(doc) = self.doc.as_mut()
            && !doc.in_stroke()
        {
            let due = doc.take_stats_due();
            let labels: Vec<u8> = due.keys().copied().collect();
            let region = due.values().flatten().copied().reduce(|a, b| a.union(&b));
            match region {
                None if labels.is_empty() => {}
                None => doc.apply_stats(&labels, Vec::new()),
                Some(region) => {
                    let (tx, rx) = channel();
                    let boxed = gather(doc.labels(), doc.volume.shape, &region);
                    let volume = doc.volume.clone();
                    let (id, epoch) = (doc.volume_id, doc.stats_epoch);
                    std::thread::spawn(move || {
                        let r = label_stats_in(&volume, &boxed, region, Some(&labels), None)
                            .map_err(|e| e.to_string());
                        let _ = tx.send((id, epoch, labels, r));
                    });
                    doc.stats_running = true;
                    self.stats_job = Some(rx);
                }
            }
        }
    }

    fn install(&mut self, loaded: loading::Loaded) {
        let path = match &loaded.source {
            Source::Path { image, .. } => Some(image.clone()),
            Source::Sample(_) => None,
        };
        let mut doc = Document::new(loaded.volume, path.clone());
        doc.set_image_id(loaded.image_id);
        if let Some((labels, set)) = loaded.labels {
            if let Err(e) = doc.set_labels(labels, set) {
                self.errors.push(format!("Label map: {e}"));
            }
            if let Source::Path { labels, .. } = &loaded.source {
                doc.labels_path = labels.clone();
            }
        }
        if let Some(p) = &path {
            self.recent.push(self.config.config_dir.as_deref(), p);
        }
        // A model's draft is journaled as such (no recovery offer: the draft
        // replaces the journal's state, which stays in the journal).
        self.recovery_offer = None;
        let draft = match (&loaded.source, self.config.draft_model.take()) {
            (
                Source::Path {
                    labels: Some(file), ..
                },
                Some(model),
            ) => Some((model, file.clone())),
            _ => None,
        };
        if let Some((model, file)) = draft {
            let path = self
                .config
                .config_dir
                .as_deref()
                .map(|dir| journal::path_for(&doc, dir));
            if let Err(e) = journal::attach_draft(&mut doc, path.as_deref(), &model, &file) {
                self.errors.push(format!("Draft: {e}"));
            }
        } else if let Some(dir) = self.config.config_dir.clone() {
            // The journal: offer its unsaved edits, else continue (or start) it.
            let path = journal::path_for(&doc, &dir);
            match journal::unsaved(&path) {
                Some(offer) => self.recovery_offer = Some(offer),
                None => {
                    if let Err(e) = journal::attach(&mut doc, &path, Recovery::Discard) {
                        self.errors.push(format!("Edit journal: {e}"));
                    }
                }
            }
        }
        for w in &doc.volume.warnings {
            self.errors.push(format!("Warning: {w}"));
        }
        let mut viewer = ViewerState::new(&doc);
        // With a label map, start the crosshair on the labelled voxels' centroid.
        let [ni, nj, _] = doc.volume.shape;
        let (mut sum, mut n) = (glam::DVec3::ZERO, 0u64);
        for (idx, _) in doc.labels().iter().enumerate().filter(|(_, l)| **l != 0) {
            sum += glam::DVec3::new(
                (idx % ni) as f64,
                ((idx / ni) % nj) as f64,
                (idx / (ni * nj)) as f64,
            );
            n += 1;
        }
        if n > 0 {
            viewer.cursor_ras_mm = doc.volume.ras_from_index((sum / n as f64).round());
        }
        self.viewer = Some(viewer);
        self.grow_seed = None;
        self.status = format!("Opened {}", loaded.source.describe());
        self.doc = Some(doc);
    }

    /// What the views upload: the whole map when the document is new or was
    /// reloaded, else the boxes the CPU changed (hidden labels and colours are
    /// the shaders' LUT's business). Box uploads are folded into a new whole
    /// map once they add up to a quarter of it.
    fn labels_upload(&mut self) -> Option<LabelsUpload> {
        let doc = self.doc.as_mut()?;
        let (all, boxes) = doc.take_uploads();
        let current = self
            .labels_upload
            .as_ref()
            .filter(|(id, _)| *id == doc.volume_id)
            .map(|(_, up)| up.clone());
        let up = match current {
            Some(up) if !all && boxes.is_empty() => up,
            Some(up) if !all => {
                let mut patches: Vec<Arc<LabelPatch>> = Vec::new();
                let mut version = up.version;
                for region in boxes {
                    version += 1;
                    let labels = doc.display_box(&region);
                    patches.push(Arc::new(LabelPatch {
                        version,
                        region,
                        labels,
                    }));
                }
                self.upload_version = version;
                let held: usize = up.patches.iter().map(|p| p.labels.len()).sum::<usize>()
                    + patches.iter().map(|p| p.labels.len()).sum::<usize>();
                if held > doc.labels().len() / 4 {
                    LabelsUpload {
                        version,
                        base: Arc::new(doc.display_labels().into_owned()),
                        base_version: version,
                        patches: Arc::new(Vec::new()),
                    }
                } else {
                    // Earlier patches are shared (pointers copied, not labels).
                    let mut all_patches = up.patches.as_ref().clone();
                    all_patches.extend(patches);
                    LabelsUpload {
                        version,
                        base: up.base,
                        base_version: up.base_version,
                        patches: Arc::new(all_patches),
                    }
                }
            }
            _ => {
                self.upload_version += 1;
                LabelsUpload {
                    version: self.upload_version,
                    base: Arc::new(doc.display_labels().into_owned()),
                    base_version: self.upload_version,
                    patches: Arc::new(Vec::new()),
                }
            }
        };
        self.labels_upload = Some((doc.volume_id, up.clone()));
        Some(up)
    }

    fn request_grow(&mut self) {
        if self.defer(Deferred::Grow) {
            return;
        }
        let (Some(doc), Some(seed)) = (self.doc.as_ref(), self.grow_seed) else {
            return;
        };
        match doc.grow_request(seed, &self.grow) {
            Ok(request) => {
                self.grow_generation += 1;
                let generation = self.grow_generation;
                let (tx, rx) = channel();
                let (volume, labels, settings) =
                    (doc.volume.clone(), doc.labels().to_vec(), self.grow.clone());
                let gpu = self.gpu_grow.clone();
                let volume_id = doc.volume_id;
                std::thread::spawn(move || {
                    let r = state::compute_grow_preview(
                        &volume,
                        &labels,
                        &request,
                        settings,
                        gpu.as_deref().map(|g| (g, volume_id)),
                    );
                    let _ = tx.send((generation, r));
                });
                self.grow_job = Some(GrowJob { generation, rx });
            }
            Err(e) => self.errors.push(e),
        }
    }

    fn save(&mut self, path: Option<PathBuf>) {
        let path = match self.defer(Deferred::Save(path.clone())) {
            true => return,
            false => path,
        };
        let Some(doc) = self.doc.as_mut() else { return };
        let Some(path) = path.or_else(|| doc.labels_path.clone()) else {
            self.path_prompt = Some((false, default_save_name(doc)));
            return;
        };
        let result = match &doc.image_path {
            Some(image) => label_formats::ensure_not_image(&path, image),
            None => Ok(()),
        }
        .and_then(|()| {
            label_formats::write_label_map(&path, doc.labels(), doc.label_set(), &doc.volume, None)
        })
        .map_err(|e| e.to_string())
        .and_then(|_| {
            let format = label_formats::LabelFormat::from_path(&path)
                .map_or("label map".to_owned(), |f| f.name().to_owned());
            journal::saved(doc, &path, &format)
        });
        match result {
            Ok(_) => {
                doc.labels_path = Some(path.clone());
                doc.dirty = false;
                self.status = format!("Saved {}", path.display());
                if matches!(self.pending, Some(Pending::Quit)) {
                    self.quit_confirmed = true;
                }
            }
            Err(e) => self.errors.push(format!("Save failed: {e}")),
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let typing = ctx.egui_wants_keyboard_input();
        let cmd = Modifiers::COMMAND;
        let shift_cmd = Modifiers::COMMAND | Modifiers::SHIFT;
        let (redo, undo, save_as, save, open) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&KeyboardShortcut::new(shift_cmd, Key::Z))
                    || i.consume_shortcut(&KeyboardShortcut::new(cmd, Key::Y)),
                i.consume_shortcut(&KeyboardShortcut::new(cmd, Key::Z)),
                i.consume_shortcut(&KeyboardShortcut::new(shift_cmd, Key::S)),
                i.consume_shortcut(&KeyboardShortcut::new(cmd, Key::S)),
                i.consume_shortcut(&KeyboardShortcut::new(cmd, Key::O)),
            )
        });
        if undo {
            self.undo_redo(false);
        }
        if redo {
            self.undo_redo(true);
        }
        if save {
            self.save(None);
        }
        if save_as {
            self.save_as_dialog();
        }
        if open {
            self.open_dialog();
        }
        if ctx.input(|i| i.key_pressed(Key::F1)) {
            self.show_help = !self.show_help;
        }
        if ctx.input(|i| i.key_pressed(Key::F12)) {
            self.show_debug = !self.show_debug;
        }
        if typing {
            return;
        }
        ctx.input(|i| {
            for t in Tool::ALL {
                if i.key_pressed(t.hotkey()) && i.modifiers.is_none() {
                    self.tool = t;
                }
            }
            if i.key_pressed(Key::OpenBracket) {
                self.brush.radius_mm = (self.brush.radius_mm / 1.25).max(0.5);
            }
            if i.key_pressed(Key::CloseBracket) {
                self.brush.radius_mm = (self.brush.radius_mm * 1.25).min(50.0);
            }
        });
        let (enter, escape, max_key, reset) = ctx.input(|i| {
            (
                i.key_pressed(Key::Enter),
                i.key_pressed(Key::Escape),
                i.key_pressed(Key::M) || i.key_pressed(Key::F),
                i.key_pressed(Key::R) && i.modifiers.is_none(),
            )
        });
        let seeds_preview = self
            .doc
            .as_ref()
            .is_some_and(|d| d.seg.preview().is_some_and(|p| p.tool == "seeds"));
        if seeds_preview && enter && self.seeds_job.is_none() {
            self.accept_seeds();
        } else if seeds_preview && escape {
            self.cancel_seeds();
        }
        if self.effect_preview_shown() {
            if enter {
                self.accept_effect();
            } else if escape && let Some(doc) = self.doc.as_mut() {
                doc.cancel_preview();
            }
        }
        if let Some(doc) = self.doc.as_mut() {
            if enter && doc.grow_preview.is_some() {
                self.accept_grow();
            } else if escape && doc.grow_preview.is_some() {
                doc.cancel_grow();
                self.grow_seed = None;
            }
        }
        if let Some(viewer) = self.viewer.as_mut() {
            if max_key {
                let hovered = ctx.pointer_hover_pos().and_then(|p| {
                    ViewKind::ALL
                        .into_iter()
                        .find(|&k| Self::view_rect(ctx, k).is_some_and(|r| r.contains(p)))
                });
                viewer.maximised = match viewer.maximised {
                    Some(_) => None,
                    None => Some(hovered.unwrap_or(ViewKind::Axial)),
                };
            }
            if reset {
                viewer.camera.reset();
            }
        }
    }

    fn open_dialog(&mut self) {
        // rfd talks to the desktop portal over D-Bus; without one it returns None
        // and File → "Open path..." remains.
        if let Some(path) = rfd::FileDialog::new()
            .add_filter(
                "Images",
                &["nii", "gz", "dcm", "nrrd", "nhdr", "mha", "mhd"],
            )
            .pick_file()
        {
            self.open(Source::Path {
                image: path,
                labels: None,
            });
        }
    }

    fn save_as_dialog(&mut self) {
        let name = self.doc.as_ref().map(default_save_name).unwrap_or_default();
        match rfd::FileDialog::new().set_file_name(&name).save_file() {
            Some(path) => self.save(Some(path)),
            None => self.path_prompt = Some((false, name)),
        }
    }

    fn views(&mut self, ui: &mut egui::Ui) {
        let Some(labels) = self.labels_upload() else {
            return;
        };
        let now_s = self.now_s();
        let (Some(doc), Some(viewer)) = (self.doc.as_mut(), self.viewer.as_mut()) else {
            return;
        };
        let full = ui.available_rect_before_wrap();
        ui.allocate_rect(full, egui::Sense::hover());
        let gap = 2.0;
        let half = (full.size() - Vec2::splat(gap)) / 2.0;
        let rect_of = |k: ViewKind| -> Rect {
            let (col, row) = match k {
                ViewKind::Axial => (0.0, 0.0),
                ViewKind::Sagittal => (1.0, 0.0),
                ViewKind::Coronal => (0.0, 1.0),
                ViewKind::Volume3d => (1.0, 1.0),
            };
            Rect::from_min_size(
                full.min + Vec2::new(col * (half.x + gap), row * (half.y + gap)),
                half,
            )
        };
        // Side by side: the first and the second image's slice of one plane.
        let side_by_side = self.second.side_by_side();
        // Out of `self` while the views borrow it (put back below).
        let mut second = self.second.image.take();
        let inputs = views::ViewInputs {
            tool: self.tool,
            brush: &self.brush,
            gpu_edits: self.gpu_edits.as_ref(),
            stroke_ending: self.stroke_ending.is_some(),
            image_slot: self.gpu_grow.as_ref().map(|g| g.renderer_image.clone()),
            labels: &labels,
            target_format: self.target_format,
            stats: &self.gpu_stats,
            now_s,
            second: second.as_ref(),
        };
        let halves = {
            let w = (full.width() - gap) / 2.0;
            let left = Rect::from_min_size(full.min, Vec2::new(w, full.height()));
            (left, left.translate(Vec2::new(w + gap, 0.0)))
        };
        viewer.hover = None;
        let mut actions = Vec::new();
        for kind in ViewKind::ALL {
            let rect = match (side_by_side, viewer.maximised) {
                (Some(p), _) if views::plane_of(kind) == Some(p) => halves.0,
                (Some(_), _) => continue,
                (None, Some(m)) if m == kind => full,
                (None, Some(_)) => continue,
                (None, None) => rect_of(kind),
            };
            ui.ctx()
                .data_mut(|d| d.insert_temp(egui::Id::unique(("view_rect", kind.name())), rect));
            let a = match views::plane_of(kind) {
                Some(plane) => views::slice_view(ui, rect, kind, plane, doc, viewer, &inputs),
                None => views::volume_view(ui, rect, doc, viewer, &inputs),
            };
            actions.extend(a);
        }
        let image_slot = inputs.image_slot.clone();
        if let (Some(plane), Some(second)) = (side_by_side, second.as_mut()) {
            // The 3-D view is hidden: its label surfaces still follow the edits.
            if viewer.label_surfaces {
                viewer.surfaces.poll(doc);
            }
            let inputs = views::ViewInputs {
                tool: self.tool,
                brush: &self.brush,
                gpu_edits: self.gpu_edits.as_ref(),
                stroke_ending: self.stroke_ending.is_some(),
                image_slot,
                labels: &labels,
                target_format: self.target_format,
                stats: &self.gpu_stats,
                now_s,
                second: None,
            };
            let a = second_image::second_pane(ui, halves.1, plane, second, viewer, &inputs);
            actions.extend(a);
        } else if let Some(second) = second.as_mut() {
            second.link_cursor(viewer.cursor_ras_mm);
        }
        self.second.image = second;
        for a in actions {
            match a {
                ViewAction::GrowSeed(seed) => {
                    self.grow_seed = Some(seed);
                    self.request_grow();
                }
                ViewAction::EndStroke { erase } => {
                    self.stroke_ending = Some(erase);
                    self.sync_gpu_edits();
                    if self.tool == Tool::Seeds {
                        self.request_seeds();
                    }
                }
                ViewAction::Error(e) => {
                    if !self.errors.contains(&e) {
                        self.errors.push(e);
                    }
                }
            }
        }
    }
}

fn default_save_name(doc: &Document) -> String {
    let stem = doc
        .image_path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| {
            let name = n.to_string_lossy();
            let lower = name.to_ascii_lowercase();
            // Longest known image suffix first (".seg.nrrd" before ".nrrd").
            let suffix = [
                ".nii.gz",
                ".nii",
                ".seg.nrrd",
                ".nrrd",
                ".nhdr",
                ".mha",
                ".mhd",
                ".dcm",
            ]
            .into_iter()
            .find(|s| lower.ends_with(s))
            .map_or(0, str::len);
            name[..name.len() - suffix].to_owned()
        })
        .unwrap_or_else(|| "sample".into());
    format!("{stem}_labels.nii.gz")
}

pub fn write_png(path: &Path, image: &egui::ColorImage) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let [w, h] = image.size;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    let rgb: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| [c.r(), c.g(), c.b()])
        .collect();
    writer.write_image_data(&rgb).map_err(|e| e.to_string())
}

impl eframe::App for RaysegApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let t0 = Instant::now();
        if let Some(last) = self.last_frame {
            self.frame_ms = last.elapsed().as_secs_f64() * 1000.0;
        }
        self.last_frame = Some(t0);
        if let Some(fatal) = &self.fatal {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.heading("rayseg cannot start");
                ui.colored_label(Color32::LIGHT_RED, fatal);
            });
            return;
        }
        // Dropped files/folders open as images.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if let Some(image) = dropped.into_iter().next() {
            self.open(Source::Path {
                image,
                labels: None,
            });
        }
        if ctx.input(|i| i.viewport().close_requested())
            && !self.quit_confirmed
            && self.doc.as_ref().is_some_and(|d| d.dirty)
            && self.config.screenshot.is_none()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending = Some(Pending::Quit);
        }
        self.sync_gpu_edits();
        self.poll_workers();
        self.shortcuts(&ctx);

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::right("side")
            .default_size(300.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.side_panel(ui));
            });
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE)
            .show(ui, |ui| {
                let mut cancel = false;
                if let Some(l) = &self.loading {
                    ui.horizontal(|ui| {
                        let text = format!(
                            "Loading {} - {} ({:.1} s)",
                            l.source.describe(),
                            l.stage(),
                            l.started.elapsed().as_secs_f64()
                        );
                        // A real fraction where the loader knows it (DICOM series),
                        // else an animated bar.
                        let bar = match l.fraction() {
                            Some(f) => egui::ProgressBar::new(f).show_percentage(),
                            None => egui::ProgressBar::new(0.0).animate(true),
                        };
                        ui.add(bar.text(text).desired_width(ui.available_width() - 140.0));
                        cancel = ui.button("Cancel loading").clicked();
                    });
                }
                if cancel && let Some(l) = self.loading.take() {
                    l.cancel();
                    self.status = "Loading cancelled".into();
                }
                self.views(ui);
            });
        self.dialogs(&ctx);
        if let Ok(mut e) = self.gpu_stats.last_error.lock()
            && let Some(e) = e.take()
            && !self.errors.contains(&e)
        {
            self.errors.push(e);
        }
        if self.show_debug {
            let cpu_ms = t0.elapsed().as_secs_f64() * 1000.0;
            egui::Area::new(egui::Id::unique("debug_overlay"))
                .anchor(egui::Align2::LEFT_BOTTOM, [170.0, -32.0])
                .show(&ctx, |ui| {
                    ui.colored_label(
                        Color32::YELLOW,
                        format!(
                            "frame {:.1} ms, UI {:.1} ms, GPU view images {}, brush on {} ({} GPU strokes)",
                            self.frame_ms,
                            cpu_ms,
                            self.gpu_frames(),
                            if self.paints_on_gpu() { "GPU" } else { "CPU" },
                            self.gpu_strokes()
                        ),
                    );
                });
        }
        if !self.edits_settled() {
            // Strokes come back within a frame or two; keep frames coming.
            ctx.request_repaint();
        } else if self.loading.is_some()
            || self.grow_job.is_some()
            || self.seeds_job.is_some()
            || self.effect_job.is_some()
            || self.stats_job.is_some()
            || self.second.busy()
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
        self.screenshot_step(&ctx);
    }
}

/// Window used before any volume exists: the default preset for CT.
pub fn default_ct_window() -> Window {
    CtPreset::SoftTissue.window()
}
