//! The four viewports: geometry, mouse handling and overlays. GPU work is handed
//! to [`ViewCallback`] (compute in `prepare`, a textured quad in `paint`).

use std::sync::Arc;

use egui::{Align2, Color32, FontId, PointerButton, Pos2, Rect, Sense, Stroke, Vec2};
use glam::{DVec2, DVec3};

use super::gpu_callback::{GpuStats, LabelsUpload, SurfaceItem, ViewCallback, ViewJob, ViewKind};
use super::gpu_edits::GpuEdits;
use super::state::{BrushSettings, Document, Tool};
use super::surfaces::SurfaceCache;
use crate::render::labels::label_lut_for;
use crate::render::mpr::{
    Convention, LabelMode, SliceGeometry, SliceParams, SlicePlane, SlicePosition,
};
use crate::render::raymarch::{Camera, ClipBox, RenderMode, RenderSettings, TransferPreset};
use crate::render::window::{Lut, Window};

/// Most pixels along either side of an MPR image (bounds GPU work on huge windows).
pub(super) const MAX_MPR_PX: f32 = 1024.0;

/// Zoom and pan of one slice view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SliceViewState {
    pub zoom: f64,
    /// Pan of the view centre along screen right/down (mm).
    pub pan_mm: DVec2,
}

impl Default for SliceViewState {
    fn default() -> Self {
        SliceViewState {
            zoom: 1.0,
            pan_mm: DVec2::ZERO,
        }
    }
}

/// What the mouse is over (status bar).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HoverInfo {
    pub ras_mm: DVec3,
    pub ijk: Option<[usize; 3]>,
    pub value: Option<f64>,
    pub label: Option<u8>,
}

/// Viewer state shared by the views (not part of the saved document).
pub struct ViewerState {
    /// The linked crosshair point; each slice view passes through it.
    pub cursor_ras_mm: DVec3,
    pub window: Window,
    pub lut: Lut,
    pub convention: Convention,
    pub label_mode: LabelMode,
    pub slices: [SliceViewState; 3],
    pub camera: Camera,
    pub mode_3d: RenderMode,
    pub transfer: TransferPreset,
    pub label_opacity_3d: f32,
    pub clip_enabled: bool,
    /// Clip box as fractions 0..=1 of the grid along i, j, k.
    pub clip_lo: [f64; 3],
    pub clip_hi: [f64; 3],
    /// Largest side of the 3-D image when idle; interaction uses a quarter of the pixels.
    pub max_3d_px: u32,
    pub last_3d_interaction_s: f64,
    pub maximised: Option<ViewKind>,
    pub hover: Option<HoverInfo>,
    /// The slice view a brush stroke started in.
    pub stroke_view: Option<ViewKind>,
    pub last_stroke_ras: Option<DVec3>,
    /// Set when labels changed; the 3-D brick grid follows once edits pause.
    pub last_edit_s: f64,
    pub bricks_labels_version: u64,
    /// Draw labels in 3-D as smooth shaded surfaces (else as voxels).
    pub label_surfaces: bool,
    /// The labels' surface meshes, rebuilt on a worker as labels change.
    pub surfaces: SurfaceCache,
}

impl ViewerState {
    pub fn new(doc: &Document) -> Self {
        let vol = &doc.volume;
        let centre =
            vol.ras_from_index(DVec3::from_array(vol.shape.map(|n| (n as f64 - 1.0) / 2.0)));
        ViewerState {
            cursor_ras_mm: centre,
            window: crate::render::window::default_window(vol),
            lut: Lut::Grey,
            convention: Convention::Radiological,
            label_mode: LabelMode::Fill,
            slices: [SliceViewState::default(); 3],
            camera: Camera::fit(vol, 0.0, 0.0),
            mode_3d: RenderMode::Mip,
            transfer: TransferPreset::CtBone,
            label_opacity_3d: 0.6,
            clip_enabled: false,
            clip_lo: [0.0; 3],
            clip_hi: [1.0; 3],
            max_3d_px: 256,
            last_3d_interaction_s: -10.0,
            maximised: None,
            hover: None,
            stroke_view: None,
            last_stroke_ras: None,
            last_edit_s: -10.0,
            bricks_labels_version: doc.labels_version,
            label_surfaces: true,
            surfaces: SurfaceCache::default(),
        }
    }

