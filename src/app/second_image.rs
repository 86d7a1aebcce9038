//! A second image (another time point, or another modality of the same
//! patient) beside the first or fused over it, linked through
//! `moving_ras_from_fixed_ras` (first = fixed, second = moving).
//!
//! Side by side follows 3D Slicer's compare layout and PACS prior
//! comparisons: the first and the second image's slice of one plane, large,
//! next to each other, each in its own scanner space with the crosshair
//! linked through the transform (the prior is read as acquired, not
//! resampled). Fused keeps the four views and draws the second image,
//! resampled through the transform on the GPU, over the first's slices as a
//! coloured overlay (Slicer's foreground layer, ITK-SNAP's overlay).

use std::sync::mpsc::{Receiver, TryRecvError, channel};

use egui::{Align2, FontId, PointerButton, Pos2, Sense};
use glam::{DMat4, DVec2, DVec3};

use super::gpu_callback::GpuStats;
use super::lesion_table::{self, LesionTable};
use super::registration::{self, RegisterJob};
use super::second_gpu::{SecondCallback, SecondJob};
use super::views::{SliceViewState, slice_geometry_of, to_pixel, wheel_y};
use super::*;
use crate::annotate::labels::LabelSet;
use crate::annotate::track::TimePoint;
use crate::render::mpr::{LabelMode, SliceGeometry, SliceParams, SlicePlane};
use crate::render::window::Lut;
use crate::volume::Volume;

/// What to open as the second image.
#[derive(Clone, Debug, PartialEq)]
pub struct SecondSource {
    pub image: PathBuf,
    /// Its label map (lesions at that time point), on its own grid.
    pub labels: Option<PathBuf>,
    /// `moving_ras_from_fixed_ras` (JSON); none = identity (same scanner
    /// coordinates: another series of the same session).
    pub transform: Option<PathBuf>,
    /// Start fused (else side by side).
    pub fused: bool,
}

/// How the second image is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareMode {
    /// The four views of the first image only.
    FourViews,
    SideBySide,
    Fused,
}

impl CompareMode {
    pub const ALL: [CompareMode; 3] = [
        CompareMode::FourViews,
        CompareMode::SideBySide,
        CompareMode::Fused,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CompareMode::FourViews => "Four views",
            CompareMode::SideBySide => "Side by side",
            CompareMode::Fused => "Fused",
        }
    }
}

/// The second image's point for the first image's point `fixed_ras_mm`.
pub fn moving_from_fixed(moving_ras_from_fixed_ras: DMat4, fixed_ras_mm: DVec3) -> DVec3 {
    moving_ras_from_fixed_ras.transform_point3(fixed_ras_mm)
}

/// The first image's point for the second image's point `moving_ras_mm`.
pub fn fixed_from_moving(moving_ras_from_fixed_ras: DMat4, moving_ras_mm: DVec3) -> DVec3 {
    moving_ras_from_fixed_ras
        .inverse()
        .transform_point3(moving_ras_mm)
}

pub struct SecondImage {
    pub path: PathBuf,
    pub volume: Arc<Volume>,
    /// Identifies the volume to the GPU cache.
    pub volume_id: u64,
    pub labels: Option<Arc<Vec<u8>>>,
    pub label_set: Option<LabelSet>,
    pub moving_ras_from_fixed_ras: DMat4,
    /// Where the transform came from (shown in the panel).
    pub transform_source: String,
    /// The second image's own window (side by side and fused).
    pub window: Window,
    /// Colour map of the fused overlay.
    pub fusion_lut: Lut,
    /// Opacity of the fused overlay, 0..=1.
    pub opacity: f32,
    pub mode: CompareMode,
    /// The plane shown side by side.
    pub plane: SlicePlane,
    /// Zoom and pan of the second image's pane.
    pub slice: SliceViewState,
    /// The linked crosshair in the second image's RAS (mm): the first's
    /// crosshair through the transform, as of the last frame.
    pub cursor_ras_mm: DVec3,
}

