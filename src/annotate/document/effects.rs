//! The effects as edits: each computes a label's new extent on a box around
//! it (the label's box, padded by what the effect can reach) and hands the
//! box's before/after to [`SegDocument::commit`], like every edit. Locks and
//! the overwrite policy are applied in one place, [`write_mask`].

use super::change::{Change, gather};
use super::effect_ops::{
    FillHolesOp, HollowOp, InterpolateOp, IslandsOp, MarginOp, Shell, SmoothOp, Smoothing,
    ThresholdMaskOp,
};
use super::ops::{EditOp, Overwrite};
use super::{DocumentError, EditOutcome, SegDocument};
use crate::annotate::effects::mask::{Mask, Neighbours};
use crate::annotate::effects::{EffectError, components, interpolate, morphology};
use crate::annotate::journal::EntryKind;
use crate::annotate::labels::{LabelInfo, is_locked};
use crate::annotate::undo::VoxelBox;
use crate::volume::spacing_from_matrix;

/// Sets `label` where `target` is on and clears it where off, inside the box
/// whose labels are `before`: a voxel of another label is taken only under
/// [`Overwrite::All`] and when that label is unlocked.
pub(crate) fn write_mask(
    before: &[u8],
    target: &Mask,
    label: u8,
    overwrite: Overwrite,
    locked: &[u32; 8],
) -> Vec<u8> {
    before
        .iter()
        .zip(&target.bits)
        .map(|(&cur, &on)| match (on, cur) {
            (true, c) if c == label => c,
            (true, 0) => label,
            (true, c) if overwrite == Overwrite::All && !is_locked(locked, c) => label,
            (false, c) if c == label => 0,
            (_, c) => c,
        })
        .collect()
}

fn neighbours(connectivity: u32) -> Result<Neighbours, DocumentError> {
    match connectivity {
        6 => Ok(Neighbours::Six),
        26 => Ok(Neighbours::TwentySix),
        c => Err(DocumentError::BadRequest(format!(
            "connectivity must be 6 or 26, not {c}"
        ))),
    }
}

fn finite(what: &str, mm: f64) -> Result<f64, DocumentError> {
    if mm.is_finite() {
        Ok(mm)
    } else {
        Err(DocumentError::BadRequest(format!(
            "{what} must be a finite number of mm, not {mm}"
        )))
    }
}

impl SegDocument {
    pub fn spacing_mm(&self) -> [f64; 3] {
        spacing_from_matrix(&self.image.ras_from_voxel)
    }

    /// Voxels along each axis covering `mm`, plus one.
    pub fn pad_for(&self, mm: f64) -> [usize; 3] {
        self.spacing_mm()
            .map(|s| (mm.abs() / s).ceil().min(1e6) as usize + 1)
    }

    /// `bx` grown by `pad` voxels per axis, clipped to the grid.
    pub fn padded(&self, bx: VoxelBox, pad: [usize; 3]) -> VoxelBox {
        let shape = self.shape();
        VoxelBox {
            min: [0, 1, 2].map(|a| bx.min[a].saturating_sub(pad[a])),
            max: [0, 1, 2].map(|a| (bx.max[a].saturating_add(pad[a])).min(shape[a] - 1)),
        }
    }

    /// The label an effect edits: not background, known, unlocked.
    pub(super) fn effect_label(&self, label: u8) -> Result<(), DocumentError> {
        if label == 0 {
            return Err(DocumentError::Background("edited by an effect"));
        }
        if self.label_set.get(label).is_none() && self.counts[label as usize] == 0 {
            return Err(DocumentError::NoSuchLabel(label));
        }
        if is_locked(&self.label_set.locked_bits(), label) {
            return Err(DocumentError::Locked(label));
        }
        Ok(())
    }

    /// The common path of the one-label effects: `effect` maps the label's
    /// mask on `region` (its box padded by `pad`) to its new mask there.
    fn label_effect(
        &mut self,
        op: &EditOp,
        label: u8,
        pad: [usize; 3],
        overwrite: Overwrite,
        effect: impl FnOnce(&Self, &Mask, VoxelBox) -> Result<Mask, DocumentError>,
    ) -> Result<EditOutcome, DocumentError> {
        self.effect_label(label)?;
        self.preview = None;
        let Some(bx) = self.label_boxes[label as usize] else {
            // An empty label: nothing to change, but the request is journaled.
            return self.commit(op.name(), op.params(), None, false, EntryKind::Edit);
        };
        let region = self.padded(bx, pad);
        self.mask_edit(op, label, region, overwrite, effect)
    }

