//! The app's document: the core segmentation document (label map = the CPU
//! copy and the truth, label set, undo, every edit through one seam) and what
//! the app shows of it. No egui here, so tests can drive it directly.

use std::path::PathBuf;
use std::sync::Arc;

use glam::DVec3;

use crate::annotate::brush::{self, BrushMode, BrushStroke, OverwritePolicy};
use crate::annotate::document::{EditOp, EditOutcome, RegionPreview, SegDocument};
use crate::annotate::grow::{Connectivity, GrowRequest, cpu::grow_region_cpu};
use crate::annotate::journal::{ImageId, image_id, resolve_author};
use crate::annotate::labels::{LabelInfo, LabelSet};
use crate::annotate::stats::LabelStats;
use crate::annotate::undo::VoxelBox;
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
    /// Grow from seeds: paints seeds like the brush; the labels compete.
    Seeds,
    /// Segment-editor effects on the active label.
    Effects,
}

impl Tool {
    pub const ALL: [Tool; 7] = [
        Tool::Navigate,
        Tool::WindowLevel,
        Tool::Brush,
        Tool::Eraser,
        Tool::Grow,
        Tool::Seeds,
        Tool::Effects,
    ];

    /// Accessible name (also the button text).
    pub fn name(self) -> &'static str {
        match self {
            Tool::Navigate => "Navigate",
            Tool::WindowLevel => "Window/Level",
            Tool::Brush => "Brush",
            Tool::Eraser => "Eraser",
            Tool::Grow => "Region grow",
            Tool::Seeds => "Grow from seeds",
            Tool::Effects => "Effects",
        }
    }

    pub fn hotkey(self) -> egui::Key {
        match self {
            Tool::Navigate => egui::Key::N,
            Tool::WindowLevel => egui::Key::W,
            Tool::Brush => egui::Key::B,
            Tool::Eraser => egui::Key::E,
            Tool::Grow => egui::Key::G,
            Tool::Seeds => egui::Key::S,
            Tool::Effects => egui::Key::T,
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

/// A pending grow: its seed and settings; the region itself (only its box) is
/// the segmentation document's preview.
pub struct GrowPreview {
    pub seed_ijk: [u32; 3],
    pub settings: GrowSettings,
    pub region: RegionPreview,
    pub voxel_count: u64,
}

/// The app's document: the segmentation document (label map, label set, undo,
/// every edit through one seam) plus what the app shows of it.
pub struct Document {
    pub volume: Arc<Volume>,
    pub seg: SegDocument,
    pub active_label: u8,
    /// Bumped on every change of the map or the preview (statistics, 3-D bricks).
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
    /// Statistics per label, kept current label by label: an edit makes the
    /// labels it changed due, and only they are recomputed, over their box.
    pub stats: Vec<LabelStats>,
    /// Labels whose statistics wait for a job, with a box holding each.
    stats_due: std::collections::BTreeMap<u8, Option<VoxelBox>>,
    /// Labels whose 3-D surfaces must be rebuilt (taken by `app::surfaces`).
    pub surfaces_due: std::collections::BTreeSet<u8>,
    /// A statistics job runs for this document.
    pub stats_running: bool,
    /// Bumped when the segmentation is replaced: a running job's reply is dropped.
    pub stats_epoch: u64,
    /// Identifies this document's volume to the GPU cache.
    pub volume_id: u64,
    /// The stroke in progress, its points so far (journaled as one polyline).
    pub stroke: Option<BrushStroke>,
    /// The image's content identity (hashes every voxel: computed once).
    image_id: std::sync::OnceLock<ImageId>,
    /// Boxes whose displayed labels changed on the CPU since the display
    /// took them (uploaded box by box), and whether the whole map must go.
    upload_boxes: Vec<VoxelBox>,
    upload_all: bool,
}

static NEXT_VOLUME_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Document {
    pub fn new(volume: Volume, image_path: Option<PathBuf>) -> Self {
        let volume = Arc::new(volume);
        let n = volume.voxel_count();
        let mut label_set = LabelSet::default();
        label_set.labels.push(LabelInfo::new(1, "Lesion"));
        let seg = SegDocument::new(volume.clone(), vec![0; n], label_set, &resolve_author(None))
            .expect("an empty map fits its own image");
        Document {
            volume,
            seg,
            active_label: 1,
            labels_version: 1,
            upload_version: 1,
            display_version: 1,
            dirty: false,
            image_path,
            labels_path: None,
            grow_preview: None,
            stats: Vec::new(),
            stats_due: Default::default(),
            surfaces_due: Default::default(),
            stats_running: false,
            stats_epoch: 0,
            stroke: None,
            image_id: std::sync::OnceLock::new(),
            upload_boxes: Vec::new(),
            upload_all: true,
            volume_id: NEXT_VOLUME_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Records the image's identity computed by the loader.
    pub fn set_image_id(&self, id: ImageId) {
        let _ = self.image_id.set(id);
    }

    /// The image's identity for its journal (from the loader, else computed
    /// on first use).
    pub fn image_id(&self) -> &ImageId {
        self.image_id.get_or_init(|| image_id(&self.volume))
    }

    /// Swaps in a segmentation document (one opened on its journal).
    pub fn replace_seg(&mut self, seg: SegDocument, restored: bool) {
        self.seg = seg;
        // The new document's labels all come due; a running job's reply is stale.
        self.stats.clear();
        self.stats_due.clear();
        self.stats_running = false;
        self.stats_epoch += 1;
        self.grow_preview = None;
        self.stroke = None;
        self.upload_all = true;
        if let Some(first) = self.label_set().labels.first()
            && self.label_set().get(self.active_label).is_none()
        {
            self.active_label = first.value;
        }
        self.touch_display();
        if restored {
            self.dirty = true;
        }
    }

    /// Statistics match the map: nothing changed since, nothing running.
    pub fn stats_current(&self) -> bool {
        !self.stats_running && self.stats_due.is_empty() && !self.seg.has_changed_labels()
    }

    /// The labels whose statistics must be recomputed, each with a box
    /// holding its voxels (`None`: the label has none left).
    pub fn take_stats_due(&mut self) -> std::collections::BTreeMap<u8, Option<VoxelBox>> {
        for (label, bx) in self.seg.take_changed_labels() {
            self.stats_due.insert(label, bx);
            self.surfaces_due.insert(label);
        }
        std::mem::take(&mut self.stats_due)
    }

    /// Fresh statistics of `labels` (those absent from `fresh` have no voxels).
    pub fn apply_stats(&mut self, labels: &[u8], fresh: Vec<LabelStats>) {
        self.stats.retain(|s| !labels.contains(&s.label));
        self.stats.extend(fresh);
        self.stats.sort_by_key(|s| s.label);
    }

    /// The label map (one label per voxel on the image grid).
    pub fn labels(&self) -> &[u8] {
        self.seg.labels()
    }

    pub fn label_set(&self) -> &LabelSet {
        self.seg.label_set()
    }

    /// Replaces the label map (e.g. loaded from a file); clears undo.
    pub fn set_labels(
        &mut self,
        labels: Vec<u8>,
        label_set: Option<LabelSet>,
    ) -> Result<(), String> {
        let mut set = label_set.unwrap_or_default();
        for value in 1..=255u8 {
            if set.get(value).is_none() && labels.contains(&value) {
                set.labels
                    .push(LabelInfo::new(value, format!("Label {value}")));
            }
        }
        if set.labels.is_empty() {
            set.labels.push(LabelInfo::new(1, "Lesion"));
        }
        self.active_label = set.labels[0].value;
        self.seg.load(labels, set, "file").map_err(err)?;
        self.grow_preview = None;
        self.upload_all = true;
        self.touch_labels();
        self.dirty = false;
        Ok(())
    }

    /// Replaces the label set (names, colours, visibility, locks) as one edit.
    pub fn set_label_set(&mut self, set: LabelSet) -> Result<(), String> {
        if &set != self.label_set() {
            self.seg.set_label_set(set).map_err(err)?;
            self.dirty = true;
            self.display_version += 1;
        }
        Ok(())
    }

    fn touch_labels(&mut self) {
        self.touch_display();
        self.dirty = true;
    }

    /// The displayed map changed on the CPU: the boxes the document changed
    /// (and any preview box marked) are uploaded.
    fn touch_display(&mut self) {
        self.labels_version += 1;
        self.upload_version += 1;
        let boxes = self.seg.take_changed_boxes();
        self.upload_boxes.extend(boxes);
    }

    /// Makes the GPU take the whole CPU copy again (after a GPU edit failed,
    /// a load, a new document).
    pub fn force_upload(&mut self) {
        self.upload_all = true;
        self.touch_display();
    }

    /// What the display must upload: (whole map?, boxes otherwise).
    pub fn take_uploads(&mut self) -> (bool, Vec<VoxelBox>) {
        let boxes = self.seg.take_changed_boxes();
        self.upload_boxes.extend(boxes);
        let all = std::mem::take(&mut self.upload_all);
        (all, std::mem::take(&mut self.upload_boxes))
    }

    /// The displayed labels of one box (the map with the preview painted in).
    pub fn display_box(&self, bx: &VoxelBox) -> Vec<u8> {
        let shape = self.volume.shape;
        let mut out = crate::annotate::document::change::gather(self.labels(), shape, bx);
        if let Some(p) = self.seg.preview()
            && p.region.is_some()
        {
            let size = bx.size();
            for (n, v) in out.iter_mut().enumerate() {
                let ijk = [
                    bx.min[0] + n % size[0],
                    bx.min[1] + (n / size[0]) % size[1],
                    bx.min[2] + n / (size[0] * size[1]),
                ];
                if let Some(l) = p.shown_at(ijk) {
                    *v = l;
                }
            }
        }
        out
    }

    /// Boxes of GPU brush strokes were copied into the map (already on the GPU).
    pub fn gpu_strokes_applied(&mut self, voxels_changed: u64) {
        self.labels_version += 1;
        if voxels_changed > 0 {
            self.dirty = true;
        }
    }

    /// Labels to display: the map with the grow preview painted in.
    pub fn display_labels(&self) -> std::borrow::Cow<'_, [u8]> {
        let Some(p) = self.seg.preview() else {
            return std::borrow::Cow::Borrowed(self.labels());
        };
        let mut shown = self.labels().to_vec();
        if let Some(bx) = p.region {
            let shape = self.volume.shape;
            let mut at = 0;
            for k in bx.min[2]..=bx.max[2] {
                for j in bx.min[1]..=bx.max[1] {
                    for i in bx.min[0]..=bx.max[0] {
                        if p.mask[at] != 0 {
                            let l = p.after.as_ref().map_or(p.label, |a| a[at]);
                            shown[i + shape[0] * (j + shape[1] * k)] = l;
                        }
                        at += 1;
                    }
                }
            }
        }
        std::borrow::Cow::Owned(shown)
    }

    /// The label shown at a voxel (the preview's where it covers it).
    pub fn display_label_at(&self, ijk: [usize; 3]) -> Option<u8> {
        if let Some(p) = self.seg.preview()
            && p.contains(ijk)
        {
            return Some(p.label);
        }
        self.label_at(ijk)
    }

    pub fn label_at(&self, ijk: [usize; 3]) -> Option<u8> {
        let n = self.volume.linear_index(ijk)?;
        self.labels().get(n).copied()
    }

    /// Voxels currently holding `label` (kept per edit, no scan).
    pub fn count_label(&self, label: u8) -> usize {
        self.seg.voxel_count(label) as usize
    }

    /// A stroke is being painted.
    pub fn in_stroke(&self) -> bool {
        self.stroke.is_some()
    }

    /// Starts a brush/eraser stroke: one undo step and one journal entry at its end.
    pub fn begin_stroke(&mut self) {
        self.drop_preview();
        self.seg.begin_stroke();
        self.stroke = None;
    }

    /// Remembers a segment of the stroke in progress (for the journal's polyline).
    pub fn note_segment(&mut self, segment: &BrushStroke) {
        match &mut self.stroke {
            Some(s) => s
                .points_ras_mm
                .extend(segment.points_ras_mm.iter().skip(1).copied()),
            None => self.stroke = Some(segment.clone()),
        }
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

    /// Applies a segment with the exact CPU reference (no GPU, or its
    /// fallback), inside the stroke in progress (or as a stroke of its own).
    pub fn apply_cpu_stroke(&mut self, stroke: &BrushStroke) -> Result<u64, String> {
        if !self.in_stroke() && !self.seg.stroke_open() {
            let out = self.seg.brush(stroke, None).map_err(err)?;
            if out.voxels_changed > 0 {
                self.touch_labels();
            }
            return Ok(out.voxels_changed);
        }
        self.note_segment(stroke);
        let shape = self.volume.shape;
        let Some(bx) =
            brush::stroke_bounds(stroke, shape, &self.volume.ras_from_voxel).map_err(err)?
        else {
            return Ok(0);
        };
        let volume = self.volume.clone();
        let map = self.seg.stroke_labels_mut(bx);
        let changed = brush::cpu::apply_stroke(&volume, map, stroke).map_err(err)?;
        self.upload_boxes.push(bx);
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
            locked_bits: self.label_set().locked_bits(),
        }
    }

    /// Ends the stroke: one undo step and one journal entry over its box.
    pub fn end_stroke(&mut self, _erase: bool) -> Result<bool, String> {
        let Some(stroke) = self.stroke.take() else {
            // Nothing was painted: close the (empty) record.
            self.seg.cancel_stroke();
            return Ok(false);
        };
        let out = self.seg.end_stroke(&stroke).map_err(err)?;
        // Its pieces are on the GPU already (GPU brush) or were uploaded as
        // painted (CPU): re-uploading the box could overwrite a newer GPU stroke.
        let _ = self.seg.take_changed_boxes();
        Ok(out.voxels_changed > 0)
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

    fn drop_preview(&mut self) {
        self.grow_preview = None;
        if let Some(bx) = self.seg.preview().and_then(|p| p.region) {
            self.upload_boxes.push(bx);
        }
        if self.seg.cancel_preview() {
            self.touch_display();
        }
    }

    fn undo_redo(&mut self, redo: bool) -> Result<Option<String>, String> {
        self.drop_preview();
        let op = if redo { EditOp::Redo } else { EditOp::Undo };
        let out = self.seg.apply(&op).map_err(err)?;
        let Some(what) = out.undone_edit else {
            return Ok(None);
        };
        self.touch_labels();
        self.display_version += 1;
        if self.label_set().get(self.active_label).is_none()
            && let Some(first) = self.label_set().labels.first()
        {
            self.active_label = first.value;
        }
        Ok(Some(what))
    }

    pub fn undo(&mut self) -> Result<Option<String>, String> {
        self.undo_redo(false)
    }

    pub fn redo(&mut self) -> Result<Option<String>, String> {
        self.undo_redo(true)
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
        request.locked_bits = self.label_set().locked_bits();
        Ok(request)
    }

    /// Installs a computed preview (from the worker); stale ones are dropped by the caller.
    pub fn set_grow_preview(&mut self, preview: GrowPreview) {
        // The old preview's box shows the map again; the new one's, the region.
        if let Some(bx) = self.seg.preview().and_then(|p| p.region) {
            self.upload_boxes.push(bx);
        }
        if let Some(bx) = preview.region.region {
            self.upload_boxes.push(bx);
        }
        self.seg.set_preview(preview.region.clone());
        self.grow_preview = Some(preview);
        self.touch_display();
    }

    /// Commits the preview as one undoable edit.
    pub fn accept_grow(&mut self) -> Result<bool, String> {
        if self.grow_preview.take().is_none() {
            return Ok(false);
        }
        // Locked voxels shown in the preview revert to the map.
        if let Some(bx) = self.seg.preview().and_then(|p| p.region) {
            self.upload_boxes.push(bx);
        }
        self.seg.accept_preview().map_err(err)?;
        self.touch_labels();
        Ok(true)
    }

    pub fn cancel_grow(&mut self) {
        self.drop_preview();
    }

    /// Shows a computed preview (grow from seeds) in place of any other.
    pub fn set_region_preview(&mut self, preview: RegionPreview) {
        if let Some(bx) = self.seg.preview().and_then(|p| p.region) {
            self.upload_boxes.push(bx);
        }
        if let Some(bx) = preview.region {
            self.upload_boxes.push(bx);
        }
        self.grow_preview = None;
        self.seg.set_preview(preview);
        self.touch_display();
    }

    /// Commits the preview shown as one undoable edit; false when none.
    pub fn accept_region_preview(&mut self) -> Result<bool, String> {
        let Some(bx) = self.seg.preview().and_then(|p| p.region) else {
            self.drop_preview();
            return Ok(false);
        };
        // Locked voxels shown in the preview revert to the map.
        self.upload_boxes.push(bx);
        self.grow_preview = None;
        self.seg.accept_preview().map_err(err)?;
        self.touch_labels();
        self.display_version += 1;
        Ok(true)
    }

    /// Drops the preview shown, if any.
    pub fn cancel_preview(&mut self) {
        self.drop_preview();
    }

    /// Applies one edit request (an effect) as one undoable, journaled edit.
    pub fn apply_op(&mut self, op: &EditOp) -> Result<EditOutcome, String> {
        self.drop_preview();
        let out = self.seg.apply(op).map_err(err)?;
        self.touch_labels();
        self.display_version += 1;
        Ok(out)
    }

    /// Adds a label with the lowest free value; returns it.
    pub fn add_label(&mut self) -> Option<u8> {
        let value = (1..=255u8).find(|v| self.label_set().get(*v).is_none())?;
        self.seg
            .add_label(LabelInfo::new(value, format!("Label {value}")))
            .ok()?;
        self.active_label = value;
        self.dirty = true;
        self.display_version += 1;
        Some(value)
    }

    pub fn rename_label(&mut self, value: u8, name: &str) -> bool {
        let mut set = self.label_set().clone();
        match set.get_mut(value) {
            Some(info) => {
                info.name = name.to_owned();
                self.set_label_set(set).is_ok()
            }
            None => false,
        }
    }

    /// Deletes a label and clears its voxels (undoable).
    pub fn delete_label(&mut self, value: u8) -> Result<(), String> {
        self.drop_preview();
        self.seg.delete_label(value).map_err(err)?;
        if self.active_label == value {
            self.active_label = self.label_set().labels.first().map_or(1, |l| l.value);
        }
        self.touch_labels();
        self.display_version += 1;
        Ok(())
    }
}

/// Runs a grow on a worker thread: on the GPU when the app has one (the same
/// kernel as `rayseg grow`), else with the exact CPU reference. Only the
/// region's box is kept.
pub fn compute_grow_preview(
    volume: &Arc<Volume>,
    labels: &[u8],
    request: &GrowRequest,
    settings: GrowSettings,
    gpu: Option<(&super::gpu_grow::GpuGrow, u64)>,
) -> Result<GrowPreview, String> {
    let (bits, outcome) = match gpu {
        Some((gpu, volume_id)) => gpu.grow_region(volume, volume_id, labels, request)?,
        None => grow_region_cpu(volume, labels, request).map_err(err)?,
    };
    let seeds_mm: Vec<[f64; 3]> = request
        .seeds_ijk
        .iter()
        .map(|s| {
            let ijk = DVec3::new(f64::from(s[0]), f64::from(s[1]), f64::from(s[2]));
            volume.ras_from_index(ijk).to_array()
        })
        .collect();
    let params = serde_json::json!({
        "label": request.label,
        "seeds_mm": seeds_mm,
        "seed_ijk": request.seeds_ijk,
        "lower": request.lower,
        "upper": request.upper,
        "connectivity": request.connectivity.neighbours(),
        "max_distance_mm": request.max_distance_mm,
    });
    Ok(GrowPreview {
        seed_ijk: request.seeds_ijk.first().copied().unwrap_or_default(),
        settings,
        region: RegionPreview::from_bits(&bits, request.label, "grow", params),
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