    /// Label surfaces are being built for the 3-D view.
    pub fn surfaces_busy(&self) -> bool {
        self.label_surfaces && self.surfaces.busy()
    }
}

pub fn plane_of(kind: ViewKind) -> Option<SlicePlane> {
    match kind {
        ViewKind::Axial => Some(SlicePlane::Axial),
        ViewKind::Coronal => Some(SlicePlane::Coronal),
        ViewKind::Sagittal => Some(SlicePlane::Sagittal),
        ViewKind::Volume3d => None,
    }
}

pub(super) fn slice_index(plane: SlicePlane) -> usize {
    match plane {
        SlicePlane::Axial => 0,
        SlicePlane::Coronal => 1,
        SlicePlane::Sagittal => 2,
    }
}

/// The slice through the crosshair, fitted to `size_px`, then zoomed and panned.
pub fn slice_geometry(
    doc: &Document,
    viewer: &ViewerState,
    plane: SlicePlane,
    size_px: [u32; 2],
) -> Result<SliceGeometry, String> {
    let s = viewer.slices[slice_index(plane)];
    slice_geometry_of(
        &doc.volume,
        viewer.cursor_ras_mm,
        viewer.convention,
        s,
        plane,
        size_px,
    )
}

/// The slice of `vol` through `cursor_ras_mm` (in `vol`'s RAS), fitted to
/// `size_px`, then zoomed and panned by `s`.
pub fn slice_geometry_of(
    vol: &crate::volume::Volume,
    cursor_ras_mm: DVec3,
    convention: Convention,
    s: SliceViewState,
    plane: SlicePlane,
    size_px: [u32; 2],
) -> Result<SliceGeometry, String> {
    let (_, _, normal) = plane.screen_axes(convention);
    let depth_mm = cursor_ras_mm.dot(normal);
    let base = SliceGeometry::new(
        vol.shape,
        vol.ras_from_voxel,
        plane,
        SlicePosition::Mm(depth_mm),
        convention,
    )
    .and_then(|g| g.resized(size_px[0], size_px[1]))
    .map_err(|e| e.to_string())?;
    let half = DVec2::new(
        (size_px[0] as f64 - 1.0) / 2.0,
        (size_px[1] as f64 - 1.0) / 2.0,
    );
    let centre = base.pixel_to_ras(half.x, half.y)
        + base.right_ras * s.pan_mm.x
        + base.down_ras * s.pan_mm.y;
    let px_mm = base.spacing_mm[0] / s.zoom.clamp(0.05, 50.0);
    Ok(SliceGeometry {
        origin_ras: centre - base.right_ras * (half.x * px_mm) - base.down_ras * (half.y * px_mm),
        spacing_mm: [px_mm, px_mm],
        ..base
    })
}

/// Per-frame inputs the views need besides the document.
pub struct ViewInputs<'a> {
    pub tool: Tool,
    pub brush: &'a BrushSettings,
    /// The GPU brush; None = paint with the CPU reference.
    pub gpu_edits: Option<&'a GpuEdits>,
    /// The last stroke still waits for its GPU boxes: no new stroke yet.
    pub stroke_ending: bool,
    /// Where `prepare` publishes the image texture for region growing.
    pub image_slot: Option<super::gpu_grow::SharedImage>,
    pub labels: &'a LabelsUpload,
    pub target_format: Option<wgpu::TextureFormat>,
    pub stats: &'a Arc<GpuStats>,
    pub now_s: f64,
    /// The second image, drawn fused over the slices when so set.
    pub second: Option<&'a super::second_image::SecondImage>,
}

/// Things a view asks the app to do.
#[derive(Debug, PartialEq)]
pub enum ViewAction {
    GrowSeed([u32; 3]),
    /// The mouse was released: record the stroke as one undo step once it is back.
    EndStroke {
        erase: bool,
    },
    Error(String),
}