impl SecondImage {
    /// Follows the first image's crosshair.
    pub fn link_cursor(&mut self, fixed_cursor_ras_mm: DVec3) {
        self.cursor_ras_mm = moving_from_fixed(self.moving_ras_from_fixed_ras, fixed_cursor_ras_mm);
    }

    /// The linked crosshair as a continuous voxel index of the second image.
    pub fn cursor_voxel(&self) -> DVec3 {
        self.volume.index_from_ras(self.cursor_ras_mm)
    }

    fn file_name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into(),
        )
    }

    /// The fused overlay for one of the first image's slice views (`None`
    /// unless fused): that plane sampled in this volume through the transform.
    pub fn overlay_callback(
        &self,
        kind: ViewKind,
        geom: &SliceGeometry,
        fixed_cursor_ras_mm: DVec3,
        target_format: wgpu::TextureFormat,
        stats: &Arc<GpuStats>,
    ) -> Option<SecondCallback> {
        if self.mode != CompareMode::Fused {
            return None;
        }
        let g = geom.through_transform(
            self.moving_ras_from_fixed_ras,
            self.volume.ras_from_voxel,
            self.volume.shape,
        );
        let mut params = SliceParams::new(g, self.window);
        params.lut = self.fusion_lut;
        // Only to leave the first image's crosshair uncovered.
        params.crosshair_ras = Some(fixed_cursor_ras_mm);
        Some(SecondCallback {
            pane: (kind, true),
            volume_id: self.volume_id,
            volume: self.volume.clone(),
            labels: None,
            job: SecondJob::Overlay {
                params: Box::new(params),
                opacity: self.opacity,
            },
            target_format,
            stats: stats.clone(),
        })
    }
}

struct SecondLoading {
    source: SecondSource,
    image: Loading,
    transform: Option<Receiver<Result<DMat4, String>>>,
    transform_result: Option<Result<DMat4, String>>,
}

/// What the lesion table was computed from: the first image's map version,
/// the second image and the transform.
type TableKey = (u64, u64, u64, [u64; 16]);

/// The app's second-image state.
#[derive(Default)]
pub struct SecondState {
    pub image: Option<SecondImage>,
    loading: Option<SecondLoading>,
    register: Option<RegisterJob>,
    pub show_lesion_table: bool,
    /// The last lesion table (or why there is none) and its inputs.
    table: Option<(TableKey, Result<LesionTable, String>)>,
    /// The tracker running on a worker for newer inputs.
    table_job: Option<(TableKey, Receiver<Result<LesionTable, String>>)>,
    /// "Open second image" path window: image, labels, transform.
    prompt: Option<[String; 3]>,
}

impl SecondState {
    /// Loading, computing its statistics or registering.
    pub fn busy(&self) -> bool {
        self.loading.is_some() || self.register.is_some() || self.table_job.is_some()
    }

    /// The plane shown side by side, when so.
    pub fn side_by_side(&self) -> Option<SlicePlane> {
        self.image
            .as_ref()
            .filter(|i| i.mode == CompareMode::SideBySide)
            .map(|i| i.plane)
    }
}

/// Ids of second images for the GPU cache (their own: `second_gpu`).
static NEXT_SECOND_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn kind_of(plane: SlicePlane) -> ViewKind {
    match plane {
        SlicePlane::Axial => ViewKind::Axial,
        SlicePlane::Coronal => ViewKind::Coronal,
        SlicePlane::Sagittal => ViewKind::Sagittal,
    }
}

impl RaysegApp {
    pub fn second(&self) -> Option<&SecondImage> {
        self.second.image.as_ref()
    }

    pub fn second_mut(&mut self) -> Option<&mut SecondImage> {
        self.second.image.as_mut()
    }

    /// Screen rect of the second image's pane in the last frame (side by side).
    pub fn second_view_rect(ctx: &egui::Context) -> Option<Rect> {
        ctx.data(|d| d.get_temp::<Rect>(egui::Id::unique("second_view_rect")))
    }

