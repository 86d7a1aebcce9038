//! The edits: each builds a [`Change`] confined to its box and hands it to
//! [`SegDocument::commit`].

use glam::DVec3;

use super::change::{Change, gather};
use super::ops::{EditOp, Overwrite};
use super::preview::RegionPreview;
use super::{DocumentError, EditOutcome, SegDocument, StrokeRecord};
use crate::annotate::brush::{self, BrushMode, BrushStroke, OverwritePolicy};
use crate::annotate::grow::cpu::grow_region_cpu;
use crate::annotate::grow::{Connectivity, GrowRequest, VoxelBits, seed_from_ras};
use crate::annotate::journal::EntryKind;
use crate::annotate::labels::{LabelInfo, is_locked};
use crate::annotate::undo::{BRICK, VoxelBox};

impl SegDocument {
    /// Applies one edit request (a script op) on the CPU.
    pub fn apply(&mut self, op: &EditOp) -> Result<EditOutcome, DocumentError> {
        match op {
            EditOp::Brush { .. } => {
                let stroke = self.stroke_for(op)?;
                self.brush(&stroke, Some(op))
            }
            EditOp::Grow { .. } => {
                let request = self.grow_request(op)?;
                let (bits, outcome) = grow_region_cpu(&self.image, &self.labels, &request)?;
                self.preview = Some(RegionPreview::from_bits(
                    &bits,
                    request.label,
                    op.name(),
                    op.params(),
                ));
                let mut out = self.accept_preview()?;
                out.warnings.extend(outcome.warnings);
                Ok(out)
            }
            EditOp::AddLabel { label, name, color } => {
                let mut info = LabelInfo::new(*label, format!("Label {label}"));
                if let Some(n) = name {
                    info.name = n.clone();
                }
                if let Some(c) = color {
                    info.color = *c;
                }
                self.add_label(info)
            }
            EditOp::SetLabel { label, .. } => self.set_label(op, *label),
            EditOp::DeleteLabel { label } => self.delete_label(*label),
            EditOp::MergeLabels { from, into } => self.merge_labels(*from, *into),
            EditOp::Undo => self.undo_redo(false),
            EditOp::Redo => self.undo_redo(true),
            _ => self.apply_effect(op),
        }
    }