/// Wheel movement this frame without Ctrl/Cmd (those zoom), summed over events, so
/// one notch steps one slice regardless of smooth scrolling.
pub(super) fn wheel_y(i: &egui::InputState) -> f32 {
    i.raw
        .events
        .iter()
        .filter_map(|e| match e {
            egui::Event::MouseWheel {
                delta, modifiers, ..
            } if !modifiers.command => Some(delta.y),
            _ => None,
        })
        .sum()
}

pub(super) fn to_pixel(geom: &SliceGeometry, rect: Rect, pos: Pos2) -> (f64, f64) {
    let fx = ((pos.x - rect.min.x) / rect.width()) as f64 * geom.size[0] as f64 - 0.5;
    let fy = ((pos.y - rect.min.y) / rect.height()) as f64 * geom.size[1] as f64 - 0.5;
    (fx, fy)
}

fn to_screen(geom: &SliceGeometry, rect: Rect, px: (f64, f64)) -> Pos2 {
    Pos2::new(
        rect.min.x + ((px.0 + 0.5) / geom.size[0] as f64) as f32 * rect.width(),
        rect.min.y + ((px.1 + 0.5) / geom.size[1] as f64) as f32 * rect.height(),
    )
}

/// Whether the 3-D view has labels to draw: a stroke in progress, a grow preview,
/// statistics not yet caught up with the map (assume so), or a labelled voxel
/// whose colour shows. Without, the image is drawn alone (no label fetch per
/// sample; column rays).
fn labels_to_draw(doc: &Document, lut: &[u32]) -> bool {
    let shown = |label: u8| lut.get(usize::from(label)).is_some_and(|c| c >> 24 != 0);
    doc.in_stroke()
        || doc.grow_preview.is_some()
        || !doc.stats_current()
        || doc.stats.iter().any(|s| s.voxels > 0 && shown(s.label))
}

/// The labels panel's colours and visibility for the 3-D view, each label's
/// opacity scaled by the 3-D label-opacity slider.
fn label_lut_3d(set: &crate::annotate::labels::LabelSet, opacity_3d: f32) -> Vec<u32> {
    label_lut_for(set, 1.0)
        .into_iter()
        .map(|rgba| {
            let [r, g, b, a] = rgba.to_le_bytes();
            let a = (f32::from(a) * opacity_3d.clamp(0.0, 1.0)).round() as u8;
            u32::from_le_bytes([r, g, b, a])
        })
        .collect()
}

pub fn hover_info(doc: &Document, ras_mm: DVec3) -> HoverInfo {
    let idx = doc.volume.index_from_ras(ras_mm).round();
    let inside = (0..3).all(|a| idx[a] >= 0.0 && (idx[a] as usize) < doc.volume.shape[a]);
    let ijk = inside.then_some([idx.x as usize, idx.y as usize, idx.z as usize]);
    HoverInfo {
        ras_mm,
        ijk,
        value: ijk.and_then(|i| doc.volume.value_at(i)),
        label: ijk.and_then(|i| doc.display_label_at(i)),
    }
}

