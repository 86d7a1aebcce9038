//! The Help window: controls (Slicer / ITK-SNAP conventions).

pub const CONTROLS: &[(&str, &str)] = &[
    (
        "Wheel, PageUp/PageDown, Up/Down",
        "step slices (in the view under the mouse)",
    ),
    ("Right-drag, Ctrl+wheel, Ctrl+drag", "zoom"),
    ("Middle-drag, Shift+drag", "pan"),
    (
        "Left-drag (Navigate)",
        "move the crosshair; all views follow",
    ),
    (
        "Left-drag (Window/Level)",
        "horizontal = width, vertical = level",
    ),
    (
        "N / W / B / E / G / S / T",
        "Navigate, Window/Level, Brush, Eraser, Region grow, Grow from seeds, Effects",
    ),
    ("[ / ]", "brush radius smaller / larger"),
    (
        "Click (Region grow)",
        "seed; sliders update the preview; Enter accepts, Esc cancels",
    ),
    (
        "Paint (Grow from seeds)",
        "seeds of two or more labels; the preview follows each stroke; Enter accepts, Esc cancels",
    ),
    (
        "3-D: left-drag",
        "orbit; right-drag/wheel zoom; middle/Shift-drag pan; R resets",
    ),
    (
        "Double-click a view, M or F",
        "maximise / restore the view under the mouse",
    ),
    ("Ctrl+Z, Ctrl+Shift+Z / Ctrl+Y", "undo, redo"),
    ("Ctrl+S, Ctrl+Shift+S, Ctrl+O", "save labels, save as, open"),
    ("F1", "this help"),
    ("F12", "debug overlay (frame time)"),
];

pub fn show(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Help")
        .open(open)
        .resizable(false)
        .show(ctx, |ui| {
            egui::Grid::new("help_grid").striped(true).show(ui, |ui| {
                for (keys, what) in CONTROLS {
                    ui.strong(*keys);
                    ui.label(*what);
                    ui.end_row();
                }
            });
            ui.separator();
            ui.label("Labels are saved as NIfTI (u8) plus a JSON sidecar with names and colours.");
        });
}
