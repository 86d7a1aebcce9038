//! The tool bar and the settings of the active tool.

use super::state::{BrushSettings, GrowSettings, Tool};

/// The image's values as the settings show them: the unit (HU for CT only)
/// and the range the sliders span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueScale {
    pub unit: Option<&'static str>,
    pub min: f64,
    pub max: f64,
}

impl ValueScale {
    pub fn of(volume: &crate::volume::Volume) -> Self {
        let (min, max) = volume.value_range();
        let (min, max) = if min.is_finite() && max.is_finite() && min < max {
            (min, max)
        } else {
            (0.0, 1.0)
        };
        ValueScale {
            unit: volume.modality.value_unit(),
            min,
            max,
        }
    }

    /// " HU" for CT, "" otherwise.
    pub fn suffix(&self) -> String {
        self.unit.map_or(String::new(), |u| format!(" {u}"))
    }

    /// "Lower (HU)" for CT, "Lower" otherwise.
    pub fn label(&self, what: &str) -> String {
        self.unit
            .map_or(what.to_owned(), |u| format!("{what} ({u})"))
    }
}

/// What the tool panel asks for.
#[derive(Debug, Default, PartialEq)]
pub struct ToolActions {
    pub accept_grow: bool,
    pub cancel_grow: bool,
    pub grow_settings_changed: bool,
}

pub fn tool_buttons(ui: &mut egui::Ui, tool: &mut Tool) {
    ui.horizontal_wrapped(|ui| {
        for t in Tool::ALL {
            // The accessible label is the plain tool name; the hotkey is in the tooltip.
            let r = ui
                .selectable_label(*tool == t, t.name())
                .on_hover_text(format!("{} ({})", t.name(), t.hotkey().name()));
            if r.clicked() {
                *tool = t;
            }
        }
    });
}

pub fn brush_settings(ui: &mut egui::Ui, brush: &mut BrushSettings, scale: ValueScale) {
    ui.add(
        egui::Slider::new(&mut brush.radius_mm, 0.5..=50.0)
            .text("Radius (mm)")
            .logarithmic(true),
    );
    ui.checkbox(&mut brush.disk_2d, "2-D (slice only)");
    ui.checkbox(&mut brush.overwrite_other_labels, "Overwrite other labels");
    let mut limited = brush.intensity_range.is_some();
    ui.checkbox(&mut limited, "Limit to intensity range");
    if limited {
        let (mut lo, mut hi) = brush.intensity_range.unwrap_or((scale.min, scale.max));
        let speed = (scale.max - scale.min) / 500.0;
        ui.add(
            egui::DragValue::new(&mut lo)
                .prefix("min ")
                .suffix(scale.suffix())
                .speed(speed)
                .range(scale.min..=scale.max),
        );
        ui.add(
            egui::DragValue::new(&mut hi)
                .prefix("max ")
                .suffix(scale.suffix())
                .speed(speed)
                .range(scale.min..=scale.max),
        );
        brush.intensity_range = Some((lo, hi.max(lo)));
    } else {
        brush.intensity_range = None;
    }
}

pub fn grow_settings(
    ui: &mut egui::Ui,
    grow: &mut GrowSettings,
    preview: Option<u64>,
    scale: ValueScale,
) -> ToolActions {
    let before = grow.clone();
    let mut actions = ToolActions::default();
    ui.checkbox(&mut grow.use_bounds, "Fixed bounds");
    if grow.use_bounds {
        let range = scale.min..=scale.max;
        ui.add(egui::Slider::new(&mut grow.lower, range.clone()).text(scale.label("Lower")));
        ui.add(egui::Slider::new(&mut grow.upper, range).text(scale.label("Upper")));
    } else {
        let span = (scale.max - scale.min).max(1.0);
        ui.add(
            egui::Slider::new(&mut grow.tolerance_hu, span / 1000.0..=span / 2.0)
                .logarithmic(true)
                .text(scale.label("Tolerance")),
        );
    }
    let mut limit = grow.max_distance_mm.is_some();
    ui.checkbox(&mut limit, "Limit distance from seed");
    if limit {
        let mut d = grow.max_distance_mm.unwrap_or(60.0);
        ui.add(egui::Slider::new(&mut d, 1.0..=300.0).text("Max distance (mm)"));
        grow.max_distance_mm = Some(d);
    } else {
        grow.max_distance_mm = None;
    }
    ui.checkbox(&mut grow.full_connectivity, "26-connected");
    actions.grow_settings_changed = *grow != before;
    match preview {
        Some(n) => {
            ui.label(format!("Preview: {n} voxels"));
            ui.horizontal(|ui| {
                actions.accept_grow = ui.button("Accept").clicked();
                actions.cancel_grow = ui.button("Cancel").clicked();
            });
        }
        None => {
            ui.label("Click a seed in a slice view.");
        }
    }
    actions
}
