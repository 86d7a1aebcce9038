//! The active label's coded terminology (what it is), as Slicer's segment
//! editor offers it: pick a common entry, or type the category and type codes.
//! Saved in the sidecar, `.seg.nrrd` (`TerminologyEntry`) and DICOM SEG.

use crate::annotate::labels::{Code, LabelInfo, Terminology};
use crate::annotate::terminology::common_entries;

/// Shows the editor; true when the label's terminology changed.
pub fn show(ui: &mut egui::Ui, info: &mut LabelInfo) -> bool {
    let before = info.terminology.clone();
    ui.horizontal(|ui| {
        ui.label("Terminology");
        let shown = info
            .terminology
            .as_ref()
            .map_or("None".to_owned(), |t| t.type_.meaning.clone());
        egui::ComboBox::from_id_salt("terminology")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut info.terminology, None, "None");
                for entry in common_entries() {
                    let text = format!("{} ({})", entry.type_.meaning, entry.category.meaning);
                    ui.selectable_value(&mut info.terminology, Some(entry), text);
                }
            });
    });
    ui.collapsing("Codes", |ui| {
        let t = info
            .terminology
            .get_or_insert_with(|| Terminology::new(Code::default(), Code::default()));
        egui::Grid::new("terminology_codes").show(ui, |ui| {
            ui.label("");
            ui.label("Scheme");
            ui.label("Value");
            ui.label("Meaning");
            ui.end_row();
            for (name, code) in [("Category", &mut t.category), ("Type", &mut t.type_)] {
                ui.label(name);
                for (field, width) in [
                    (&mut code.scheme, 40.0),
                    (&mut code.value, 80.0),
                    (&mut code.meaning, 120.0),
                ] {
                    ui.add_sized([width, 20.0], egui::TextEdit::singleline(field));
                }
                ui.end_row();
            }
        });
    });
    // An entry left blank (e.g. only the Codes section opened) is no entry.
    if info
        .terminology
        .as_ref()
        .is_some_and(|t| t.category == Code::default() && t.type_ == Code::default())
    {
        info.terminology = None;
    }
    // Slicer's string cannot hold a reserved character: such a keystroke is
    // refused (the field keeps the last valid entry).
    if info
        .terminology
        .as_ref()
        .is_some_and(|t| t.check().is_err())
    {
        info.terminology = before;
        return false;
    }
    info.terminology != before
}