    /// The lesion table of the open time points (first = baseline, then the
    /// second), once the tracker has run on the current maps and transform.
    pub fn lesion_table(&self) -> Option<&LesionTable> {
        match &self.second.table {
            Some((key, Ok(table))) if Some(*key) == self.lesion_table_key() => Some(table),
            _ => None,
        }
    }

    fn lesion_table_key(&self) -> Option<TableKey> {
        let doc = self.doc.as_ref()?;
        let (id, m) = self
            .second
            .image
            .as_ref()
            .filter(|s| s.labels.is_some())
            .map_or((0, DMat4::IDENTITY), |s| {
                (s.volume_id, s.moving_ras_from_fixed_ras)
            });
        Some((
            doc.volume_id,
            doc.labels_version,
            id,
            m.to_cols_array().map(f64::to_bits),
        ))
    }

    /// Starts the tracker when the table is shown and its inputs changed.
    fn refresh_lesion_table(&mut self) {
        let Some(key) = self.lesion_table_key() else {
            return;
        };
        let current = |k: Option<TableKey>| k == Some(key);
        if !self.second.show_lesion_table
            || current(self.second.table.as_ref().map(|t| t.0))
            || current(self.second.table_job.as_ref().map(|t| t.0))
        {
            return;
        }
        let Some(doc) = self.doc.as_ref() else {
            return;
        };
        let name_of = |p: Option<&PathBuf>, fallback: &str| {
            p.and_then(|p| p.file_name())
                .map_or(fallback.into(), |n| n.to_string_lossy().into_owned())
        };
        let mut scans = vec![TimePoint::on_grid_of(
            name_of(doc.image_path.as_ref(), "first image"),
            &doc.volume,
            doc.labels().to_vec(),
        )];
        let mut names = vec![Some(doc.label_set().clone())];
        let mut transforms = Vec::new();
        if let Some(s) = self.second.image.as_ref()
            && let Some(labels) = &s.labels
        {
            scans.push(TimePoint::on_grid_of(
                s.file_name(),
                &s.volume,
                labels.as_ref().clone(),
            ));
            names.push(s.label_set.clone());
            transforms.push(s.moving_ras_from_fixed_ras);
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let table = lesion_table::compute(&scans, &transforms, &names);
            let _ = tx.send(table.map_err(|e| e.to_string()));
        });
        self.second.table_job = Some((key, rx));
    }

    /// Starts loading the second image (and its transform) on workers.
    pub fn open_second(&mut self, source: SecondSource) {
        let image = Loading::start(Source::Path {
            image: source.image.clone(),
            labels: source.labels.clone(),
        });
        let transform = source.transform.clone().map(|path| {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                let _ = tx.send(registration::read_transform(&path));
            });
            rx
        });
        self.second.loading = Some(SecondLoading {
            source,
            image,
            transform,
            transform_result: None,
        });
    }

    pub(super) fn poll_second(&mut self) {
        if let Some(l) = self.second.loading.as_mut()
            && l.transform_result.is_none()
            && let Some(rx) = &l.transform
        {
            match rx.try_recv() {
                Ok(r) => l.transform_result = Some(r),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    l.transform_result = Some(Err("the transform reader stopped".into()))
                }
            }
        }
        // Installed once the first image is there (both may load at start).
        let ready = self.doc.is_some()
            && self
                .second
                .loading
                .as_ref()
                .is_some_and(|l| l.transform.is_none() || l.transform_result.is_some());
        if ready && let Some(result) = self.second.loading.as_ref().and_then(|l| l.image.poll()) {
            let Some(l) = self.second.loading.take() else {
                return;
            };
            match result {
                Ok(loaded) => self.install_second(loaded, l.source, l.transform_result),
                Err(e) => self.errors.push(format!(
                    "Cannot open the second image {}: {e}",
                    l.source.image.display()
                )),
            }
        }
        if let Some((key, rx)) = &self.second.table_job {
            match rx.try_recv() {
                Ok(table) => {
                    self.second.table = Some((*key, table));
                    self.second.table_job = None;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.second.table_job = None,
            }
        }
        self.refresh_lesion_table();
        if let Some(r) = self.second.register.as_ref().and_then(RegisterJob::poll) {
            self.second.register = None;
            match (r, self.second.image.as_mut()) {
                (Ok(reg), Some(s)) => {
                    s.moving_ras_from_fixed_ras = reg.moving_ras_from_fixed_ras;
                    s.transform_source = format!("registration (metric {:.4})", reg.final_metric);
                    self.status = "Registered the second image".into();
                }
                (Ok(_), None) => {}
                (Err(e), _) => self.errors.push(format!("Register: {e}")),
            }
        }
    }

    fn install_second(
        &mut self,
        loaded: loading::Loaded,
        source: SecondSource,
        transform: Option<Result<DMat4, String>>,
    ) {
        let (m, transform_source) = match (transform, &source.transform) {
            (Some(Ok(m)), Some(p)) => (m, format!("from {}", p.display())),
            (Some(Err(e)), _) => {
                self.errors.push(format!("Transform: {e}"));
                (
                    DMat4::IDENTITY,
                    "identity (the transform file failed)".into(),
                )
            }
            _ => (
                DMat4::IDENTITY,
                "identity (same scanner coordinates)".to_owned(),
            ),
        };
        for w in &loaded.volume.warnings {
            self.errors.push(format!("Warning (second image): {w}"));
        }
        let volume = Arc::new(loaded.volume);
        let (labels, label_set) = match loaded.labels {
            Some((l, set)) => (Some(Arc::new(l)), set),
            None => (None, None),
        };
        let fixed_cursor = self
            .viewer
            .as_ref()
            .map_or(DVec3::ZERO, |v| v.cursor_ras_mm);
        let mut image = SecondImage {
            path: source.image.clone(),
            window: crate::render::window::default_window(&volume),
            volume,
            volume_id: NEXT_SECOND_ID.fetch_add(1, Ordering::Relaxed),
            labels,
            label_set,
            moving_ras_from_fixed_ras: m,
            transform_source,
            fusion_lut: Lut::Hot,
            opacity: 0.5,
            mode: if source.fused {
                CompareMode::Fused
            } else {
                CompareMode::SideBySide
            },
            plane: SlicePlane::Axial,
            slice: SliceViewState::default(),
            cursor_ras_mm: DVec3::ZERO,
        };
        image.link_cursor(fixed_cursor);
        self.status = format!("Opened the second image {}", source.image.display());
        self.second.image = Some(image);
    }

    /// File menu entries.
    pub(super) fn second_menu_items(&mut self, ui: &mut egui::Ui) {
        if ui.button("Open second image...").clicked() {
            // Without a desktop portal rfd returns None: ask for paths instead.
            match rfd::FileDialog::new()
                .add_filter(
                    "Images",
                    &["nii", "gz", "dcm", "nrrd", "nhdr", "mha", "mhd"],
                )
                .pick_file()
            {
                Some(image) => self.open_second(SecondSource {
                    image,
                    labels: None,
                    transform: None,
                    fused: false,
                }),
                None => self.second.prompt = Some(Default::default()),
            }
        }
        if ui.button("Open second image from path...").clicked() {
            self.second.prompt = Some(Default::default());
        }
    }

    /// The side panel's "Second image" section.
    pub(super) fn second_panel(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Second image")
            .default_open(true)
            .show(ui, |ui| {
                if let Some(l) = &self.second.loading {
                    let name = l
                        .source
                        .image
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy();
                    ui.horizontal(|ui| {
                        ui.spinner();
                        // Truncated: a long path must not widen the side panel.
                        ui.add(
                            egui::Label::new(format!("Loading {name} - {}", l.image.stage()))
                                .truncate(),
                        );
                    });
                }
                let fixed = self.doc.as_ref().map(|d| d.volume.clone());
                let Some(s) = self.second.image.as_mut() else {
                    if ui.button("Open second image...").clicked() {
                        self.second.prompt = Some(Default::default());
                    }
                    return;
                };
                ui.add(
                    egui::Label::new(format!("{}  {:?}", s.file_name(), s.volume.shape)).truncate(),
                );
                ui.add(egui::Label::new(format!("Transform: {}", s.transform_source)).truncate())
                    .on_hover_text(&s.transform_source);
                ui.horizontal(|ui| {
                    for m in CompareMode::ALL {
                        ui.selectable_value(&mut s.mode, m, m.name());
                    }
                });
                if s.mode == CompareMode::SideBySide {
                    egui::ComboBox::from_label("Plane")
                        .selected_text(format!("{:?}", s.plane))
                        .show_ui(ui, |ui| {
                            for p in [SlicePlane::Axial, SlicePlane::Coronal, SlicePlane::Sagittal]
                            {
                                ui.selectable_value(&mut s.plane, p, format!("{p:?}"));
                            }
                        });
                }
                ui.horizontal(|ui| {
                    ui.add(egui::DragValue::new(&mut s.window.center).prefix("Level "));
                    ui.add(
                        egui::DragValue::new(&mut s.window.width)
                            .prefix("Width ")
                            .range(1.0..=1e6),
                    );
                    if ui.button("Auto").clicked() {
                        s.window = crate::render::window::default_window(&s.volume);
                    }
                });
                if s.mode == CompareMode::Fused {
                    egui::ComboBox::from_label("Colour map")
                        .selected_text(s.fusion_lut.name())
                        .show_ui(ui, |ui| {
                            for l in [Lut::Hot, Lut::Cool, Lut::Grey, Lut::Bone, Lut::InvertedGrey]
                            {
                                ui.selectable_value(&mut s.fusion_lut, l, l.name());
                            }
                        });
                    ui.add(egui::Slider::new(&mut s.opacity, 0.0..=1.0).text("Fusion opacity"));
                }
                ui.horizontal(|ui| {
                    let running = self.second.register.is_some();
                    if ui
                        .add_enabled(!running && fixed.is_some(), egui::Button::new("Register"))
                        .on_hover_text("Rigid registration of the second image to the first")
                        .clicked()
                        && let Some(fixed) = fixed.clone()
                    {
                        self.second.register = Some(RegisterJob::start(fixed, s.volume.clone()));
                    }
                    if running {
                        ui.spinner();
                    }
                    if ui
                        .button("Identity")
                        .on_hover_text("Same scanner coordinates")
                        .clicked()
                    {
                        s.moving_ras_from_fixed_ras = DMat4::IDENTITY;
                        s.transform_source = "identity (same scanner coordinates)".into();
                    }
                });
                if ui.button("Close second image").clicked() {
                    self.second.image = None;
                }
            });
    }

    /// The "Open second image" path window and the lesion table window.
    pub(super) fn second_dialogs(&mut self, ctx: &egui::Context) {
        if let Some(fields) = self.second.prompt.as_mut() {
            let (mut go, mut cancel) = (false, false);
            egui::Window::new("Open second image").show(ctx, |ui| {
                egui::Grid::new("second_prompt").show(ui, |ui| {
                    for (text, name) in fields.iter_mut().zip([
                        "Image",
                        "Labels (optional)",
                        "Transform JSON (optional)",
                    ]) {
                        let label = ui.label(name);
                        ui.add(egui::TextEdit::singleline(text).desired_width(360.0))
                            .labelled_by(label.id);
                        ui.end_row();
                    }
                });
                ui.horizontal(|ui| {
                    go = ui.button("Open").clicked();
                    cancel = ui.button("Cancel").clicked();
                });
            });
            if go {
                let path = |t: &str| (!t.trim().is_empty()).then(|| PathBuf::from(t.trim()));
                let source = path(&fields[0]).map(|image| SecondSource {
                    image,
                    labels: path(&fields[1]),
                    transform: path(&fields[2]),
                    fused: false,
                });
                self.second.prompt = None;
                match source {
                    Some(s) => self.open_second(s),
                    None => self.errors.push("Open second image: no image path".into()),
                }
            } else if cancel {
                self.second.prompt = None;
            }
        }
        if self.second.show_lesion_table {
            let mut open = true;
            // The last table stays up while the tracker redoes it after an edit.
            egui::Window::new("Lesion table")
                .open(&mut open)
                .show(ctx, |ui| match self.second.table.as_ref() {
                    Some((_, Ok(table))) => lesion_table::show(ui, table),
                    Some((_, Err(e))) => {
                        ui.colored_label(egui::Color32::LIGHT_RED, e);
                    }
                    None => {
                        ui.spinner();
                    }
                });
            self.second.show_lesion_table = open;
        }
    }
}

