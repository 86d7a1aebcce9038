//! Labels panel: the label set (name, colour, visibility, opacity, lock, active)
//! and the live statistics table.

use super::state::Document;
use crate::annotate::labels::ReviewStatus;

fn status_name(s: ReviewStatus) -> &'static str {
    match s {
        ReviewStatus::NotStarted => "Not started",
        ReviewStatus::InProgress => "In progress",
        ReviewStatus::Completed => "Completed",
        ReviewStatus::Flagged => "Flagged",
    }
}

/// What the panel asks of the app beyond the document.
#[derive(Debug, Default)]
pub struct PanelActions {
    pub errors: Vec<String>,
    /// Fill the active label between the slices it is drawn on.
    pub interpolate: bool,
}

pub fn show(ui: &mut egui::Ui, doc: &mut Document) -> PanelActions {
    let mut interpolate = false;
    let mut errors = Vec::new();
    // Edited as a copy: a change is one journaled label-set edit.
    let mut set = doc.label_set().clone();
    let mut delete = None;
    let mut display_changed = false;
    egui::Grid::new("labels_grid")
        .num_columns(5)
        .striped(true)
        .show(ui, |ui| {
            ui.label("");
            ui.label("Name");
            ui.label("Colour");
            ui.label("Show");
            ui.label("Lock");
            ui.end_row();
            let active = doc.active_label;
            let mut new_active = active;
            for info in &mut set.labels {
                if ui
                    .radio(info.value == active, info.value.to_string())
                    .on_hover_text("Active label")
                    .clicked()
                {
                    new_active = info.value;
                }
                // Fixed size: inside a grid, desired_width alone is squeezed to a few letters.
                ui.add_sized([110.0, 20.0], egui::TextEdit::singleline(&mut info.name));
                display_changed |= ui.color_edit_button_srgb(&mut info.color).changed();
                display_changed |= ui
                    .checkbox(&mut info.visible, "")
                    .on_hover_text("Visible")
                    .changed();
                ui.checkbox(&mut info.locked, "")
                    .on_hover_text("Locked: no tool changes it");
                ui.end_row();
            }
            if new_active != active {
                doc.active_label = new_active;
            }
        });
    if let Some(info) = set.get_mut(doc.active_label) {
        display_changed |= ui
            .add(egui::Slider::new(&mut info.opacity, 0.0..=1.0).text("Opacity"))
            .changed();
        // Review status and note of the active label (journaled like any edit;
        // saved in the sidecar and as Slicer's Segmentation.Status tag).
        ui.horizontal(|ui| {
            ui.label("Review");
            egui::ComboBox::from_id_salt("review_status")
                .selected_text(status_name(info.review.status))
                .show_ui(ui, |ui| {
                    for s in ReviewStatus::ALL {
                        ui.selectable_value(&mut info.review.status, s, status_name(s));
                    }
                });
        });
        ui.add(
            egui::TextEdit::singleline(&mut info.review.note)
                .hint_text("Review note")
                .desired_width(200.0),
        );
        super::terminology_panel::show(ui, info);
    }
    if let Err(e) = doc.set_label_set(set) {
        errors.push(e);
    }
    if display_changed {
        doc.display_version += 1;
    }
    ui.horizontal(|ui| {
        if ui.button("Add label").clicked() && doc.add_label().is_none() {
            errors.push("all 255 label values are in use".into());
        }
        if ui
            .button("Delete label")
            .on_hover_text("Delete the active label and its voxels (undoable)")
            .clicked()
        {
            delete = Some(doc.active_label);
        }
        interpolate = ui
            .button("Interpolate")
            .on_hover_text(
                "Fill the active label between the slices it is drawn on (a preview to Accept)",
            )
            .clicked();
    });
    if let Some(value) = delete
        && let Err(e) = doc.delete_label(value)
    {
        errors.push(e);
    }
    ui.separator();
    ui.strong("Statistics");
    if !doc.stats_current() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("updating...");
        });
    }
    egui::Grid::new("stats_grid").striped(true).show(ui, |ui| {
        ui.label("Label");
        ui.label("Volume (mL)");
        ui.label(match doc.volume.modality.value_unit() {
            Some(u) => format!("Mean ({u})"),
            None => "Mean".to_owned(),
        });
        ui.label("Max diam. (mm)");
        ui.end_row();
        for s in &doc.stats {
            let name = doc
                .label_set()
                .get(s.label)
                .map_or_else(|| s.label.to_string(), |l| l.name.clone());
            ui.label(name);
            ui.label(format!("{:.2}", s.volume_ml));
            ui.label(format!("{:.1}", s.mean));
            ui.label(format!("{:.1}", s.max_diameter_mm));
            ui.end_row();
        }
    });
    super::provenance_panel::show(ui, doc);
    PanelActions {
        errors,
        interpolate,
    }
}