    /// The engine stroke of a brush op, with this document's locks.
    pub fn stroke_for(&self, op: &EditOp) -> Result<BrushStroke, DocumentError> {
        let EditOp::Brush {
            label,
            points_mm,
            radius_mm,
            erase,
            plane,
            lower,
            upper,
            overwrite,
        } = op
        else {
            return Err(DocumentError::BadRequest("not a brush op".into()));
        };
        if points_mm.is_empty() {
            return Err(brush::BrushError::NoPoints.into());
        }
        let mode = if *erase {
            BrushMode::Erase {
                only_label: (*label != 0).then_some(*label),
            }
        } else {
            BrushMode::Paint { label: *label }
        };
        let stroke = BrushStroke {
            points_ras_mm: points_mm.iter().map(|p| DVec3::from_array(*p)).collect(),
            radius_mm: *radius_mm,
            mode,
            policy: match overwrite {
                Overwrite::All => OverwritePolicy::All,
                Overwrite::Background => OverwritePolicy::BackgroundOnly,
            },
            intensity_range: match (lower, upper) {
                (None, None) => None,
                (lo, hi) => Some((lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY))),
            },
            disk: plane.map(Into::into),
            locked_bits: self.label_set.locked_bits(),
        };
        stroke.validate()?;
        Ok(stroke)
    }

    /// One whole stroke on the CPU reference, as one edit.
    pub fn brush(
        &mut self,
        stroke: &BrushStroke,
        op: Option<&EditOp>,
    ) -> Result<EditOutcome, DocumentError> {
        if let BrushMode::Paint { label } = stroke.mode {
            if label == 0 {
                return Err(brush::BrushError::PaintBackground.into());
            }
            if is_locked(&stroke.locked_bits, label) {
                return Err(brush::BrushError::LockedLabel(label).into());
            }
        }
        self.preview = None;
        let shape = self.shape();
        let bounds = brush::stroke_bounds(stroke, shape, &self.image.ras_from_voxel)?;
        let change = match bounds {
            Some(bx) => {
                let before = gather(&self.labels, shape, &bx);
                brush::cpu::apply_stroke(&self.image, &mut self.labels, stroke)?;
                let after = gather(&self.labels, shape, &bx);
                Some(Change {
                    region: bx,
                    before,
                    after,
                })
            }
            None => None,
        };
        let op = op.cloned().unwrap_or_else(|| EditOp::from_stroke(stroke));
        let changed_set = self.describe_painted(stroke);
        self.commit(op.name(), op.params(), change, changed_set, EntryKind::Edit)
    }

    /// A painted label value gets a description if it has none.
    fn describe_painted(&mut self, stroke: &BrushStroke) -> bool {
        match stroke.mode {
            BrushMode::Paint { label } if self.label_set.get(label).is_none() => {
                self.label_set
                    .labels
                    .push(LabelInfo::new(label, format!("Label {label}")));
                true
            }
            _ => false,
        }
    }

    /// Starts a stroke painted in pieces (GPU or CPU) through [`Self::stroke_labels_mut`].
    pub fn begin_stroke(&mut self) {
        self.preview = None;
        self.stroke = Some(StrokeRecord::default());
    }

    /// The map, for writing `bx` during a stroke: the bricks of `bx` are
    /// copied first (once per stroke), so the stroke's "before" is known.
    pub fn stroke_labels_mut(&mut self, bx: VoxelBox) -> &mut [u8] {
        let shape = self.shape();
        let record = self.stroke.get_or_insert_with(StrokeRecord::default);
        record.region = Some(record.region.map_or(bx, |r| r.union(&bx)));
        let bricks = shape.map(|n| n.div_ceil(BRICK));
        let lo = bx.min.map(|x| x / BRICK);
        let hi = bx.max.map(|x| x / BRICK);
        for k in lo[2]..=hi[2].min(bricks[2] - 1) {
            for j in lo[1]..=hi[1].min(bricks[1] - 1) {
                for i in lo[0]..=hi[0].min(bricks[0] - 1) {
                    let b = i + bricks[0] * (j + bricks[1] * k);
                    record
                        .originals
                        .entry(b)
                        .or_insert_with(|| gather(&self.labels, shape, &brick_box(shape, b)));
                }
            }
        }
        &mut self.labels
    }

    /// Whether a stroke begun with [`Self::begin_stroke`] is open.
    pub fn stroke_open(&self) -> bool {
        self.stroke.is_some()
    }

    /// Closes a stroke that painted nothing (its copied bricks are dropped).
    pub fn cancel_stroke(&mut self) {
        self.stroke = None;
    }

    /// Replaces the label set (names, colours, visibility, locks, review) as one edit.
    pub fn set_label_set(
        &mut self,
        set: crate::annotate::labels::LabelSet,
    ) -> Result<EditOutcome, DocumentError> {
        self.label_set = set;
        let params = serde_json::json!({});
        self.commit("set_labels", params, None, true, EntryKind::Edit)
    }

    /// Ends a stroke begun with [`Self::begin_stroke`]: one edit, recorded as `stroke`
    /// (the op of its first segment; pass the whole polyline when known).
    pub fn end_stroke(&mut self, stroke: &BrushStroke) -> Result<EditOutcome, DocumentError> {
        let Some(record) = self.stroke.take() else {
            return Ok(EditOutcome::default());
        };
        let shape = self.shape();
        let change = record.region.map(|region| {
            let after = gather(&self.labels, shape, &region);
            let mut before = after.clone();
            for (b, original) in &record.originals {
                let bx = brick_box(shape, *b);
                overlay(&mut before, &region, original, &bx);
            }
            Change {
                region,
                before,
                after,
            }
        });
        let op = EditOp::from_stroke(stroke);
        let changed_set = self.describe_painted(stroke);
        self.commit(op.name(), op.params(), change, changed_set, EntryKind::Edit)
    }

    /// The engine request of a grow op, with this document's locks.
    pub fn grow_request(&self, op: &EditOp) -> Result<GrowRequest, DocumentError> {
        let EditOp::Grow {
            label,
            seed_mm,
            lower,
            upper,
            connectivity,
            max_distance_mm,
        } = op
        else {
            return Err(DocumentError::BadRequest("not a grow op".into()));
        };
        let connectivity = Connectivity::from_neighbours(*connectivity).ok_or_else(|| {
            DocumentError::BadRequest(format!(
                "connectivity {connectivity}: use 6 (faces) or 26 (faces, edges, corners)"
            ))
        })?;
        if is_locked(&self.label_set.locked_bits(), *label) {
            return Err(DocumentError::Locked(*label));
        }
        let seed = seed_from_ras(&self.image, *seed_mm)?;
        let mut request = GrowRequest::new(
            &self.image,
            vec![seed],
            *lower,
            *upper,
            connectivity,
            *label,
        );
        request.max_distance_mm = *max_distance_mm;
        request.locked_bits = self.label_set.locked_bits();
        Ok(request)
    }

    /// Shows a computed region (e.g. a GPU grow's bitmask) as the pending preview.
    pub fn set_preview_bits(&mut self, bits: &VoxelBits, label: u8, op: &EditOp) {
        self.preview = Some(RegionPreview::from_bits(
            bits,
            label,
            op.name(),
            op.params(),
        ));
        self.version += 1;
    }

    /// Shows a region as the pending preview (replacing any other).
    pub fn set_preview(&mut self, preview: RegionPreview) {
        self.preview = Some(preview);
        self.version += 1;
    }

    pub fn cancel_preview(&mut self) -> bool {
        let had = self.preview.take().is_some();
        if had {
            self.version += 1;
        }
        had
    }

    /// Commits the preview: its voxels take its label, except locked ones.
    pub fn accept_preview(&mut self) -> Result<EditOutcome, DocumentError> {
        let Some(p) = self.preview.take() else {
            return Ok(EditOutcome::default());
        };
        let shape = self.shape();
        let locked = self.label_set.locked_bits();
        let change = p.region.map(|bx| {
            let before = gather(&self.labels, shape, &bx);
            let after: Vec<u8> = before
                .iter()
                .zip(&p.mask)
                .enumerate()
                .map(|(n, (&l, &m))| match &p.after {
                    _ if m == 0 || is_locked(&locked, l) => l,
                    Some(after) => after[n],
                    None => p.label,
                })
                .collect();
            super::change::scatter(&mut self.labels, shape, &bx, &after);
            Change {
                region: bx,
                before,
                after,
            }
        });
        let described = self.label_set.get(p.label).is_none();
        if described {
            let label = p.label;
            self.label_set
                .labels
                .push(LabelInfo::new(label, format!("Label {label}")));
        }
        self.commit(&p.tool, p.params, change, described, EntryKind::Edit)
    }

    fn undo_redo(&mut self, redo: bool) -> Result<EditOutcome, DocumentError> {
        self.preview = None;
        let pending = if redo {
            self.undo.redo_len()
        } else {
            self.undo.undo_len()
        };
        if pending == 0 {
            return Ok(EditOutcome::default());
        }
        let region = self.undo.peek_region(redo);
        let shape = self.shape();
        let before = region.map(|r| gather(&self.labels, shape, &r));
        let applied = if redo {
            self.undo.redo(&mut self.labels)?
        } else {
            self.undo.undo(&mut self.labels)?
        };
        let kind = if redo {
            EntryKind::Redo
        } else {
            EntryKind::Undo
        };
        let change = region.zip(before).map(|(region, before)| Change {
            region,
            after: gather(&self.labels, shape, &region),
            before,
        });
        let (what, set) = applied.map_or((String::new(), None), |a| (a.description, a.label_set));
        let set_changed = set.is_some();
        if let Some(set) = set {
            self.label_set = set;
        }
        let params = serde_json::json!({ "edit": what });
        let tool = if redo { "redo" } else { "undo" };
        let mut out = self.commit(tool, params, change, set_changed, kind)?;
        out.undone_edit = Some(what);
        Ok(out)
    }

    pub fn add_label(&mut self, info: LabelInfo) -> Result<EditOutcome, DocumentError> {
        if info.value == 0 {
            return Err(DocumentError::Background("described"));
        }
        if self.label_set.get(info.value).is_some() {
            return Err(DocumentError::LabelExists(info.value));
        }
        let op = EditOp::AddLabel {
            label: info.value,
            name: Some(info.name.clone()),
            color: Some(info.color),
        };
        self.label_set.labels.push(info);
        self.commit(op.name(), op.params(), None, true, EntryKind::Edit)
    }

    fn set_label(&mut self, op: &EditOp, value: u8) -> Result<EditOutcome, DocumentError> {
        let EditOp::SetLabel {
            name,
            color,
            opacity,
            visible,
            locked,
            terminology,
            review,
            note,
            ..
        } = op
        else {
            return Err(DocumentError::BadRequest("not a set_label op".into()));
        };
        let info = self
            .label_set
            .get_mut(value)
            .ok_or(DocumentError::NoSuchLabel(value))?;
        if let Some(n) = name {
            info.name = n.clone();
        }
        if let Some(c) = color {
            info.color = *c;
        }
        if let Some(o) = opacity {
            info.opacity = o.clamp(0.0, 1.0);
        }
        if let Some(v) = visible {
            info.visible = *v;
        }
        if let Some(l) = locked {
            info.locked = *l;
        }
        if let Some(t) = terminology {
            info.terminology = Some(t.as_ref().clone());
        }
        if let Some(r) = review {
            info.review.status = *r;
        }
        if let Some(n) = note {
            info.review.note = n.clone();
        }
        self.commit(op.name(), op.params(), None, true, EntryKind::Edit)
    }

    /// Changes every voxel of `from` to `to` inside the label's box.
    fn relabel(&mut self, from: u8, to: u8) -> Option<Change> {
        let bx = self.label_boxes[from as usize]?;
        let shape = self.shape();
        let before = gather(&self.labels, shape, &bx);
        let after: Vec<u8> = before
            .iter()
            .map(|&l| if l == from { to } else { l })
            .collect();
        super::change::scatter(&mut self.labels, shape, &bx, &after);
        self.label_boxes[from as usize] = None;
        Some(Change {
            region: bx,
            before,
            after,
        })
    }

    /// Clears a label's voxels and removes it from the label set (locks apply).
    pub fn delete_label(&mut self, value: u8) -> Result<EditOutcome, DocumentError> {
        if value == 0 {
            return Err(DocumentError::Background("deleted"));
        }
        if self.label_set.get(value).is_none() && self.counts[value as usize] == 0 {
            return Err(DocumentError::NoSuchLabel(value));
        }
        if is_locked(&self.label_set.locked_bits(), value) {
            return Err(DocumentError::Locked(value));
        }
        self.preview = None;
        let change = self.relabel(value, 0);
        self.label_set.labels.retain(|l| l.value != value);
        let op = EditOp::DeleteLabel { label: value };
        self.commit(op.name(), op.params(), change, true, EntryKind::Edit)
    }

    /// Gives `from`'s voxels to `into`; `from` leaves the label set.
    pub fn merge_labels(&mut self, from: u8, into: u8) -> Result<EditOutcome, DocumentError> {
        if from == 0 || into == 0 {
            return Err(DocumentError::Background("merged"));
        }
        if from == into {
            return Err(DocumentError::BadRequest(format!(
                "cannot merge label {from} into itself"
            )));
        }
        for l in [from, into] {
            if self.label_set.get(l).is_none() && self.counts[l as usize] == 0 {
                return Err(DocumentError::NoSuchLabel(l));
            }
            if is_locked(&self.label_set.locked_bits(), l) {
                return Err(DocumentError::Locked(l));
            }
        }
        self.preview = None;
        let change = self.relabel(from, into);
        self.label_set.labels.retain(|l| l.value != from);
        if self.label_set.get(into).is_none() {
            self.label_set
                .labels
                .push(LabelInfo::new(into, format!("Label {into}")));
        }
        let op = EditOp::MergeLabels { from, into };
        self.commit(op.name(), op.params(), change, true, EntryKind::Edit)
    }
}