/// One slice view: interaction, GPU callback and overlays.
pub fn slice_view(
    ui: &mut egui::Ui,
    rect: Rect,
    kind: ViewKind,
    plane: SlicePlane,
    doc: &mut Document,
    viewer: &mut ViewerState,
    inputs: &ViewInputs,
) -> Vec<ViewAction> {
    let mut actions = Vec::new();
    let id = ui.scope_id().with(kind.name());
    let response = ui
        .interact(rect, id, Sense::click_and_drag())
        .on_hover_text_at_pointer("")
        .on_hover_cursor(egui::CursorIcon::Crosshair);
    let ppp = ui.ctx().pixels_per_point();
    let scale = (ppp).min(MAX_MPR_PX / rect.width().max(rect.height()).max(1.0));
    let size_px = [
        ((rect.width() * scale).round() as u32).max(1),
        ((rect.height() * scale).round() as u32).max(1),
    ];
    let geom = match slice_geometry(doc, viewer, plane, size_px) {
        Ok(g) => g,
        Err(e) => {
            actions.push(ViewAction::Error(e));
            return actions;
        }
    };
    let si = slice_index(plane);
    let (mods, scroll_y, zoom_delta, primary_down, pointer) = ui.input(|i| {
        (
            i.modifiers,
            wheel_y(i),
            i.zoom_delta(),
            i.pointer.primary_down(),
            i.pointer.hover_pos(),
        )
    });
    let hovered_pos = pointer.filter(|p| rect.contains(*p));

    if let Some(pos) = hovered_pos {
        let (px, py) = to_pixel(&geom, rect, pos);
        viewer.hover = Some(hover_info(doc, geom.pixel_to_ras(px, py)));
        // Wheel steps slices; Ctrl+wheel (egui's zoom gesture) zooms.
        if zoom_delta != 1.0 {
            viewer.slices[si].zoom = (viewer.slices[si].zoom * zoom_delta as f64).clamp(0.05, 50.0);
        } else if scroll_y != 0.0 {
            viewer.cursor_ras_mm +=
                geom.normal_ras * geom.normal_step_mm * scroll_y.signum() as f64;
        }
        let (up, down) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::PageUp) || i.key_pressed(egui::Key::ArrowUp),
                i.key_pressed(egui::Key::PageDown) || i.key_pressed(egui::Key::ArrowDown),
            )
        });
        if up || down {
            let sign = if up { 1.0 } else { -1.0 };
            viewer.cursor_ras_mm += geom.normal_ras * geom.normal_step_mm * sign;
        }
    }

    // Camera-like gestures work in every tool: right/Ctrl drag zooms, middle/Shift drag pans.
    let delta = response.drag_delta();
    let zooming = response.dragged_by(PointerButton::Secondary)
        || (response.dragged_by(PointerButton::Primary) && mods.command);
    let panning = response.dragged_by(PointerButton::Middle)
        || (response.dragged_by(PointerButton::Primary) && mods.shift);
    if zooming {
        viewer.slices[si].zoom =
            (viewer.slices[si].zoom * (1.0 - delta.y as f64 * 0.01)).clamp(0.05, 50.0);
    } else if panning {
        let mm_per_point = geom.spacing_mm[0] * geom.size[0] as f64 / rect.width() as f64;
        viewer.slices[si].pan_mm -= DVec2::new(delta.x as f64, delta.y as f64) * mm_per_point;
    } else if let Some(pos) = hovered_pos.or(response.interact_pointer_pos()) {
        let (px, py) = to_pixel(&geom, rect, pos);
        let ras = geom.pixel_to_ras(px, py);
        match inputs.tool {
            Tool::Navigate => {
                if response.is_pointer_button_down_on() && primary_down {
                    viewer.cursor_ras_mm = ras;
                }
            }
            Tool::WindowLevel => {
                if response.dragged_by(PointerButton::Primary) {
                    let w = viewer.window.width.max(1.0);
                    viewer.window.width = (w + delta.x as f64 * w / 200.0).max(1.0);
                    viewer.window.center += delta.y as f64 * w / 400.0;
                }
            }
            Tool::Brush | Tool::Eraser | Tool::Seeds => {
                let erase = inputs.tool == Tool::Eraser;
                let may_start = viewer.last_stroke_ras.is_some() || !inputs.stroke_ending;
                // A press and release within one frame (a quick click) paints a dot.
                let quick_click =
                    response.clicked_by(PointerButton::Primary) && viewer.last_stroke_ras.is_none();
                if (response.is_pointer_button_down_on() && primary_down || quick_click)
                    && may_start
                {
                    let points = match viewer.last_stroke_ras {
                        None => {
                            doc.begin_stroke();
                            viewer.stroke_view = Some(kind);
                            vec![ras]
                        }
                        Some(last) => vec![last, ras],
                    };
                    if viewer.last_stroke_ras != Some(ras) {
                        let stroke = doc.brush_stroke(points, inputs.brush, erase, Some(plane));
                        match inputs.gpu_edits {
                            Some(gpu) => {
                                doc.note_segment(&stroke);
                                gpu.submit(doc.volume_id, stroke)
                            }
                            None => {
                                if let Err(e) = doc.apply_cpu_stroke(&stroke) {
                                    actions.push(ViewAction::Error(e));
                                }
                            }
                        }
                        viewer.last_edit_s = inputs.now_s;
                    }
                    viewer.last_stroke_ras = Some(ras);
                }
            }
            Tool::Effects => {}
            Tool::Grow => {
                if response.clicked_by(PointerButton::Primary) {
                    match hover_info(doc, ras).ijk {
                        Some(ijk) => actions.push(ViewAction::GrowSeed(ijk.map(|n| n as u32))),
                        None => actions.push(ViewAction::Error(
                            "the seed must lie inside the image".into(),
                        )),
                    }
                }
            }
        }
    }
    if viewer.stroke_view == Some(kind) && !primary_down {
        viewer.stroke_view = None;
        viewer.last_stroke_ras = None;
        actions.push(ViewAction::EndStroke {
            erase: inputs.tool == Tool::Eraser,
        });
    }
    if response.double_clicked() {
        viewer.maximised = if viewer.maximised.is_some() {
            None
        } else {
            Some(kind)
        };
    }

    // GPU image.
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    if let Some(format) = inputs.target_format {
        let mut params = SliceParams::new(geom.clone(), viewer.window);
        params.lut = viewer.lut;
        params.label_mode = viewer.label_mode;
        params.label_opacity = doc
            .label_set()
            .get(doc.active_label)
            .map_or(0.5, |l| l.opacity);
        // Each label's own colour, opacity and visibility (the labels panel).
        params.label_colors = Some(label_lut_for(doc.label_set(), params.label_opacity));
        params.crosshair_ras = Some(viewer.cursor_ras_mm);
        painter.add(egui_wgpu::Callback::new_paint_callback(
            rect,
            ViewCallback {
                kind,
                volume_id: doc.volume_id,
                volume: doc.volume.clone(),
                labels: inputs.labels.clone(),
                edits: inputs.gpu_edits.map(|g| g.shared.clone()),
                image_slot: inputs.image_slot.clone(),
                job: ViewJob::Mpr(Box::new(params)),
                surface_meshes: Default::default(),
                target_format: format,
                stats: inputs.stats.clone(),
            },
        ));
        // The fusion overlay, blended over the slice just drawn.
        if let Some(overlay) = inputs.second.and_then(|s| {
            s.overlay_callback(kind, &geom, viewer.cursor_ras_mm, format, inputs.stats)
        }) {
            painter.add(egui_wgpu::Callback::new_paint_callback(rect, overlay));
        }
    }
    slice_overlays(&painter, rect, &geom, kind, viewer, inputs, hovered_pos);
    actions
}

