//! The draft's provenance under the statistics: per label, what the model
//! proposed and what people kept, removed and added (the document keeps the
//! counts current from each change, so this costs nothing per frame).

use super::state::Document;

pub fn show(ui: &mut egui::Ui, doc: &Document) {
    let Some(report) = doc.seg.provenance() else {
        return;
    };
    ui.separator();
    ui.strong(format!("Draft: {}", report.draft.model))
        .on_hover_text(format!(
            "{} (sha256 {}), opened by {} at {}",
            report.draft.source, report.draft.file_sha256, report.opened_by, report.draft_time
        ));
    let span = match (&report.first_edit, &report.last_edit) {
        (Some(a), Some(b)) if a != b => format!(", {} to {}", short_time(a), short_time(b)),
        (Some(a), _) => format!(", at {}", short_time(a)),
        _ => String::new(),
    };
    ui.label(format!("Human edits since: {}{span}", report.human_edits));
    egui::Grid::new("provenance_grid")
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "Label", "Proposed", "Kept", "Removed", "Added", "Dice", "Edits",
            ] {
                ui.label(h);
            }
            ui.end_row();
            for l in &report.labels {
                ui.label(l.name.clone().unwrap_or_else(|| l.label.to_string()));
                for ml in [l.proposed_ml, l.kept_ml, l.removed_ml, l.added_ml] {
                    ui.label(format!("{ml:.2}"));
                }
                ui.label(format!("{:.3}", l.dice));
                ui.label(l.human_edits.to_string());
                ui.end_row();
            }
        });
    ui.label("(volumes in mL)");
}

/// `2026-12-02T19:03:46.123Z` → `19:03:46`.
fn short_time(t: &str) -> &str {
    t.get(11..19).unwrap_or(t)
}
