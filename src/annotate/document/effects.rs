//! The effects as edits: each computes a label's new extent on a box around
//! it (the label's box, padded by what the effect can reach) and hands the
//! box's before/after to [`SegDocument::commit`], like every edit. Locks and
//! the overwrite policy are applied in one place, [`write_mask`].
//!
//! An effect is planned on the document ([`SegDocument::plan_effect`]: its
//! box and inputs, cheap), run anywhere ([`EffectJob::run`]: the work, pure,
//! so the app runs it on a worker and shows it as a preview), and committed.

use super::change::{Change, gather};
use super::effect_ops::{Logical, LogicalOp, Shell, Smoothing};
use super::effects_two::box_of;
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

/// The pure step of a one-label effect: the label's mask on the box to its new mask.
#[derive(Clone, Debug)]
enum Compute {
    Margin(f64),
    Hollow(f64, morphology::HollowMode),
    Smooth(Smoothing),
    FillHoles(Option<usize>),
    Islands(Neighbours, Option<u64>),
    Interpolate(Option<usize>),
    Threshold {
        values: Vec<f32>,
        lower: f64,
        upper: f64,
    },
    Logical(Logical, Option<Mask>),
}

/// A one-label effect ready to run: its box, the box's labels now, and all
/// it needs; nothing borrowed from the document.
#[derive(Clone, Debug)]
pub struct EffectJob {
    pub op: EditOp,
    pub label: u8,
    pub region: VoxelBox,
    /// The box's labels when planned (the change's "before").
    pub before: Vec<u8>,
    overwrite: Overwrite,
    locked: [u32; 8],
    spacing_mm: [f64; 3],
    /// Per axis, whether the box's low / high face is the volume's border.
    at_border: [[bool; 2]; 3],
    compute: Compute,
}

impl EffectJob {
    /// Shrinks `mask` by `mm` with a Euclidean distance transform's meaning
    /// (scipy's `distance_transform_edt(mask, sampling) > mm`): a voxel goes
    /// when an unlabelled voxel of the volume lies within `mm`; outside the
    /// volume is nothing, not background. Inside the volume the box's own
    /// border is one voxel outside the label, which stands for everything
    /// beyond it; on faces that are the volume's border the mask is extended
    /// by labelled voxels, farther than `mm`, so they erode nothing.
    fn shrink(&self, mask: &Mask, mm: f64) -> Result<Mask, DocumentError> {
        let s = self.spacing_mm;
        let reach = s.map(|x| {
            if mm.is_finite() {
                (mm / x).ceil().min(1e6) as usize + 1
            } else {
                1
            }
        });
        let lo: [usize; 3] = [0, 1, 2].map(|a| if self.at_border[a][0] { reach[a] } else { 0 });
        let hi: [usize; 3] = [0, 1, 2].map(|a| if self.at_border[a][1] { reach[a] } else { 0 });
        if lo == [0; 3] && hi == [0; 3] {
            return Ok(morphology::margin(mask, s, -mm).map_err(EffectError::from)?);
        }
        let size = [0, 1, 2].map(|a| mask.size[a] + lo[a] + hi[a]);
        let mut big = Mask::from_bits(size, vec![true; size.iter().product()]);
        for k in 0..mask.size[2] {
            for j in 0..mask.size[1] {
                for i in 0..mask.size[0] {
                    big.set([i + lo[0], j + lo[1], k + lo[2]], mask.get([i, j, k]));
                }
            }
        }
        let shrunk = morphology::margin(&big, s, -mm).map_err(EffectError::from)?;
        let mut out = Mask::new(mask.size);
        for k in 0..mask.size[2] {
            for j in 0..mask.size[1] {
                for i in 0..mask.size[0] {
                    out.set([i, j, k], shrunk.get([i + lo[0], j + lo[1], k + lo[2]]));
                }
            }
        }
        Ok(out)
    }

