//! The tool bar and the settings of the active tool.

use super::state::{BrushSettings, GrowSettings, Tool};

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

pub fn brush_settings(ui: &mut egui::Ui, brush: &mut BrushSettings) {
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
        let (mut lo, mut hi) = brush.intensity_range.unwrap_or((-100.0, 200.0));
        ui.add(egui::DragValue::new(&mut lo).prefix("min ").suffix(" HU"));
        ui.add(egui::DragValue::new(&mut hi).prefix("max ").suffix(" HU"));
        brush.intensity_range = Some((lo, hi.max(lo)));
    } else {
        brush.intensity_range = None;
    }
}

pub fn grow_settings(
    ui: &mut egui::Ui,
    grow: &mut GrowSettings,
    preview: Option<u64>,
) -> ToolActions {
    let before = grow.clone();
    let mut actions = ToolActions::default();
    ui.checkbox(&mut grow.use_bounds, "Fixed bounds");
    if grow.use_bounds {
        ui.add(egui::Slider::new(&mut grow.lower, -1024.0..=3000.0).text("Lower (HU)"));
        ui.add(egui::Slider::new(&mut grow.upper, -1024.0..=3000.0).text("Upper (HU)"));
    } else {
        ui.add(egui::Slider::new(&mut grow.tolerance_hu, 1.0..=500.0).text("Tolerance (HU)"));
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
