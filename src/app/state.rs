//! The document: image, label map (CPU copy = the truth), label set, undo and
//! the pending region-grow preview. No egui here, so tests can drive it directly.

use std::path::PathBuf;
use std::sync::Arc;

use glam::DVec3;

use crate::annotate::brush::{self, BrushMode, BrushStroke, OverwritePolicy};
use crate::annotate::grow::{Connectivity, GrowRequest, cpu::grow_cpu};
use crate::annotate::labels::{LabelInfo, LabelSet};
use crate::annotate::stats::LabelStats;
use crate::annotate::undo::{DEFAULT_UNDO_BUDGET_BYTES, UndoStack};
use crate::render::labels::default_label_color;
use crate::render::mpr::SlicePlane;
use crate::volume::Volume;

/// Interaction tools (hotkeys in brackets in the toolbar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Navigate,
    WindowLevel,
    Brush,
    Eraser,
    Grow,
}

impl Tool {
    pub const ALL: [Tool; 5] = [
        Tool::Navigate,
        Tool::WindowLevel,
        Tool::Brush,
        Tool::Eraser,
        Tool::Grow,
    ];

    /// Accessible name (also the button text).
    pub fn name(self) -> &'static str {
        match self {
            Tool::Navigate => "Navigate",
            Tool::WindowLevel => "Window/Level",
            Tool::Brush => "Brush",
            Tool::Eraser => "Eraser",
            Tool::Grow => "Region grow",
        }
    }

    pub fn hotkey(self) -> egui::Key {
        match self {
            Tool::Navigate => egui::Key::N,
            Tool::WindowLevel => egui::Key::W,
            Tool::Brush => egui::Key::B,
            Tool::Eraser => egui::Key::E,
            Tool::Grow => egui::Key::G,
        }
    }
}

/// Brush settings shared by Brush and Eraser.
#[derive(Clone, Debug, PartialEq)]
pub struct BrushSettings {
    pub radius_mm: f64,
    /// 2-D disk in the slice being painted; otherwise a 3-D sphere.
    pub disk_2d: bool,
    pub intensity_range: Option<(f64, f64)>,
    pub overwrite_other_labels: bool,
}

impl Default for BrushSettings {
    fn default() -> Self {
        BrushSettings {
            radius_mm: 5.0,
            disk_2d: true,
            intensity_range: None,
            overwrite_other_labels: false,
        }
    }
}

/// Region-grow settings; the preview regrows when these or the seed change.
#[derive(Clone, Debug, PartialEq)]
pub struct GrowSettings {
    /// Bounds = seed value ± tolerance unless `use_bounds`.
    pub tolerance_hu: f64,
    pub use_bounds: bool,
    pub lower: f64,
    pub upper: f64,
    pub full_connectivity: bool,
    pub max_distance_mm: Option<f64>,
}

impl Default for GrowSettings {
    fn default() -> Self {
        GrowSettings {
            tolerance_hu: 30.0,
            use_bounds: false,
            lower: 0.0,
            upper: 200.0,
            full_connectivity: false,
            max_distance_mm: Some(60.0),
        }
    }
}

/// A pending grow: the whole label map with the region added (shown, not committed).
pub struct GrowPreview {
    pub seed_ijk: [u32; 3],
    pub settings: GrowSettings,
    pub labels: Vec<u8>,
    pub voxel_count: u64,
}

pub struct Document {
    pub volume: Arc<Volume>,
    /// One label per voxel on the image grid.
    pub labels: Vec<u8>,
    pub label_set: LabelSet,
    pub active_label: u8,
    pub undo: UndoStack,
    /// Bumped on every change of `labels` or the preview (statistics, 3-D bricks).
    pub labels_version: u64,
    /// Bumped when the CPU changed what is displayed (the GPU then re-uploads
    /// the map); GPU brush strokes, already in the texture, leave it alone.
    pub upload_version: u64,
    /// Bumped when label colours/visibility change (display only).
    pub display_version: u64,
    pub dirty: bool,
    pub image_path: Option<PathBuf>,
    pub labels_path: Option<PathBuf>,
    pub grow_preview: Option<GrowPreview>,
    /// Latest statistics and the `labels_version` they were computed for.
    pub stats: Vec<LabelStats>,
    pub stats_version: u64,
    /// Identifies this document's volume to the GPU cache.
    pub volume_id: u64,
    /// The map at the start of the stroke in progress.
    pub stroke_before: Option<Vec<u8>>,
}

