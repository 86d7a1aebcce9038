//! Dialogs (messages, unsaved-changes prompt, path prompt, recovery offer) and
//! the `--screenshot` sequence.

use super::*;

impl RaysegApp {
    pub(super) fn dialogs(&mut self, ctx: &egui::Context) {
        help::show(ctx, &mut self.show_help);
        self.second_dialogs(ctx);
        if !self.errors.is_empty() {
            let mut clear = false;
            egui::Window::new("Messages")
                .anchor(egui::Align2::RIGHT_BOTTOM, [-8.0, -32.0])
                .show(ctx, |ui| {
                    for e in self.errors.iter().rev().take(5) {
                        ui.colored_label(Color32::LIGHT_RED, e);
                    }
                    clear = ui.button("Dismiss").clicked();
                });
            if clear {
                self.errors.clear();
            }
        }
        // While "Save labels to" asks for a path, the prompt waits behind it.
        if let Some(pending) = self.pending.as_ref().filter(|_| self.path_prompt.is_none()) {
            let what = match pending {
                Pending::Open(_) => "opening another image",
                Pending::Quit => "quitting",
            };
            let mut choice = None;
            egui::Modal::new(egui::Id::unique("unsaved")).show(ctx, |ui| {
                ui.label(format!(
                    "The labels have unsaved changes. Save before {what}?"
                ));
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        choice = Some(0);
                    }
                    if ui.button("Discard").clicked() {
                        choice = Some(1);
                    }
                    if ui.button("Cancel").clicked() {
                        choice = Some(2);
                    }
                });
            });
            match choice {
                Some(0) => {
                    self.save(None);
                    if self.doc.as_ref().is_some_and(|d| !d.dirty) {
                        self.resolve_pending(ctx);
                    }
                }
                Some(1) => self.resolve_pending(ctx),
                Some(_) => self.pending = None,
                None => {}
            }
        }
        if let Some((opening, text)) = &mut self.path_prompt {
            let opening = *opening;
            let mut go = false;
            let mut cancel = false;
            egui::Window::new(if opening {
                "Open path"
            } else {
                "Save labels to"
            })
            .show(ctx, |ui| {
                let field = ui.add(egui::TextEdit::singleline(text).desired_width(400.0));
                // Type at once: the field takes the keyboard when the window opens
                // (asked until it has it: the frame after a modal closes refuses).
                if field.has_focus() {
                    self.path_prompt_focused = true;
                } else if !self.path_prompt_focused {
                    field.request_focus();
                }
                ui.horizontal(|ui| {
                    go = ui.button("OK").clicked();
                    cancel = ui.button("Cancel").clicked();
                });
            });
            if go {
                let path = PathBuf::from(text.trim());
                self.path_prompt = None;
                self.path_prompt_focused = false;
                if opening {
                    self.open(Source::Path {
                        image: path,
                        labels: None,
                    });
                } else {
                    self.save(Some(path));
                    // A save asked for by the unsaved-changes prompt: carry on.
                    if self.pending.is_some() && self.doc.as_ref().is_some_and(|d| !d.dirty) {
                        self.resolve_pending(ctx);
                    }
                }
            } else if cancel {
                self.path_prompt = None;
                self.path_prompt_focused = false;
            }
        }
        if let Some(offer) = self.recovery_offer.clone() {
            let mut choice = None;
            egui::Window::new("Restore unsaved edits?").show(ctx, |ui| {
                ui.label(format!(
                    "The edit journal holds {} entries made after the last save \
                     (the app was closed without saving, or stopped).",
                    offer.entries
                ));
                ui.horizontal(|ui| {
                    if ui.button("Restore").clicked() {
                        choice = Some(Recovery::Restore);
                    }
                    if ui.button("Discard").clicked() {
                        choice = Some(Recovery::Discard);
                    }
                });
            });
            if let Some(recovery) = choice {
                self.recovery_offer = None;
                if let Some(doc) = self.doc.as_mut() {
                    match super::journal::attach(doc, &offer.path, recovery) {
                        Ok(true) => self.status = "Restored the unsaved edits".into(),
                        Ok(false) => {}
                        Err(e) => self.errors.push(format!("Edit journal: {e}")),
                    }
                }
            }
        }
    }

    pub(super) fn resolve_pending(&mut self, ctx: &egui::Context) {
        match self.pending.take() {
            Some(Pending::Open(source)) => self.open_now(source),
            Some(Pending::Quit) => {
                self.quit_confirmed = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            None => {}
        }
    }

    pub(super) fn screenshot_step(&mut self, ctx: &egui::Context) {
        let Some(out) = self.config.screenshot.clone() else {
            return;
        };
        if self
            .screenshot_result
            .lock()
            .map(|r| r.is_some())
            .unwrap_or(true)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        ctx.request_repaint();
        if self.screenshot_requested {
            return;
        }
        // Wait for every view to have rendered, then a few more frames (3-D refine).
        let ready = (self.doc.is_some() && self.gpu_frames() >= 4 && !self.is_busy())
            // Nothing to wait for: the image failed to load (the shot shows why).
            || (self.doc.is_none() && self.loading.is_none() && !self.errors.is_empty());
        if ready {
            self.screenshot_frames += 1;
        }
        let timed_out = self.now_s() > 120.0;
        if self.screenshot_frames >= 10 || timed_out {
            self.screenshot_requested = true;
            let slot = self.screenshot_result.clone();
            let ctx2 = ctx.clone();
            ctx.request_screenshot(move |image| {
                let r = write_png(&out, &image).map(|()| out.clone());
                if let Ok(mut s) = slot.lock() {
                    *s = Some(r);
                }
                ctx2.request_repaint();
            });
        }
    }
}
