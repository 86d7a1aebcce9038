//! The menu bar, the side panel (tools, 3-D settings, labels) and the status bar.

use super::*;

impl RaysegApp {
    pub(super) fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open...").clicked() {
                    self.open_dialog();
                }
                if ui.button("Open path...").clicked() {
                    self.path_prompt = Some((true, String::new()));
                }
                if ui.button("Open sample").clicked() {
                    self.open(Source::Sample(loading::default_sample()));
                }
                self.second_menu_items(ui);
                ui.menu_button("Recent", |ui| {
                    let mut chosen = None;
                    for p in &self.recent.paths {
                        if ui.button(p.display().to_string()).clicked() {
                            chosen = Some(p.clone());
                        }
                    }
                    if let Some(image) = chosen {
                        self.open(Source::Path {
                            image,
                            labels: None,
                        });
                    }
                });
                ui.separator();
                if ui.button("Save labels (Ctrl+S)").clicked() {
                    self.save(None);
                }
                if ui.button("Save labels as...").clicked() {
                    self.save_as_dialog();
                }
                if ui.button("Save labels to path...").clicked() {
                    let name = self.doc.as_ref().map(default_save_name).unwrap_or_default();
                    self.path_prompt = Some((false, name));
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Edit", |ui| {
                if ui.button("Undo (Ctrl+Z)").clicked() {
                    self.undo_redo(false);
                }
                if ui.button("Redo (Ctrl+Shift+Z)").clicked() {
                    self.undo_redo(true);
                }
            });
            if let Some(viewer) = self.viewer.as_mut() {
                ui.menu_button("Window", |ui| {
                    for p in CtPreset::ALL {
                        let w = p.window();
                        if ui
                            .button(format!("{} ({:.0}/{:.0})", p.name(), w.width, w.center))
                            .clicked()
                        {
                            viewer.window = w;
                        }
                    }
                    if let Some(doc) = &self.doc
                        && ui.button("Auto").clicked()
                    {
                        viewer.window = crate::render::window::default_window(&doc.volume);
                    }
                });
            }
            // The lesions of the first image and the second, tracked.
            if ui.button("Lesion table").clicked() {
                self.second.show_lesion_table = !self.second.show_lesion_table;
            }
            if ui.button("Help").clicked() {
                self.show_help = !self.show_help;
            }
        });
    }

    pub(super) fn side_panel(&mut self, ui: &mut egui::Ui) {
        ui.heading("Tools");
        tools::tool_buttons(ui, &mut self.tool);
        let scale = self.doc.as_ref().map_or(
            tools::ValueScale {
                unit: None,
                min: 0.0,
                max: 1.0,
            },
            |d| tools::ValueScale::of(&d.volume),
        );
        ui.separator();
        match self.tool {
            Tool::Brush | Tool::Eraser => tools::brush_settings(ui, &mut self.brush, scale),
            Tool::Grow => {
                let preview = self
                    .doc
                    .as_ref()
                    .and_then(|d| d.grow_preview.as_ref().map(|p| p.voxel_count));
                let a = tools::grow_settings(ui, &mut self.grow, preview, scale);
                if self.grow_job.is_some() {
                    ui.spinner();
                }
                if a.grow_settings_changed {
                    self.request_grow();
                }
                if a.accept_grow {
                    self.accept_grow();
                }
                if a.cancel_grow {
                    if let Some(d) = self.doc.as_mut() {
                        d.cancel_grow();
                    }
                    self.grow_seed = None;
                }
            }
            Tool::Seeds => {
                tools::brush_settings(ui, &mut self.brush, scale);
                ui.separator();
                self.seeds_panel(ui);
            }
            Tool::Effects => self.effects_panel(ui, scale),
            Tool::WindowLevel => {
                if let Some(v) = self.viewer.as_mut() {
                    ui.add(
                        egui::DragValue::new(&mut v.window.center)
                            .prefix("Level ")
                            .suffix(scale.suffix()),
                    );
                    ui.add(
                        egui::DragValue::new(&mut v.window.width)
                            .prefix("Width ")
                            .suffix(scale.suffix())
                            .range(1.0..=1e6),
                    );
                }
            }
            Tool::Navigate => {
                ui.label("Click or drag to move the crosshair.");
            }
        }
        if let Some(v) = self.viewer.as_mut() {
            ui.separator();
            egui::CollapsingHeader::new("3-D view")
                .default_open(false)
                .show(ui, |ui| {
                    egui::ComboBox::from_label("Mode")
                        .selected_text(format!("{:?}", v.mode_3d))
                        .show_ui(ui, |ui| {
                            for m in [
                                RenderMode::Mip,
                                RenderMode::MinIp,
                                RenderMode::Average,
                                RenderMode::Dvr,
                                RenderMode::Iso,
                            ] {
                                ui.selectable_value(&mut v.mode_3d, m, format!("{m:?}"));
                            }
                        });
                    egui::ComboBox::from_label("Transfer")
                        .selected_text(v.transfer.name())
                        .show_ui(ui, |ui| {
                            for t in TransferPreset::ALL {
                                ui.selectable_value(&mut v.transfer, t, t.name());
                            }
                        });
                    ui.add(
                        egui::Slider::new(&mut v.label_opacity_3d, 0.0..=1.0).text("Label opacity"),
                    );
                    ui.checkbox(&mut v.label_surfaces, "Label surfaces");
                    ui.add(egui::Slider::new(&mut v.max_3d_px, 64..=768).text("Resolution (px)"));
                    ui.checkbox(&mut v.clip_enabled, "Clip box");
                    if v.clip_enabled {
                        for (a, name) in ["R-L", "A-P", "S-I"].iter().enumerate() {
                            ui.add(
                                egui::Slider::new(&mut v.clip_lo[a], 0.0..=1.0)
                                    .text(format!("{name} min")),
                            );
                            ui.add(
                                egui::Slider::new(&mut v.clip_hi[a], 0.0..=1.0)
                                    .text(format!("{name} max")),
                            );
                        }
                    }
                    if ui.button("Reset camera (R)").clicked() {
                        v.camera.reset();
                    }
                });
        }
        ui.separator();
        ui.heading("Labels");
        if let Some(doc) = self.doc.as_mut() {
            let actions = labels_panel::show(ui, doc);
            self.errors.extend(actions.errors);
            if actions.interpolate {
                self.effect.effect = effects_panel::Effect::Interpolate;
                self.tool = Tool::Effects;
                self.apply_effect();
            }
        }
        // Last: the labels are what the panel is mostly for.
        ui.separator();
        self.second_panel(ui);
    }

    pub(super) fn status_bar(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(h) = self.viewer.as_ref().and_then(|v| v.hover) {
                let r = h.ras_mm;
                match h.ijk {
                    Some([i, j, k]) => ui.monospace(format!("ijk ({i}, {j}, {k})")),
                    None => ui.monospace("outside"),
                };
                ui.monospace(format!("RAS ({:.1}, {:.1}, {:.1}) mm", r.x, r.y, r.z));
                if let Some(v) = h.value {
                    let unit = self
                        .doc
                        .as_ref()
                        .and_then(|d| d.volume.modality.value_unit())
                        .map_or(String::new(), |u| format!(" {u}"));
                    ui.monospace(format!("{v:.0}{unit}"));
                }
                if let (Some(l), Some(doc)) = (h.label, &self.doc) {
                    let name = doc.label_set().get(l).map_or("", |i| i.name.as_str());
                    ui.monospace(format!("label {l} {name}"));
                }
            }
            ui.separator();
            ui.label(&self.status);
            if let Some(doc) = &self.doc
                && doc.dirty
            {
                ui.label("* unsaved");
            }
        });
    }
}