fn slice_overlays(
    painter: &egui::Painter,
    rect: Rect,
    geom: &SliceGeometry,
    kind: ViewKind,
    viewer: &ViewerState,
    inputs: &ViewInputs,
    hovered: Option<Pos2>,
) {
    let font = FontId::proportional(13.0);
    let text = Color32::from_rgb(230, 230, 120);
    let letters = geom.edge_letters();
    let m = 4.0;
    painter.text(
        Pos2::new(rect.center().x, rect.min.y + m),
        Align2::CENTER_TOP,
        letters.top,
        font.clone(),
        text,
    );
    painter.text(
        Pos2::new(rect.center().x, rect.max.y - m),
        Align2::CENTER_BOTTOM,
        letters.bottom,
        font.clone(),
        text,
    );
    painter.text(
        Pos2::new(rect.min.x + m, rect.center().y),
        Align2::LEFT_CENTER,
        letters.left,
        font.clone(),
        text,
    );
    painter.text(
        Pos2::new(rect.max.x - m, rect.center().y),
        Align2::RIGHT_CENTER,
        letters.right,
        font.clone(),
        text,
    );
    let depth_mm = viewer.cursor_ras_mm.dot(geom.normal_ras);
    let axis = ["S", "A", "R"][slice_index(geom.plane)];
    painter.text(
        rect.min + Vec2::new(m, m),
        Align2::LEFT_TOP,
        format!("{}  {axis} {depth_mm:.1} mm", kind.name()),
        font.clone(),
        Color32::WHITE,
    );
    // Scale bar: a round length near a quarter of the view width.
    let mm_per_point = geom.spacing_mm[0] * geom.size[0] as f64 / rect.width() as f64;
    let target_mm = mm_per_point * rect.width() as f64 / 4.0;
    let bar_mm = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        .into_iter()
        .rev()
        .find(|&b| b <= target_mm)
        .unwrap_or(1.0);
    let bar_pts = (bar_mm / mm_per_point) as f32;
    let y = rect.max.y - 22.0;
    let x0 = rect.min.x + 10.0;
    painter.line_segment(
        [Pos2::new(x0, y), Pos2::new(x0 + bar_pts, y)],
        Stroke::new(2.0, Color32::WHITE),
    );
    painter.text(
        Pos2::new(x0, y - 3.0),
        Align2::LEFT_BOTTOM,
        format!("{bar_mm} mm"),
        FontId::proportional(11.0),
        Color32::WHITE,
    );
    // Live brush footprint.
    if let (Some(pos), Tool::Brush | Tool::Eraser | Tool::Seeds) = (hovered, inputs.tool) {
        let r = (inputs.brush.radius_mm / mm_per_point) as f32;
        let colour = if inputs.tool == Tool::Eraser {
            Color32::LIGHT_RED
        } else {
            Color32::LIGHT_GREEN
        };
        painter.circle_stroke(pos, r, Stroke::new(1.5, colour));
    }
    let _ = to_screen;
}