/// The second image's pane (side by side): its own slice of `plane` through
/// the linked crosshair. Clicking or dragging (Navigate and the painting
/// tools) moves the first image's crosshair through the inverse transform; the
/// wheel steps its slices; Window/Level drags its own window.
pub(super) fn second_pane(
    ui: &mut egui::Ui,
    rect: Rect,
    plane: SlicePlane,
    second: &mut SecondImage,
    viewer: &mut views::ViewerState,
    inputs: &views::ViewInputs,
) -> Vec<ViewAction> {
    let mut actions = Vec::new();
    ui.ctx()
        .data_mut(|d| d.insert_temp(egui::Id::unique("second_view_rect"), rect));
    second.link_cursor(viewer.cursor_ras_mm);
    let response = ui.interact(
        rect,
        ui.scope_id().with("second_pane"),
        Sense::click_and_drag(),
    );
    let scale = ui
        .ctx()
        .pixels_per_point()
        .min(views::MAX_MPR_PX / rect.width().max(rect.height()).max(1.0));
    let size_px = [
        ((rect.width() * scale).round() as u32).max(1),
        ((rect.height() * scale).round() as u32).max(1),
    ];
    let geom = match slice_geometry_of(
        &second.volume,
        second.cursor_ras_mm,
        viewer.convention,
        second.slice,
        plane,
        size_px,
    ) {
        Ok(g) => g,
        Err(e) => {
            actions.push(ViewAction::Error(format!("second image: {e}")));
            return actions;
        }
    };
    let (mods, scroll_y, zoom_delta, primary_down, pointer) = ui.input(|i| {
        (
            i.modifiers,
            wheel_y(i),
            i.zoom_delta(),
            i.pointer.primary_down(),
            i.pointer.hover_pos(),
        )
    });
    let m = second.moving_ras_from_fixed_ras;
    let hovered = pointer.filter(|p| rect.contains(*p));
    if hovered.is_some() {
        if zoom_delta != 1.0 {
            second.slice.zoom = (second.slice.zoom * zoom_delta as f64).clamp(0.05, 50.0);
        } else if scroll_y != 0.0 {
            let q = second.cursor_ras_mm
                + geom.normal_ras * geom.normal_step_mm * scroll_y.signum() as f64;
            viewer.cursor_ras_mm = fixed_from_moving(m, q);
        }
    }
    let delta = response.drag_delta();
    if response.dragged_by(PointerButton::Secondary)
        || (response.dragged_by(PointerButton::Primary) && mods.command)
    {
        second.slice.zoom = (second.slice.zoom * (1.0 - delta.y as f64 * 0.01)).clamp(0.05, 50.0);
    } else if response.dragged_by(PointerButton::Middle)
        || (response.dragged_by(PointerButton::Primary) && mods.shift)
    {
        let mm_per_point = geom.spacing_mm[0] * geom.size[0] as f64 / rect.width() as f64;
        second.slice.pan_mm -= DVec2::new(delta.x as f64, delta.y as f64) * mm_per_point;
    } else if inputs.tool == Tool::WindowLevel {
        if response.dragged_by(PointerButton::Primary) {
            let w = second.window.width.max(1.0);
            second.window.width = (w + delta.x as f64 * w / 200.0).max(1.0);
            second.window.center += delta.y as f64 * w / 400.0;
        }
    } else if let Some(pos) = hovered.or(response.interact_pointer_pos())
        && ((response.is_pointer_button_down_on() && primary_down)
            || response.clicked_by(PointerButton::Primary))
    {
        // The second image is not edited: a click places the linked crosshair.
        let (px, py) = to_pixel(&geom, rect, pos);
        viewer.cursor_ras_mm = fixed_from_moving(m, geom.pixel_to_ras(px, py));
    }
    second.link_cursor(viewer.cursor_ras_mm);

    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    if let Some(format) = inputs.target_format {
        // The geometry again: the crosshair may have moved the slice.
        let geom = slice_geometry_of(
            &second.volume,
            second.cursor_ras_mm,
            viewer.convention,
            second.slice,
            plane,
            size_px,
        )
        .unwrap_or(geom.clone());
        let mut params = SliceParams::new(geom, second.window);
        if second.labels.is_some() {
            params.label_mode = LabelMode::Fill;
            if let Some(set) = &second.label_set {
                params.label_colors = Some(crate::render::labels::label_lut_for(set, 0.5));
            }
        }
        params.crosshair_ras = Some(second.cursor_ras_mm);
        painter.add(egui_wgpu::Callback::new_paint_callback(
            rect,
            SecondCallback {
                pane: (kind_of(plane), false),
                volume_id: second.volume_id,
                volume: second.volume.clone(),
                labels: second.labels.clone(),
                job: SecondJob::Slice(Box::new(params)),
                target_format: format,
                stats: inputs.stats.clone(),
            },
        ));
    }
    let font = FontId::proportional(13.0);
    let letters = geom.edge_letters();
    let text = Color32::from_rgb(230, 230, 120);
    painter.text(
        Pos2::new(rect.center().x, rect.min.y + 4.0),
        Align2::CENTER_TOP,
        letters.top,
        font.clone(),
        text,
    );
    painter.text(
        Pos2::new(rect.min.x + 4.0, rect.center().y),
        Align2::LEFT_CENTER,
        letters.left,
        font.clone(),
        text,
    );
    painter.text(
        Pos2::new(rect.max.x - 4.0, rect.center().y),
        Align2::RIGHT_CENTER,
        letters.right,
        font.clone(),
        text,
    );
    let v = second.cursor_voxel();
    painter.text(
        rect.min + egui::vec2(4.0, 4.0),
        Align2::LEFT_TOP,
        format!(
            "{}: {:?}  ijk ({:.0}, {:.0}, {:.0})",
            second.file_name(),
            plane,
            v.x,
            v.y,
            v.z
        ),
        font,
        Color32::WHITE,
    );
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rigid transform (rotation about S and a shift) takes the first image's
    /// crosshair to the expected voxel of the second image, and back.
    #[test]
    fn crosshair_maps_through_a_rigid_transform() {
        // Second image: 2 mm voxels, voxel (0,0,0) at RAS (-20, -30, -10).
        let moving_ras_from_voxel = DMat4::from_translation(DVec3::new(-20.0, -30.0, -10.0))
            * DMat4::from_scale(DVec3::splat(2.0));
        // Moving = rotate 90° about S (x → y), then shift by (4, 6, 8) mm.
        let m = DMat4::from_translation(DVec3::new(4.0, 6.0, 8.0))
            * DMat4::from_rotation_z(std::f64::consts::FRAC_PI_2);
        let fixed = DVec3::new(10.0, 2.0, 0.0);
        let moving = moving_from_fixed(m, fixed);
        // (10, 2, 0) rotated is (-2, 10, 0); shifted (2, 16, 8).
        assert!((moving - DVec3::new(2.0, 16.0, 8.0)).length() < 1e-12);
        let voxel = moving_ras_from_voxel.inverse().transform_point3(moving);
        // ((2+20)/2, (16+30)/2, (8+10)/2)
        assert!(
            (voxel - DVec3::new(11.0, 23.0, 9.0)).length() < 1e-12,
            "{voxel}"
        );
        let back = fixed_from_moving(m, moving);
        assert!((back - fixed).length() < 1e-12);
    }
}