fn brick_box(shape: [usize; 3], b: usize) -> VoxelBox {
    let n = shape.map(|s| s.div_ceil(BRICK));
    let idx = [b % n[0], (b / n[0]) % n[1], b / (n[0] * n[1])];
    VoxelBox {
        min: idx.map(|x| x * BRICK),
        max: [0, 1, 2].map(|a| ((idx[a] + 1) * BRICK).min(shape[a]) - 1),
    }
}

/// Copies the part of brick `bx` (values `brick`) inside `region` into
/// `dst` (values of `region`).
fn overlay(dst: &mut [u8], region: &VoxelBox, brick: &[u8], bx: &VoxelBox) {
    let lo = [0, 1, 2].map(|a| bx.min[a].max(region.min[a]));
    let hi = [0, 1, 2].map(|a| bx.max[a].min(region.max[a]));
    if (0..3).any(|a| lo[a] > hi[a]) {
        return;
    }
    let (rs, bs) = (region.size(), bx.size());
    let n = hi[0] + 1 - lo[0];
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            let d = (lo[0] - region.min[0])
                + rs[0] * ((y - region.min[1]) + rs[1] * (z - region.min[2]));
            let s = (lo[0] - bx.min[0]) + bs[0] * ((y - bx.min[1]) + bs[1] * (z - bx.min[2]));
            dst[d..d + n].copy_from_slice(&brick[s..s + n]);
        }
    }
}
