//! Grow from seeds in the app: the user paints seeds of two or more labels
//! (the Seeds tool paints like the brush); after each stroke the competition
//! runs again on a worker thread, incrementally when the new seeds only add
//! to the old ones in the same region, and the result is shown as a preview
//! until Accept or Cancel.

use std::sync::mpsc::{Receiver, channel};

use super::*;
use crate::annotate::document::RegionPreview;
use crate::annotate::document::change::gather;
use crate::annotate::document::ops::Overwrite;
use crate::annotate::document::{SeedsSettings, seed_params};
use crate::annotate::seeds::{SeedGrower, smooth};
use crate::annotate::undo::VoxelBox;

/// The competition's state, kept between strokes so new seeds update it.
pub struct SeedsSession {
    volume_id: u64,
    region: VoxelBox,
    smoothing_mm: f64,
    grower: SeedGrower,
}

pub struct SeedsJob {
    rx: Receiver<Result<(SeedsSession, Vec<u8>), String>>,
    settings: SeedsSettings,
}

impl RaysegApp {
    /// Runs the competition again for the seeds now in the map (visible labels).
    pub(super) fn request_seeds(&mut self) {
        if self.defer(Deferred::Seeds) {
            return;
        }
        if self.seeds_job.is_some() {
            self.seeds_again = true;
            return;
        }
        let Some(doc) = self.doc.as_ref() else { return };
        let seg = &doc.seg;
        let visible: Vec<u8> = doc
            .label_set()
            .labels
            .iter()
            .filter(|l| l.visible && seg.voxel_count(l.value) > 0)
            .map(|l| l.value)
            .collect();
        if visible.len() < 2 {
            self.status = "Grow from seeds: paint seeds of two or more labels".into();
            return;
        }
        // The seeds' box from the document's per-label boxes: no scan of the map.
        let seeds_box = visible
            .iter()
            .filter_map(|&l| seg.label_box(l))
            .reduce(|a, b| a.union(&b));
        let Some(seeds_box) = seeds_box else { return };
        let settings = self.seeds.clone();
        let pad = seg.pad_for(settings.roi_margin_mm).map(|p| p - 1);
        let region = seg.padded(seeds_box, pad);
        let shape = doc.volume.shape;
        let seeds: Vec<u8> = gather(doc.labels(), shape, &region)
            .into_iter()
            .map(|l| if visible.contains(&l) { l } else { 0 })
            .collect();
        let smoothing_mm = settings.smoothing_mm;
        let session = self.seeds_session.take().filter(|s| {
            s.volume_id == doc.volume_id && s.region == region && s.smoothing_mm == smoothing_mm
        });
        let (values, spacing, volume_id) = match session {
            Some(_) => (Vec::new(), seg.spacing_mm(), doc.volume_id),
            None => (seg.region_values(&region), seg.spacing_mm(), doc.volume_id),
        };
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let run = || -> Result<(SeedsSession, Vec<u8>), String> {
                let mut session = match session {
                    Some(s) => s,
                    None => {
                        let values =
                            smooth::gaussian(&values, region.size(), spacing, smoothing_mm);
                        let params = seed_params(&values);
                        SeedsSession {
                            volume_id,
                            region,
                            smoothing_mm,
                            grower: SeedGrower::new(values, region.size(), spacing, params)
                                .map_err(|e| e.to_string())?,
                        }
                    }
                };
                let won = session
                    .grower
                    .update(&seeds)
                    .map_err(|e| e.to_string())?
                    .to_vec();
                Ok((session, won))
            };
            let _ = tx.send(run());
        });
        self.seeds_job = Some(SeedsJob { rx, settings });
    }

    /// Shows a finished competition as the preview.
    pub(super) fn poll_seeds(&mut self) {
        let Some(job) = &self.seeds_job else { return };
        let Ok(result) = job.rx.try_recv() else {
            return;
        };
        let settings = job.settings.clone();
        self.seeds_job = None;
        let overwrite = if self.brush.overwrite_other_labels {
            Overwrite::All
        } else {
            Overwrite::Background
        };
        match result {
            Ok((session, won)) => {
                if let Some(doc) = self.doc.as_mut()
                    && doc.volume_id == session.volume_id
                    && self.tool == Tool::Seeds
                {
                    let region = session.region;
                    match doc
                        .seg
                        .seeds_outcome(&region, &won, settings.background, overwrite)
                    {
                        Ok((before, after)) => {
                            let params = serde_json::json!({
                                "seeds": "painted",
                                "roi_margin_mm": settings.roi_margin_mm,
                                "smoothing_mm": settings.smoothing_mm,
                                "background": settings.background,
                                "roi_voxels": [region.min, region.max],
                            });
                            let preview = RegionPreview::from_after(
                                region,
                                &before,
                                after,
                                doc.active_label,
                                "seeds",
                                params,
                            );
                            self.status = format!(
                                "Grow from seeds: {} voxels would change",
                                preview.voxel_count
                            );
                            doc.set_region_preview(preview);
                        }
                        Err(e) => self.errors.push(e.to_string()),
                    }
                    self.seeds_session = Some(session);
                }
            }
            Err(e) => self.errors.push(format!("Grow from seeds: {e}")),
        }
        if std::mem::take(&mut self.seeds_again) {
            self.request_seeds();
        }
    }

    pub(super) fn accept_seeds(&mut self) {
        if self.defer(Deferred::AcceptSeeds) {
            return;
        }
        if let Some(doc) = self.doc.as_mut() {
            match doc.accept_region_preview() {
                Ok(true) => self.status = "Grow from seeds accepted".into(),
                Ok(false) => {}
                Err(e) => self.errors.push(e),
            }
        }
        self.seeds_session = None;
    }

    pub(super) fn cancel_seeds(&mut self) {
        if let Some(doc) = self.doc.as_mut() {
            doc.cancel_preview();
        }
        self.seeds_session = None;
    }

    /// The Seeds tool's panel.
    pub(super) fn seeds_panel(&mut self, ui: &mut egui::Ui) {
        ui.label("Paint seeds of two or more labels (e.g. the lesion and the tissue around it).");
        ui.add(
            egui::Slider::new(&mut self.seeds.roi_margin_mm, 0.0..=60.0).text("ROI margin (mm)"),
        );
        ui.add(egui::Slider::new(&mut self.seeds.smoothing_mm, 0.0..=3.0).text("Smoothing σ (mm)"));
        let labels: Vec<(u8, String)> = self.doc.as_ref().map_or_else(Vec::new, |d| {
            d.label_set()
                .labels
                .iter()
                .map(|l| (l.value, l.name.clone()))
                .collect()
        });
        let shown = self.seeds.background.map_or("None".to_owned(), |b| {
            labels
                .iter()
                .find(|l| l.0 == b)
                .map_or(b.to_string(), |l| l.1.clone())
        });
        egui::ComboBox::from_label("Background label")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.seeds.background, None, "None");
                for (v, name) in &labels {
                    ui.selectable_value(&mut self.seeds.background, Some(*v), name);
                }
            });
        let has_preview = self
            .doc
            .as_ref()
            .is_some_and(|d| d.seg.preview().is_some_and(|p| p.tool == "seeds"));
        ui.horizontal(|ui| {
            if ui.button("Update").clicked() {
                self.request_seeds();
            }
            if self.seeds_job.is_some() {
                ui.spinner();
            }
        });
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    has_preview && self.seeds_job.is_none(),
                    egui::Button::new("Accept seeds"),
                )
                .clicked()
            {
                self.accept_seeds();
            }
            if ui
                .add_enabled(has_preview, egui::Button::new("Cancel seeds"))
                .clicked()
            {
                self.cancel_seeds();
            }
        });
    }
}
