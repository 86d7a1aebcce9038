//! The Effects tool: Slicer's segment-editor effects on the active label
//! (islands, margin, hollow, smoothing, fill holes, fill between slices,
//! logical operations, threshold mask), each applied as one undoable,
//! journaled edit through the same ops as `rayseg edit --script`.

use super::*;
use crate::annotate::document::effects::EffectJob;
use crate::annotate::document::ops::{
    FillHolesOp, HollowOp, InterpolateOp, IslandsOp, Logical, LogicalOp, MarginOp, Overwrite,
    Shell, SmoothOp, ThresholdMaskOp,
};
use crate::annotate::document::{EditOp, RegionPreview};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Interpolate,
    Islands,
    Margin,
    Hollow,
    Smooth,
    FillHoles,
    Logical,
    ThresholdMask,
}

impl Effect {
    pub const ALL: [Effect; 8] = [
        Effect::Interpolate,
        Effect::Islands,
        Effect::Margin,
        Effect::Hollow,
        Effect::Smooth,
        Effect::FillHoles,
        Effect::Logical,
        Effect::ThresholdMask,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Effect::Interpolate => "Fill between slices",
            Effect::Islands => "Islands",
            Effect::Margin => "Margin",
            Effect::Hollow => "Hollow",
            Effect::Smooth => "Smoothing",
            Effect::FillHoles => "Fill holes",
            Effect::Logical => "Logical operators",
            Effect::ThresholdMask => "Mask by intensity",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IslandMode {
    KeepLargest,
    RemoveSmall,
    Split,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmoothKind {
    Median,
    Opening,
    Closing,
    Gaussian,
}

/// The Effects tool's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectSettings {
    pub effect: Effect,
    pub island_mode: IslandMode,
    pub min_voxels: u64,
    pub full_connectivity: bool,
    pub margin_mm: f64,
    pub hollow_mm: f64,
    pub shell: Shell,
    pub smooth: SmoothKind,
    pub smooth_mm: f64,
    pub slice_wise: bool,
    pub logical: Logical,
    pub with: u8,
    pub lower: f64,
    pub upper: f64,
}

impl Default for EffectSettings {
    fn default() -> Self {
        EffectSettings {
            effect: Effect::Margin,
            island_mode: IslandMode::KeepLargest,
            min_voxels: 100,
            full_connectivity: false,
            margin_mm: 2.0,
            hollow_mm: 2.0,
            shell: Shell::Inside,
            smooth: SmoothKind::Median,
            smooth_mm: 1.5,
            slice_wise: false,
            logical: Logical::Union,
            with: 2,
            lower: -100.0,
            upper: 200.0,
        }
    }
}

impl EffectSettings {
    /// The edit request for `label` under these settings; `overwrite`: what
    /// it may take from other labels (the brush's "Overwrite other labels").
    pub fn op(&self, label: u8, overwrite: Overwrite) -> EditOp {
        match self.effect {
            Effect::Interpolate => EditOp::Interpolate(InterpolateOp {
                label,
                axis: None,
                overwrite,
            }),
            Effect::Islands => EditOp::Islands(IslandsOp {
                label,
                keep_largest: self.island_mode == IslandMode::KeepLargest,
                min_voxels: (self.island_mode == IslandMode::RemoveSmall)
                    .then_some(self.min_voxels),
                split: self.island_mode == IslandMode::Split,
                connectivity: if self.full_connectivity { 26 } else { 6 },
            }),
            Effect::Margin => EditOp::Margin(MarginOp {
                label,
                mm: self.margin_mm,
                overwrite,
            }),
            Effect::Hollow => EditOp::Hollow(HollowOp {
                label,
                mm: self.hollow_mm,
                shell: self.shell,
                overwrite,
            }),
            Effect::Smooth => {
                let r = Some(self.smooth_mm);
                let k = self.smooth;
                EditOp::Smooth(SmoothOp {
                    label,
                    median_mm: r.filter(|_| k == SmoothKind::Median),
                    opening_mm: r.filter(|_| k == SmoothKind::Opening),
                    closing_mm: r.filter(|_| k == SmoothKind::Closing),
                    gaussian_mm: r.filter(|_| k == SmoothKind::Gaussian),
                    overwrite,
                })
            }
            Effect::FillHoles => EditOp::FillHoles(FillHolesOp {
                label,
                slice_wise: self
                    .slice_wise
                    .then_some(crate::annotate::document::ops::Axis::K),
                overwrite,
            }),
            Effect::Logical => EditOp::Logical(LogicalOp {
                operation: self.logical,
                label,
                with: Some(self.with),
                with_map: None,
                overwrite,
            }),
            Effect::ThresholdMask => EditOp::ThresholdMask(ThresholdMaskOp {
                label,
                lower: self.lower,
                upper: self.upper,
            }),
        }
    }
}

fn settings_ui(
    ui: &mut egui::Ui,
    s: &mut EffectSettings,
    labels: &[(u8, String)],
    scale: tools::ValueScale,
) {
    egui::ComboBox::from_label("Effect")
        .selected_text(s.effect.name())
        .show_ui(ui, |ui| {
            for e in Effect::ALL {
                ui.selectable_value(&mut s.effect, e, e.name());
            }
        });
    match s.effect {
        Effect::Interpolate => {
            ui.label("Fills the active label on the slices between those it was drawn on.");
        }
        Effect::Islands => {
            ui.radio_value(
                &mut s.island_mode,
                IslandMode::KeepLargest,
                "Keep the largest island",
            );
            ui.radio_value(
                &mut s.island_mode,
                IslandMode::RemoveSmall,
                "Remove small islands",
            );
            ui.radio_value(
                &mut s.island_mode,
                IslandMode::Split,
                "Split islands into labels",
            );
            if s.island_mode == IslandMode::RemoveSmall {
                ui.add(egui::DragValue::new(&mut s.min_voxels).prefix("min voxels "));
            }
            ui.checkbox(&mut s.full_connectivity, "26-connected");
        }
        Effect::Margin => {
            ui.add(egui::Slider::new(&mut s.margin_mm, -20.0..=20.0).text("Margin (mm)"));
            ui.label("Positive grows, negative shrinks.");
        }
        Effect::Hollow => {
            ui.add(egui::Slider::new(&mut s.hollow_mm, 0.1..=20.0).text("Shell (mm)"));
            ui.horizontal(|ui| {
                ui.radio_value(&mut s.shell, Shell::Inside, "Inside");
                ui.radio_value(&mut s.shell, Shell::Centred, "Centred");
                ui.radio_value(&mut s.shell, Shell::Outside, "Outside");
            });
        }
        Effect::Smooth => {
            ui.horizontal_wrapped(|ui| {
                ui.radio_value(&mut s.smooth, SmoothKind::Median, "Median");
                ui.radio_value(&mut s.smooth, SmoothKind::Opening, "Opening");
                ui.radio_value(&mut s.smooth, SmoothKind::Closing, "Closing");
                ui.radio_value(&mut s.smooth, SmoothKind::Gaussian, "Gaussian");
            });
            let what = if s.smooth == SmoothKind::Gaussian {
                "Sigma (mm)"
            } else {
                "Radius (mm)"
            };
            ui.add(egui::Slider::new(&mut s.smooth_mm, 0.1..=10.0).text(what));
        }
        Effect::FillHoles => {
            ui.checkbox(&mut s.slice_wise, "Slice by slice (axial grid slices)");
        }
        Effect::Logical => {
            egui::ComboBox::from_label("Operation")
                .selected_text(format!("{:?}", s.logical))
                .show_ui(ui, |ui| {
                    for op in [
                        Logical::Union,
                        Logical::Subtract,
                        Logical::Intersect,
                        Logical::Invert,
                        Logical::Clear,
                        Logical::Copy,
                    ] {
                        ui.selectable_value(&mut s.logical, op, format!("{op:?}"));
                    }
                });
            if !matches!(s.logical, Logical::Invert | Logical::Clear) {
                let shown = labels
                    .iter()
                    .find(|l| l.0 == s.with)
                    .map_or(s.with.to_string(), |l| l.1.clone());
                egui::ComboBox::from_label("With label")
                    .selected_text(shown)
                    .show_ui(ui, |ui| {
                        for (v, name) in labels {
                            ui.selectable_value(&mut s.with, *v, name);
                        }
                    });
            }
        }
        Effect::ThresholdMask => {
            let speed = (scale.max - scale.min) / 500.0;
            ui.add(
                egui::DragValue::new(&mut s.lower)
                    .prefix("min ")
                    .suffix(scale.suffix())
                    .speed(speed),
            );
            ui.add(
                egui::DragValue::new(&mut s.upper)
                    .prefix("max ")
                    .suffix(scale.suffix())
                    .speed(speed),
            );
        }
    }
}

/// An effect computing on a worker: the job (its box and "before") and its result.
pub type EffectReply = (EffectJob, Result<Vec<u8>, String>);

impl RaysegApp {
    /// The Effects tool's panel: settings, Apply (computes on a worker and
    /// shows the result as a preview), then Accept or Cancel.
    pub(super) fn effects_panel(&mut self, ui: &mut egui::Ui, scale: tools::ValueScale) {
        let labels: Vec<(u8, String)> = self.doc.as_ref().map_or_else(Vec::new, |d| {
            d.label_set()
                .labels
                .iter()
                .map(|l| (l.value, l.name.clone()))
                .collect()
        });
        settings_ui(ui, &mut self.effect, &labels, scale);
        let preview = self.effect_preview_shown();
        ui.horizontal(|ui| {
            if ui.button("Apply").clicked() {
                self.apply_effect();
            }
            if self.effect_job.is_some() {
                ui.spinner();
            }
        });
        ui.horizontal(|ui| {
            if ui
                .add_enabled(preview, egui::Button::new("Accept effect"))
                .clicked()
            {
                self.accept_effect();
            }
            if ui
                .add_enabled(preview, egui::Button::new("Cancel effect"))
                .clicked()
                && let Some(doc) = self.doc.as_mut()
            {
                doc.cancel_preview();
            }
        });
    }

    /// Whether an effect's result is shown waiting for Accept.
    pub(super) fn effect_preview_shown(&self) -> bool {
        self.doc.as_ref().is_some_and(|d| {
            d.seg
                .preview()
                .is_some_and(|p| p.tool != "grow" && p.tool != "seeds")
        })
    }

    /// Plans the effect on the active label and runs it on a worker; split
    /// islands (which adds labels) is applied at once.
    pub(super) fn apply_effect(&mut self) {
        if self.defer(Deferred::ApplyEffect) {
            return;
        }
        let name = self.effect.effect.name();
        let Some(doc) = self.doc.as_mut() else { return };
        let overwrite = if self.brush.overwrite_other_labels {
            Overwrite::All
        } else {
            Overwrite::Background
        };
        let op = self.effect.op(doc.active_label, overwrite);
        if matches!(&op, EditOp::Islands(o) if o.split) {
            match doc.apply_op(&op) {
                Ok(out) => self.status = format!("{name}: {} voxels changed", out.voxels_changed),
                Err(e) => self.errors.push(format!("{name}: {e}")),
            }
            return;
        }
        match doc.seg.plan_effect(&op) {
            Ok(Some(job)) => {
                doc.cancel_preview();
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let r = job.run().map_err(|e| e.to_string());
                    let _ = tx.send((job, r));
                });
                self.effect_job = Some(rx);
            }
            Ok(None) => self.status = format!("{name}: the active label is empty"),
            Err(e) => self.errors.push(format!("{name}: {e}")),
        }
    }

    /// Shows a finished effect as the preview.
    pub(super) fn poll_effect(&mut self) {
        let Some(rx) = &self.effect_job else { return };
        let Ok((job, result)) = rx.try_recv() else {
            return;
        };
        self.effect_job = None;
        let name = self.effect.effect.name();
        let Some(doc) = self.doc.as_mut() else { return };
        match result {
            Ok(after) => {
                let preview = RegionPreview::from_after(
                    job.region,
                    &job.before,
                    after,
                    job.label,
                    job.op.name(),
                    job.op.params(),
                );
                self.status = format!(
                    "{name}: {} voxels would change (Accept or Cancel)",
                    preview.voxel_count
                );
                doc.set_region_preview(preview);
            }
            Err(e) => self.errors.push(format!("{name}: {e}")),
        }
    }

    pub(super) fn accept_effect(&mut self) {
        if self.defer(Deferred::AcceptEffect) {
            return;
        }
        if let Some(doc) = self.doc.as_mut() {
            match doc.accept_region_preview() {
                Ok(true) => self.status = format!("{} applied", self.effect.effect.name()),
                Ok(false) => {}
                Err(e) => self.errors.push(e),
            }
        }
    }
}