    /// Applies `effect` to `label`'s mask on `region` and commits the change.
    pub(super) fn mask_edit(
        &mut self,
        op: &EditOp,
        label: u8,
        region: VoxelBox,
        overwrite: Overwrite,
        effect: impl FnOnce(&Self, &Mask, VoxelBox) -> Result<Mask, DocumentError>,
    ) -> Result<EditOutcome, DocumentError> {
        let shape = self.shape();
        let before = gather(&self.labels, shape, &region);
        let mask = Mask::from_bits(region.size(), before.iter().map(|&l| l == label).collect());
        let target = effect(self, &mask, region)?;
        let after = write_mask(
            &before,
            &target,
            label,
            overwrite,
            &self.label_set.locked_bits(),
        );
        let change = Change {
            region,
            before,
            after,
        };
        change.apply(&mut self.labels, shape);
        self.commit(op.name(), op.params(), Some(change), false, EntryKind::Edit)
    }

    pub(super) fn apply_effect(&mut self, op: &EditOp) -> Result<EditOutcome, DocumentError> {
        match op {
            EditOp::Margin(o) => self.margin(op, o),
            EditOp::Hollow(o) => self.hollow(op, o),
            EditOp::Smooth(o) => self.smooth(op, o),
            EditOp::FillHoles(o) => self.fill_holes(op, o),
            EditOp::Islands(o) => self.islands(op, o),
            EditOp::Interpolate(o) => self.interpolate(op, o),
            EditOp::ThresholdMask(o) => self.threshold_mask(op, o),
            EditOp::Logical(o) => self.logical(op, o),
            EditOp::Seeds(o) => self.seeds(op, o),
            _ => Err(DocumentError::BadRequest(format!(
                "{} is not an effect",
                op.name()
            ))),
        }
    }

    fn margin(&mut self, op: &EditOp, o: &MarginOp) -> Result<EditOutcome, DocumentError> {
        let mm = finite("margin", o.mm)?;
        let pad = if mm > 0.0 { self.pad_for(mm) } else { [1; 3] };
        self.label_effect(op, o.label, pad, o.overwrite, |doc, mask, _| {
            Ok(morphology::margin(mask, doc.spacing_mm(), mm).map_err(EffectError::from)?)
        })
    }

    fn hollow(&mut self, op: &EditOp, o: &HollowOp) -> Result<EditOutcome, DocumentError> {
        let mm = finite("shell thickness", o.mm)?;
        let mode = match o.shell {
            Shell::Inside => morphology::HollowMode::Inside,
            Shell::Outside => morphology::HollowMode::Outside,
            Shell::Centred => morphology::HollowMode::Centred,
        };
        self.label_effect(
            op,
            o.label,
            self.pad_for(mm),
            o.overwrite,
            |doc, mask, _| {
                Ok(morphology::hollow(mask, doc.spacing_mm(), mm, mode)
                    .map_err(EffectError::from)?)
            },
        )
    }

    fn smooth(&mut self, op: &EditOp, o: &SmoothOp) -> Result<EditOutcome, DocumentError> {
        let Some(kernel) = o.smoothing() else {
            return Err(DocumentError::BadRequest(
                "smooth takes exactly one of median_mm, opening_mm, closing_mm, gaussian_mm".into(),
            ));
        };
        let reach = match kernel {
            Smoothing::Median(r) | Smoothing::Opening(r) | Smoothing::Closing(r) => r,
            Smoothing::Gaussian(s) => 4.0 * s,
        };
        let pad = self.pad_for(finite("kernel size", reach)?);
        self.label_effect(op, o.label, pad, o.overwrite, |doc, mask, _| {
            let s = doc.spacing_mm();
            let out = match kernel {
                Smoothing::Median(r) => morphology::median(mask, s, r),
                Smoothing::Opening(r) => morphology::opening(mask, s, r),
                Smoothing::Closing(r) => morphology::closing(mask, s, r),
                Smoothing::Gaussian(sigma) => morphology::gaussian(mask, s, sigma),
            };
            Ok(out.map_err(EffectError::from)?)
        })
    }

    fn fill_holes(&mut self, op: &EditOp, o: &FillHolesOp) -> Result<EditOutcome, DocumentError> {
        // One voxel of padding: the box's border then lies outside the label,
        // and a pocket reaching it reaches the volume border.
        self.label_effect(op, o.label, [1; 3], o.overwrite, |_, mask, _| {
            Ok(match o.slice_wise {
                None => components::fill_holes(mask, Neighbours::Six),
                Some(axis) => components::fill_holes_slice_wise(mask, axis.index())
                    .map_err(EffectError::from)?,
            })
        })
    }