static NEXT_VOLUME_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Document {
    pub fn new(volume: Volume, image_path: Option<PathBuf>) -> Self {
        let n = volume.voxel_count();
        let mut label_set = LabelSet::default();
        let mut first = LabelInfo::new(1, "Lesion");
        first.color = default_label_color(1);
        label_set.labels.push(first);
        Document {
            volume: Arc::new(volume),
            labels: vec![0; n],
            label_set,
            active_label: 1,
            undo: UndoStack::new(DEFAULT_UNDO_BUDGET_BYTES),
            labels_version: 1,
            upload_version: 1,
            display_version: 1,
            dirty: false,
            image_path,
            labels_path: None,
            grow_preview: None,
            stats: Vec::new(),
            stats_version: 0,
            stroke_before: None,
            volume_id: NEXT_VOLUME_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Replaces the label map (e.g. loaded from a file); clears undo.
    pub fn set_labels(
        &mut self,
        labels: Vec<u8>,
        label_set: Option<LabelSet>,
    ) -> Result<(), String> {
        if labels.len() != self.volume.voxel_count() {
            return Err(format!(
                "label map has {} voxels, the image {}",
                labels.len(),
                self.volume.voxel_count()
            ));
        }
        let mut set = label_set.unwrap_or_default();
        for value in 1..=255u8 {
            if set.get(value).is_none() && labels.contains(&value) {
                let mut info = LabelInfo::new(value, format!("Label {value}"));
                info.color = default_label_color(value);
                set.labels.push(info);
            }
        }
        if set.labels.is_empty() {
            set.labels.push(LabelInfo::new(1, "Lesion"));
        }
        self.active_label = set.labels[0].value;
        self.label_set = set;
        self.labels = labels;
        self.undo.clear();
        self.grow_preview = None;
        self.touch_labels();
        self.dirty = false;
        Ok(())
    }

    fn touch_labels(&mut self) {
        self.touch_display();
        self.dirty = true;
    }

    /// The displayed map changed on the CPU (preview shown or dropped).
    fn touch_display(&mut self) {
        self.labels_version += 1;
        self.upload_version += 1;
    }

    /// Makes the GPU take the CPU copy again (after a GPU edit failed).
    pub fn force_upload(&mut self) {
        self.touch_display();
    }

    /// Boxes of GPU brush strokes were copied into `labels` (already on the GPU).
    pub fn gpu_strokes_applied(&mut self, voxels_changed: u64) {
        self.labels_version += 1;
        if voxels_changed > 0 {
            self.dirty = true;
        }
    }

    /// Labels to display: the grow preview when there is one.
    pub fn display_labels(&self) -> &[u8] {
        self.grow_preview
            .as_ref()
            .map_or(&self.labels, |p| &p.labels)
    }

    pub fn label_at(&self, ijk: [usize; 3]) -> Option<u8> {
        let n = self.volume.linear_index(ijk)?;
        self.labels.get(n).copied()
    }

    /// Voxels currently holding `label` (tests and the status bar).
    pub fn count_label(&self, label: u8) -> usize {
        self.labels.iter().filter(|&&l| l == label).count()
    }

    /// Starts a brush/eraser stroke: keeps the map as it was for one undo step.
    pub fn begin_stroke(&mut self) {
        if self.grow_preview.take().is_some() {
            self.touch_display();
        }
        self.stroke_before = Some(self.labels.clone());
    }

    /// Applies one stroke segment on the CPU (the engine's exact reference).
    /// Returns voxels changed.
    pub fn stroke_segment(
        &mut self,
        points_ras_mm: Vec<DVec3>,
        settings: &BrushSettings,
        erase: bool,
        plane: Option<SlicePlane>,
    ) -> Result<u64, String> {
        let stroke = self.brush_stroke(points_ras_mm, settings, erase, plane);
        self.apply_cpu_stroke(&stroke)
    }

    /// Applies a stroke with the exact CPU reference (no GPU, or its fallback).
    pub fn apply_cpu_stroke(&mut self, stroke: &BrushStroke) -> Result<u64, String> {
        let changed = brush::cpu::apply_stroke(&self.volume, &mut self.labels, stroke)
            .map_err(|e| e.to_string())?;
        if changed > 0 {
            self.touch_labels();
        }
        Ok(changed)
    }

    /// The engine's stroke for a segment under the current brush settings.
    pub fn brush_stroke(
        &self,
        points_ras_mm: Vec<DVec3>,
        settings: &BrushSettings,
        erase: bool,
        plane: Option<SlicePlane>,
    ) -> BrushStroke {
        let mode = if erase {
            BrushMode::Erase {
                only_label: (!settings.overwrite_other_labels).then_some(self.active_label),
            }
        } else {
            BrushMode::Paint {
                label: self.active_label,
            }
        };
        BrushStroke {
            points_ras_mm,
            radius_mm: settings.radius_mm,
            mode,
            policy: if settings.overwrite_other_labels {
                OverwritePolicy::All
            } else {
                OverwritePolicy::BackgroundOnly
            },
            intensity_range: settings.intensity_range,
            disk: if settings.disk_2d {
                plane.map(brush_plane)
            } else {
                None
            },
            locked_bits: self.label_set.locked_bits(),
        }
    }

    /// Ends the stroke: records it as one undo step (whole-map compare, ~20 ms per 128 MiB).
    pub fn end_stroke(&mut self, erase: bool) -> Result<bool, String> {
        let Some(before) = self.stroke_before.take() else {
            return Ok(false);
        };
        let what = if erase { "Erase" } else { "Paint" };
        self.undo
            .record(&before, &self.labels, self.volume.shape, what)
            .map_err(|e| e.to_string())
    }

    /// A whole stroke as one undoable edit (begin, one segment, end).
    pub fn apply_stroke(
        &mut self,
        points_ras_mm: Vec<DVec3>,
        settings: &BrushSettings,
        erase: bool,
        plane: Option<SlicePlane>,
    ) -> Result<u64, String> {
        self.begin_stroke();
        let changed = self.stroke_segment(points_ras_mm, settings, erase, plane);
        self.end_stroke(erase)?;
        changed
    }

    pub fn undo(&mut self) -> Result<Option<String>, String> {
        if self.grow_preview.take().is_some() {
            self.touch_display();
        }
        let applied = self
            .undo
            .undo(&mut self.labels)
            .map_err(|e| e.to_string())?;
        Ok(applied.map(|a| {
            self.touch_labels();
            a.description
        }))
    }

    pub fn redo(&mut self) -> Result<Option<String>, String> {
        if self.grow_preview.take().is_some() {
            self.touch_display();
        }
        let applied = self
            .undo
            .redo(&mut self.labels)
            .map_err(|e| e.to_string())?;
        Ok(applied.map(|a| {
            self.touch_labels();
            a.description
        }))
    }

    /// The grow request for a seed under the current settings.
    pub fn grow_request(
        &self,
        seed_ijk: [u32; 3],
        settings: &GrowSettings,
    ) -> Result<GrowRequest, String> {
        let idx = seed_ijk.map(|n| n as usize);
        let seed_value = self
            .volume
            .value_at(idx)
            .ok_or_else(|| format!("seed {seed_ijk:?} is outside the image"))?;
        let (lower, upper) = if settings.use_bounds {
            (settings.lower, settings.upper)
        } else {
            (
                seed_value - settings.tolerance_hu,
                seed_value + settings.tolerance_hu,
            )
        };
        let connectivity = if settings.full_connectivity {
            Connectivity::Full
        } else {
            Connectivity::Face
        };
        let mut request = GrowRequest::new(
            &self.volume,
            vec![seed_ijk],
            lower,
            upper,
            connectivity,
            self.active_label,
        );
        request.max_distance_mm = settings.max_distance_mm;
        request.locked_bits = self.label_set.locked_bits();
        Ok(request)
    }

    /// Installs a computed preview (from the worker); stale ones are dropped by the caller.
    pub fn set_grow_preview(&mut self, preview: GrowPreview) {
        self.grow_preview = Some(preview);
        self.touch_display();
    }

    /// Commits the preview as one undoable edit.
    pub fn accept_grow(&mut self) -> Result<bool, String> {
        let Some(preview) = self.grow_preview.take() else {
            return Ok(false);
        };
        let shape = self.volume.shape;
        self.undo
            .record(&self.labels, &preview.labels, shape, "Region grow")
            .map_err(|e| e.to_string())?;
        self.labels = preview.labels;
        self.touch_labels();
        Ok(true)
    }

    pub fn cancel_grow(&mut self) {
        if self.grow_preview.take().is_some() {
            self.touch_display();
        }
    }

    /// Adds a label with the lowest free value; returns it.
    pub fn add_label(&mut self) -> Option<u8> {
        let value = (1..=255u8).find(|v| self.label_set.get(*v).is_none())?;
        let mut info = LabelInfo::new(value, format!("Label {value}"));
        info.color = default_label_color(value);
        self.label_set.labels.push(info);
        self.active_label = value;
        self.dirty = true;
        self.display_version += 1;
        Some(value)
    }

    pub fn rename_label(&mut self, value: u8, name: &str) -> bool {
        match self.label_set.get_mut(value) {
            Some(info) => {
                info.name = name.to_owned();
                self.dirty = true;
                true
            }
            None => false,
        }
    }

    /// Deletes a label and clears its voxels (undoable).
    pub fn delete_label(&mut self, value: u8) -> Result<(), String> {
        let before = self.labels.clone();
        for l in &mut self.labels {
            if *l == value {
                *l = 0;
            }
        }
        self.undo
            .record(&before, &self.labels, self.volume.shape, "Delete label")
            .map_err(|e| e.to_string())?;
        self.label_set.labels.retain(|l| l.value != value);
        if self.active_label == value {
            self.active_label = self.label_set.labels.first().map_or(1, |l| l.value);
        }
        self.touch_labels();
        self.display_version += 1;
        Ok(())
    }
}

/// Runs a grow on a worker thread: on the GPU when the app has one (the same
/// kernel as `rayseg grow`), else with the exact CPU reference.
pub fn compute_grow_preview(
    volume: &Arc<Volume>,
    mut labels: Vec<u8>,
    request: &GrowRequest,
    settings: GrowSettings,
    gpu: Option<(&super::gpu_grow::GpuGrow, u64)>,
) -> Result<GrowPreview, String> {
    let outcome = match gpu {
        Some((gpu, volume_id)) => gpu.grow(volume, volume_id, &mut labels, request)?,
        None => grow_cpu(volume, &mut labels, request).map_err(|e| e.to_string())?,
    };
    Ok(GrowPreview {
        seed_ijk: request.seeds_ijk.first().copied().unwrap_or_default(),
        settings,
        labels,
        voxel_count: outcome.voxel_count,
    })
}

pub fn brush_plane(plane: SlicePlane) -> brush::SlicePlane {
    match plane {
        SlicePlane::Axial => brush::SlicePlane::Axial,
        SlicePlane::Coronal => brush::SlicePlane::Coronal,
        SlicePlane::Sagittal => brush::SlicePlane::Sagittal,
    }
}