    /// The box's labels after the effect.
    pub fn run(&self) -> Result<Vec<u8>, DocumentError> {
        let label = self.label;
        let mask = Mask::from_bits(
            self.region.size(),
            self.before.iter().map(|&l| l == label).collect(),
        );
        let s = self.spacing_mm;
        let target = match &self.compute {
            Compute::Margin(mm) if *mm < 0.0 => self.shrink(&mask, -mm)?,
            Compute::Margin(mm) => morphology::margin(&mask, s, *mm).map_err(EffectError::from)?,
            Compute::Hollow(mm, mode) => {
                let grow = |d: f64| morphology::margin(&mask, s, d).map_err(EffectError::from);
                match mode {
                    morphology::HollowMode::Inside => mask.minus(&self.shrink(&mask, *mm)?),
                    morphology::HollowMode::Outside => grow(*mm)?.minus(&mask),
                    morphology::HollowMode::Centred => {
                        grow(mm / 2.0)?.minus(&self.shrink(&mask, mm / 2.0)?)
                    }
                }
            }
            Compute::Smooth(kernel) => match *kernel {
                Smoothing::Median(r) => morphology::median(&mask, s, r),
                Smoothing::Opening(r) => morphology::opening(&mask, s, r),
                Smoothing::Closing(r) => morphology::closing(&mask, s, r),
                Smoothing::Gaussian(sigma) => morphology::gaussian(&mask, s, sigma),
            }
            .map_err(EffectError::from)?,
            // A 6-connected background, as scipy's binary_fill_holes.
            Compute::FillHoles(None) => components::fill_holes(&mask, Neighbours::Six),
            Compute::FillHoles(Some(axis)) => {
                components::fill_holes_slice_wise(&mask, *axis).map_err(EffectError::from)?
            }
            Compute::Islands(n, Some(v)) => components::remove_small(&mask, *n, *v),
            Compute::Islands(n, None) => components::keep_largest(&mask, *n),
            Compute::Interpolate(axis) => match axis.or_else(|| interpolate::detect_axis(&mask)) {
                Some(a) => interpolate::interpolate(&mask, a).map_err(EffectError::from)?,
                None => mask.clone(),
            },
            Compute::Threshold {
                values,
                lower,
                upper,
            } => {
                let bits = mask.bits.iter().zip(values).map(|(&on, &v)| {
                    let v = f64::from(v);
                    on && v >= *lower && v <= *upper
                });
                Mask::from_bits(mask.size, bits.collect())
            }
            Compute::Logical(operation, with) => {
                let zip = |f: fn(bool, bool) -> bool| {
                    let empty = Mask::new(mask.size);
                    let w = with.as_ref().unwrap_or(&empty);
                    let bits = mask.bits.iter().zip(&w.bits).map(|(&a, &b)| f(a, b));
                    Mask::from_bits(mask.size, bits.collect())
                };
                match operation {
                    Logical::Union => zip(|a, b| a || b),
                    Logical::Subtract => zip(|a, b| a && !b),
                    Logical::Intersect => zip(|a, b| a && b),
                    Logical::Copy => zip(|_, b| b),
                    Logical::Invert => mask.not(),
                    Logical::Clear => Mask::new(mask.size),
                }
            }
        };
        Ok(write_mask(
            &self.before,
            &target,
            label,
            self.overwrite,
            &self.locked,
        ))
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

    fn job(
        &self,
        op: &EditOp,
        label: u8,
        region: VoxelBox,
        overwrite: Overwrite,
        compute: Compute,
    ) -> EffectJob {
        EffectJob {
            op: op.clone(),
            label,
            region,
            before: gather(&self.labels, self.shape(), &region),
            overwrite,
            locked: self.label_set.locked_bits(),
            spacing_mm: self.spacing_mm(),
            at_border: [0, 1, 2]
                .map(|a| [region.min[a] == 0, region.max[a] + 1 == self.shape()[a]]),
            compute,
        }
    }

    /// Plans a one-label effect (every effect but grow from seeds and split
    /// islands, which add labels): `None` when its label is empty, so there
    /// is nothing to compute.
    pub fn plan_effect(&self, op: &EditOp) -> Result<Option<EffectJob>, DocumentError> {
        let (label, pad, overwrite, compute) = match op {
            EditOp::Margin(o) => {
                let mm = finite("margin", o.mm)?;
                let pad = if mm > 0.0 { self.pad_for(mm) } else { [1; 3] };
                (o.label, pad, o.overwrite, Compute::Margin(mm))
            }
            EditOp::Hollow(o) => {
                let mm = finite("shell thickness", o.mm)?;
                let mode = match o.shell {
                    Shell::Inside => morphology::HollowMode::Inside,
                    Shell::Outside => morphology::HollowMode::Outside,
                    Shell::Centred => morphology::HollowMode::Centred,
                };
                let pad = self.pad_for(mm);
                (o.label, pad, o.overwrite, Compute::Hollow(mm, mode))
            }
            EditOp::Smooth(o) => {
                let Some(kernel) = o.smoothing() else {
                    return Err(DocumentError::BadRequest(
                        "smooth takes exactly one of median_mm, opening_mm, closing_mm, \
                         gaussian_mm"
                            .into(),
                    ));
                };
                let reach = match kernel {
                    Smoothing::Median(r) | Smoothing::Opening(r) | Smoothing::Closing(r) => r,
                    Smoothing::Gaussian(s) => 4.0 * s,
                };
                let pad = self.pad_for(finite("kernel size", reach)?);
                (o.label, pad, o.overwrite, Compute::Smooth(kernel))
            }
            // One voxel of padding: the box's border then lies outside the
            // label, and a pocket reaching it reaches the volume border.
            EditOp::FillHoles(o) => (
                o.label,
                [1; 3],
                o.overwrite,
                Compute::FillHoles(o.slice_wise.map(|a| a.index())),
            ),
            EditOp::Islands(o) => {
                let n = neighbours(o.connectivity)?;
                let modes = o.keep_largest as u8 + o.min_voxels.is_some() as u8 + o.split as u8;
                if modes != 1 || o.split {
                    return Err(DocumentError::BadRequest(
                        "islands takes exactly one of keep_largest, min_voxels (split is \
                         applied directly)"
                            .into(),
                    ));
                }
                let c = Compute::Islands(n, o.min_voxels);
                (o.label, [0; 3], Overwrite::Background, c)
            }
            EditOp::Interpolate(o) => (
                o.label,
                [0; 3],
                o.overwrite,
                Compute::Interpolate(o.axis.map(|a| a.index())),
            ),
            EditOp::ThresholdMask(o) => {
                if o.lower.is_nan() || o.upper.is_nan() || o.lower > o.upper {
                    return Err(DocumentError::BadRequest(format!(
                        "threshold range [{}, {}] is empty",
                        o.lower, o.upper
                    )));
                }
                self.effect_label(o.label)?;
                let Some(region) = self.label_boxes[o.label as usize] else {
                    return Ok(None);
                };
                let c = Compute::Threshold {
                    values: self.region_values(&region),
                    lower: o.lower,
                    upper: o.upper,
                };
                return Ok(Some(self.job(
                    op,
                    o.label,
                    region,
                    Overwrite::Background,
                    c,
                )));
            }
            EditOp::Logical(o) => return self.plan_logical(op, o),
            _ => {
                return Err(DocumentError::BadRequest(format!(
                    "{} is not a one-label effect",
                    op.name()
                )));
            }
        };
        self.effect_label(label)?;
        let Some(bx) = self.label_boxes[label as usize] else {
            return Ok(None);
        };
        let region = self.padded(bx, pad);
        Ok(Some(self.job(op, label, region, overwrite, compute)))
    }

    /// The logical operations: the box covers both labels (the whole grid to invert).
    fn plan_logical(&self, op: &EditOp, o: &LogicalOp) -> Result<Option<EffectJob>, DocumentError> {
        self.effect_label(o.label)?;
        let shape = self.shape();
        let other = match &o.with_map {
            Some(p) => Some(self.read_map(p)?),
            None => None,
        };
        let with = match (o.operation, o.with) {
            (Logical::Invert | Logical::Clear, _) => None,
            (_, Some(m)) => Some(m),
            (_, None) => {
                return Err(DocumentError::BadRequest(format!(
                    "logical {:?} needs `with` (the other label)",
                    o.operation
                )));
            }
        };
        let source: &[u8] = other.as_deref().unwrap_or(&self.labels);
        let with_box = with.and_then(|m| box_of(source, shape, |l| l == m));
        let region = match o.operation {
            Logical::Invert => Some(VoxelBox::whole(shape)),
            _ => [self.label_boxes[o.label as usize], with_box]
                .into_iter()
                .flatten()
                .reduce(|a, b| a.union(&b)),
        };
        let Some(region) = region else {
            return Ok(None);
        };
        let with_mask = with.map(|m| {
            let g = gather(source, shape, &region);
            Mask::from_bits(region.size(), g.iter().map(|&l| l == m).collect())
        });
        let c = Compute::Logical(o.operation, with_mask);
        Ok(Some(self.job(op, o.label, region, o.overwrite, c)))
    }

    /// Commits a job's result (`after`, from [`EffectJob::run`]) as one edit.
    /// The box must still hold what the job was planned on.
    pub fn commit_effect(
        &mut self,
        job: &EffectJob,
        after: Vec<u8>,
    ) -> Result<EditOutcome, DocumentError> {
        let shape = self.shape();
        if gather(&self.labels, shape, &job.region) != job.before {
            return Err(DocumentError::BadRequest(
                "the labels changed while the effect ran; apply it again".into(),
            ));
        }
        self.preview = None;
        let change = Change {
            region: job.region,
            before: job.before.clone(),
            after,
        };
        change.apply(&mut self.labels, shape);
        self.commit(
            job.op.name(),
            job.op.params(),
            Some(change),
            false,
            EntryKind::Edit,
        )
    }

    pub(super) fn apply_effect(&mut self, op: &EditOp) -> Result<EditOutcome, DocumentError> {
        match op {
            EditOp::Seeds(o) => self.seeds(op, o),
            EditOp::Islands(o) if o.split => {
                let n = neighbours(o.connectivity)?;
                if o.keep_largest || o.min_voxels.is_some() {
                    return Err(DocumentError::BadRequest(
                        "islands takes exactly one of keep_largest, min_voxels, split".into(),
                    ));
                }
                self.split_islands(op, o.label, n)
            }
            _ => match self.plan_effect(op)? {
                Some(job) => {
                    let after = job.run()?;
                    self.commit_effect(&job, after)
                }
                // An empty label: nothing changes, but the request is journaled.
                None => {
                    self.preview = None;
                    self.commit(op.name(), op.params(), None, false, EntryKind::Edit)
                }
            },
        }
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