/// The surfaces to draw (visible labels that have one), each label's opacity
/// scaled by the 3-D label-opacity slider (doubled: a surface is one layer, and a
/// label's own opacity defaults to one half), and `lut` with those labels made
/// transparent, so that the raymarch does not draw them as voxels too. Labels
/// being changed (a stroke, a preview) stay voxels as well until their surface
/// is rebuilt.
fn surface_items(doc: &Document, viewer: &ViewerState, lut: &mut [u32]) -> Vec<SurfaceItem> {
    let meshes = viewer.surfaces.meshes();
    let preview = doc.seg.preview();
    let changing = |label: u8| {
        (doc.in_stroke() && label == doc.active_label)
            || preview.is_some_and(|p| p.label == label || p.after.is_some())
    };
    let mut items = Vec::new();
    for info in doc.label_set().labels.iter().filter(|l| l.value != 0) {
        let Some(surface) = meshes.get(&info.value) else {
            continue;
        };
        if !changing(info.value)
            && let Some(c) = lut.get_mut(usize::from(info.value))
        {
            *c = 0;
        }
        if !info.visible {
            continue;
        }
        let [r, g, b] = info.color.map(|c| f32::from(c) / 255.0);
        let alpha = (2.0 * info.opacity * viewer.label_opacity_3d).clamp(0.0, 1.0);
        if alpha > 0.0 {
            items.push(SurfaceItem {
                label: info.value,
                mesh_id: surface.id,
                rgba: [r, g, b, alpha],
            });
        }
    }
    items
}

