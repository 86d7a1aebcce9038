//! Edits that need the CPU copy of the labels complete (undo/redo, accepting
//! a grow) and the sync with GPU brush strokes that holds them until it is.

use super::*;

impl RaysegApp {
    /// No GPU stroke queued or in flight and no stroke waiting to end.
    pub(super) fn edits_settled(&self) -> bool {
        self.stroke_ending.is_none() && self.gpu_edits.as_ref().is_none_or(|g| !g.pending())
    }

    /// Holds `action` until [`Self::edits_settled`]; true when held.
    pub(super) fn defer(&mut self, action: Deferred) -> bool {
        if self.edits_settled() {
            return false;
        }
        self.deferred.push(action);
        true
    }

    /// Brings the CPU copy up to date with finished GPU strokes, ends a stroke
    /// whose boxes are all back, then runs held actions.
    pub(super) fn sync_gpu_edits(&mut self) {
        if let (Some(g), Some(doc)) = (self.gpu_edits.as_ref(), self.doc.as_mut()) {
            match g.sync(doc.volume_id, &mut doc.seg) {
                Ok(synced) => {
                    if synced.strokes_applied > 0 {
                        doc.gpu_strokes_applied(synced.voxels_changed);
                    }
                    if let Some((strokes, why)) = synced.fallback {
                        self.errors
                            .push(format!("GPU brush unavailable, painting on the CPU: {why}"));
                        for stroke in &strokes {
                            if let Err(e) = doc.apply_cpu_stroke(stroke) {
                                self.errors.push(e);
                            }
                        }
                        self.gpu_edits = None;
                    }
                }
                Err(e) => {
                    // Strokes still on the GPU are lost to the CPU copy: show the
                    // CPU copy again so what is seen is what will be saved.
                    self.errors.push(format!("GPU brush failed: {e}"));
                    doc.force_upload();
                    self.gpu_edits = None;
                }
            }
        }
        if self.gpu_edits.as_ref().is_none_or(|g| !g.pending())
            && let Some(erase) = self.stroke_ending.take()
            && let Some(doc) = self.doc.as_mut()
            && let Err(e) = doc.end_stroke(erase)
        {
            self.errors.push(e);
        }
        if self.edits_settled() {
            for action in std::mem::take(&mut self.deferred) {
                match action {
                    Deferred::UndoRedo(redo) => self.undo_redo(redo),
                    Deferred::Save(path) => self.save(path),
                    Deferred::AcceptGrow => self.accept_grow(),
                    Deferred::Grow => self.request_grow(),
                    Deferred::Seeds => self.request_seeds(),
                    Deferred::AcceptSeeds => self.accept_seeds(),
                    Deferred::ApplyEffect => self.apply_effect(),
                    Deferred::AcceptEffect => self.accept_effect(),
                }
            }
        }
    }

    pub(super) fn undo_redo(&mut self, redo: bool) {
        if self.defer(Deferred::UndoRedo(redo)) {
            return;
        }
        let Some(doc) = self.doc.as_mut() else { return };
        self.grow_seed = None;
        let r = if redo { doc.redo() } else { doc.undo() };
        match r {
            Ok(Some(what)) => {
                self.status = format!("{} {what}", if redo { "Redid" } else { "Undid" })
            }
            Ok(None) => self.status = format!("Nothing to {}", if redo { "redo" } else { "undo" }),
            Err(e) => self.errors.push(e),
        }
        if let Some(v) = self.viewer.as_mut() {
            v.last_edit_s = self.started.elapsed().as_secs_f64();
        }
    }

    pub(super) fn accept_grow(&mut self) {
        if self.defer(Deferred::AcceptGrow) {
            return;
        }
        if let Some(doc) = self.doc.as_mut() {
            match doc.accept_grow() {
                Ok(true) => self.status = "Region accepted".into(),
                Ok(false) => {}
                Err(e) => self.errors.push(e),
            }
        }
        self.grow_seed = None;
    }
}