    fn interpolate(
        &mut self,
        op: &EditOp,
        o: &InterpolateOp,
    ) -> Result<EditOutcome, DocumentError> {
        self.label_effect(op, o.label, [0; 3], o.overwrite, |_, mask, _| {
            let axis = match o.axis {
                Some(a) => a.index(),
                None => match interpolate::detect_axis(mask) {
                    Some(a) => a,
                    None => return Ok(mask.clone()),
                },
            };
            Ok(interpolate::interpolate(mask, axis).map_err(EffectError::from)?)
        })
    }

    fn threshold_mask(
        &mut self,
        op: &EditOp,
        o: &ThresholdMaskOp,
    ) -> Result<EditOutcome, DocumentError> {
        if o.lower.is_nan() || o.upper.is_nan() || o.lower > o.upper {
            return Err(DocumentError::BadRequest(format!(
                "threshold range [{}, {}] is empty",
                o.lower, o.upper
            )));
        }
        let shape = self.shape();
        self.label_effect(
            op,
            o.label,
            [0; 3],
            Overwrite::Background,
            |doc, mask, region| {
                let mut out = mask.clone();
                for (n, on) in out.bits.iter_mut().enumerate().filter(|(_, on)| **on) {
                    let [i, j, k] = mask.ijk(n);
                    let at = (region.min[0] + i)
                        + shape[0] * ((region.min[1] + j) + shape[1] * (region.min[2] + k));
                    let v = doc.image.data.get_f64(at).unwrap_or(f64::NAN);
                    *on = v >= o.lower && v <= o.upper;
                }
                Ok(out)
            },
        )
    }

    fn islands(&mut self, op: &EditOp, o: &IslandsOp) -> Result<EditOutcome, DocumentError> {
        let n = neighbours(o.connectivity)?;
        let modes = o.keep_largest as u8 + o.min_voxels.is_some() as u8 + o.split as u8;
        if modes != 1 {
            return Err(DocumentError::BadRequest(
                "islands takes exactly one of keep_largest, min_voxels, split".into(),
            ));
        }
        if o.split {
            return self.split_islands(op, o.label, n);
        }
        self.label_effect(op, o.label, [0; 3], Overwrite::Background, |_, mask, _| {
            Ok(match o.min_voxels {
                Some(v) => components::remove_small(mask, n, v),
                None => components::keep_largest(mask, n),
            })
        })
    }

    /// The largest island keeps the label (as Slicer's "split islands to
    /// segments" does); every other island gets a new label, largest first.
    fn split_islands(
        &mut self,
        op: &EditOp,
        label: u8,
        n: Neighbours,
    ) -> Result<EditOutcome, DocumentError> {
        self.effect_label(label)?;
        self.preview = None;
        let Some(region) = self.label_boxes[label as usize] else {
            return self.commit(op.name(), op.params(), None, false, EntryKind::Edit);
        };
        let shape = self.shape();
        let before = gather(&self.labels, shape, &region);
        let mask = Mask::from_bits(region.size(), before.iter().map(|&l| l == label).collect());
        let parts = components::components(&mask, n);
        let extra = parts.sizes.len().saturating_sub(1);
        let free: Vec<u8> = (1..=255u8)
            .filter(|&v| self.label_set.get(v).is_none() && self.counts[v as usize] == 0)
            .take(extra)
            .collect();
        if free.len() < extra {
            return Err(DocumentError::BadRequest(format!(
                "{} islands need {extra} new labels; only {} label values are free",
                extra + 1,
                free.len()
            )));
        }
        let base = self
            .label_set
            .get(label)
            .map_or_else(|| format!("Label {label}"), |l| l.name.clone());
        for (n, &v) in free.iter().enumerate() {
            self.label_set
                .labels
                .push(LabelInfo::new(v, format!("{base} island {}", n + 2)));
        }
        let after: Vec<u8> = before
            .iter()
            .zip(&parts.ids)
            .map(|(&l, &id)| if id >= 2 { free[id as usize - 2] } else { l })
            .collect();
        let change = Change {
            region,
            before,
            after,
        };
        change.apply(&mut self.labels, shape);
        self.commit(
            op.name(),
            op.params(),
            Some(change),
            extra > 0,
            EntryKind::Edit,
        )
    }
}