/// The 3-D view: orbit/zoom/pan and the raymarch callback at reduced size while interacting.
pub fn volume_view(
    ui: &mut egui::Ui,
    rect: Rect,
    doc: &mut Document,
    viewer: &mut ViewerState,
    inputs: &ViewInputs,
) -> Vec<ViewAction> {
    if viewer.label_surfaces {
        viewer.surfaces.poll(doc);
        if viewer.surfaces.busy() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(50));
        }
    }
    let kind = ViewKind::Volume3d;
    let response = ui.interact(
        rect,
        ui.scope_id().with(kind.name()),
        Sense::click_and_drag(),
    );
    let (mods, scroll_y, zoom_delta, pointer) = ui.input(|i| {
        (
            i.modifiers,
            wheel_y(i),
            i.zoom_delta(),
            i.pointer.hover_pos(),
        )
    });
    let delta = response.drag_delta();
    let mut moved = false;
    if response.dragged_by(PointerButton::Secondary)
        || (response.dragged_by(PointerButton::Primary) && mods.command)
    {
        viewer.camera.zoom(1.0 - delta.y as f64 * 0.01);
        moved = true;
    } else if response.dragged_by(PointerButton::Middle)
        || (response.dragged_by(PointerButton::Primary) && mods.shift)
    {
        let mm_per_point =
            viewer.camera.view_size_mm.x / viewer.camera.zoom / rect.width().max(1.0) as f64;
        viewer.camera.pan(
            -delta.x as f64 * mm_per_point,
            delta.y as f64 * mm_per_point,
        );
        moved = true;
    } else if response.dragged_by(PointerButton::Primary) {
        viewer
            .camera
            .orbit(-delta.x as f64 * 0.5, delta.y as f64 * 0.5);
        moved = true;
    }
    if pointer.is_some_and(|p| rect.contains(p)) {
        if zoom_delta != 1.0 {
            viewer.camera.zoom(zoom_delta as f64);
            moved = true;
        } else if scroll_y != 0.0 {
            viewer
                .camera
                .zoom(if scroll_y > 0.0 { 1.1 } else { 1.0 / 1.1 });
            moved = true;
        }
        viewer.hover = None;
    }
    if response.double_clicked() {
        viewer.maximised = if viewer.maximised.is_some() {
            None
        } else {
            Some(kind)
        };
    }
    if moved {
        viewer.last_3d_interaction_s = inputs.now_s;
    }
    // Reduced resolution while interacting (lavapipe needs seconds at full size);
    // refine after a short pause.
    let idle = inputs.now_s - viewer.last_3d_interaction_s > 0.4;
    if !idle {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(450));
    }
    let max_px = if idle {
        viewer.max_3d_px
    } else {
        (viewer.max_3d_px / 2).max(64)
    } as f32;
    let aspect = rect.width() / rect.height().max(1.0);
    let (w, h) = if aspect >= 1.0 {
        (max_px, max_px / aspect)
    } else {
        (max_px * aspect, max_px)
    };
    let (w, h) = ((w.round() as u32).max(8), (h.round() as u32).max(8));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    if let Some(format) = inputs.target_format {
        let mut settings = RenderSettings::new(viewer.mode_3d);
        settings.transfer = viewer.transfer.build(doc.volume.value_range());
        settings.window = match viewer.mode_3d {
            RenderMode::Mip | RenderMode::MinIp | RenderMode::Average => {
                Some((viewer.window.center, viewer.window.width))
            }
            _ => None,
        };
        settings.label_opacity = viewer.label_opacity_3d;
        let mut lut = label_lut_3d(doc.label_set(), viewer.label_opacity_3d);
        let surfaces = if viewer.label_surfaces {
            surface_items(doc, viewer, &mut lut)
        } else {
            Vec::new()
        };
        settings.draw_labels = labels_to_draw(doc, &lut);
        settings.label_colors = Some(lut);
        settings.jitter = false;
        if viewer.clip_enabled {
            let n = doc.volume.shape.map(|n| (n as f64 - 1.0).max(0.0));
            settings.clip_vox = Some(ClipBox {
                min: [0, 1, 2].map(|a| viewer.clip_lo[a] * n[a]),
                max: [0, 1, 2].map(|a| viewer.clip_hi[a] * n[a]),
            });
        }
        // Bricks follow the labels once edits pause for a second.
        if inputs.now_s - viewer.last_edit_s > 1.0 {
            viewer.bricks_labels_version = doc.labels_version;
        } else {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(1100));
        }
        painter.add(egui_wgpu::Callback::new_paint_callback(
            rect,
            ViewCallback {
                kind,
                volume_id: doc.volume_id,
                volume: doc.volume.clone(),
                labels: inputs.labels.clone(),
                edits: inputs.gpu_edits.map(|g| g.shared.clone()),
                image_slot: inputs.image_slot.clone(),
                surface_meshes: if surfaces.is_empty() {
                    Default::default()
                } else {
                    viewer.surfaces.meshes().clone()
                },
                job: ViewJob::Volume3d {
                    frame: viewer.camera.ray_frame(w, h, true),
                    settings: Box::new(settings),
                    bricks_labels_version: viewer.bricks_labels_version,
                    surfaces,
                },
                target_format: format,
                stats: inputs.stats.clone(),
            },
        ));
    }
    let mode = format!(
        "3-D  {:?}{}",
        viewer.mode_3d,
        if idle { "" } else { "  (preview)" }
    );
    painter.text(
        rect.min + Vec2::new(4.0, 4.0),
        Align2::LEFT_TOP,
        mode,
        FontId::proportional(13.0),
        Color32::WHITE,
    );
    Vec::new()
}
