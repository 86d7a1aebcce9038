//! Grow from seeds (its seeds a second map on the image grid), and reading
//! such maps.

use std::path::Path;

use super::change::{Change, gather};
use super::effect_ops::SeedsOp;
use super::ops::{EditOp, Overwrite};
use super::{DocumentError, EditOutcome, SegDocument};
use crate::annotate::effects::EffectError;
use crate::annotate::journal::EntryKind;
use crate::annotate::label_formats::read_label_map;
use crate::annotate::labels::is_locked;
use crate::annotate::seeds::{SeedParams, grow_from_seeds, smooth};

/// How grow from seeds runs (the op's settings, without its seed map).
#[derive(Clone, Debug, PartialEq)]
pub struct SeedsSettings {
    /// The region of interest: the seeds' box grown by this.
    pub roi_margin_mm: f64,
    /// Gaussian σ (mm) applied to the values first; 0: none.
    pub smoothing_mm: f64,
    /// This label competes but is left out of the result.
    pub background: Option<u8>,
    pub overwrite: Overwrite,
}

impl Default for SeedsSettings {
    fn default() -> Self {
        SeedsSettings {
            roi_margin_mm: 15.0,
            smoothing_mm: super::effect_ops::SEEDS_SMOOTHING_MM,
            background: None,
            overwrite: Overwrite::All,
        }
    }
}
use crate::annotate::undo::VoxelBox;

/// The box of the voxels of `labels` (on `shape`) for which `keep` holds.
pub(super) fn box_of(
    labels: &[u8],
    shape: [usize; 3],
    keep: impl Fn(u8) -> bool,
) -> Option<VoxelBox> {
    let mut bx: Option<VoxelBox> = None;
    let row = shape[0];
    for (r, line) in labels.chunks_exact(row).enumerate() {
        let (Some(first), Some(last)) = (
            line.iter().position(|&l| keep(l)),
            line.iter().rposition(|&l| keep(l)),
        ) else {
            continue;
        };
        let (j, k) = (r % shape[1], r / shape[1]);
        let b = VoxelBox {
            min: [first, j, k],
            max: [last, j, k],
        };
        bx = Some(bx.map_or(b, |x| x.union(&b)));
    }
    bx
}

/// Grow-from-seeds parameters for an ROI's values: the distance penalty
/// (which splits flat areas by proximity) scaled to the values' range, 1e-5
/// of it per mm (0.02 HU/mm on a CT ROI spanning 2000 HU), so that it means
/// the same on CT in HU and on MR in arbitrary units.
pub fn seed_params(values: &[f32]) -> SeedParams {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let range = if hi > lo { f64::from(hi - lo) } else { 0.0 };
    SeedParams {
        distance_penalty: 1e-5 * range,
        ..SeedParams::default()
    }
}

impl SegDocument {
    /// A second map on this image's grid (its warnings dropped: the op is data).
    pub(super) fn read_map(&self, path: &str) -> Result<Vec<u8>, DocumentError> {
        Ok(read_label_map(Path::new(path), &self.image, None)?.labels)
    }

    pub(super) fn seeds(&mut self, op: &EditOp, o: &SeedsOp) -> Result<EditOutcome, DocumentError> {
        if !o.smoothing_mm.is_finite() || o.smoothing_mm < 0.0 {
            return Err(DocumentError::BadRequest(format!(
                "smoothing_mm must be ≥ 0, not {}",
                o.smoothing_mm
            )));
        }
        let seeds = self.read_map(&o.seeds)?;
        let settings = SeedsSettings {
            roi_margin_mm: o.roi_margin_mm,
            smoothing_mm: o.smoothing_mm,
            background: o.background,
            overwrite: o.overwrite,
        };
        self.grow_seeds(op, &seeds, &settings)
    }

    /// Grow from seeds with the seeds given as a map on the image grid: the
    /// seeds' box grown by `margin_mm` is the region every seed label
    /// competes for (see [`Self::seeds_outcome`] for what is written).
    pub fn grow_seeds(
        &mut self,
        op: &EditOp,
        seeds: &[u8],
        settings: &SeedsSettings,
    ) -> Result<EditOutcome, DocumentError> {
        let (background, overwrite) = (settings.background, settings.overwrite);
        let shape = self.shape();
        if seeds.len() != self.labels.len() {
            return Err(DocumentError::Grid {
                got: seeds.len(),
                want: self.labels.len(),
                shape,
            });
        }
        let region = self.seeds_region(seeds, settings.roi_margin_mm)?;
        let roi_seeds = gather(seeds, shape, &region);
        let spacing = self.spacing_mm();
        let raw = self.region_values(&region);
        let values = smooth::gaussian(&raw, region.size(), spacing, settings.smoothing_mm);
        drop(raw);
        let won = grow_from_seeds(
            &values,
            region.size(),
            spacing,
            &roi_seeds,
            seed_params(&values),
        )
        .map_err(EffectError::from)?;
        self.preview = None;
        let (before, after) = self.seeds_outcome(&region, &won, background, overwrite)?;
        for l in (1..=255u8).filter(|&l| won.contains(&l) && Some(l) != background) {
            self.describe_label(l);
        }
        let change = Change {
            region,
            before,
            after,
        };
        change.apply(&mut self.labels, shape);
        self.commit(op.name(), op.params(), Some(change), true, EntryKind::Edit)
    }

    /// The region grow from seeds works on: the box of the seeds (non-zero
    /// voxels of `seeds`, a map on the image grid) grown by `margin_mm`.
    /// Needs seeds of two labels or more, none of them locked.
    pub fn seeds_region(&self, seeds: &[u8], margin_mm: f64) -> Result<VoxelBox, DocumentError> {
        if !margin_mm.is_finite() || margin_mm < 0.0 {
            return Err(DocumentError::BadRequest(format!(
                "the ROI margin must be ≥ 0 mm, not {margin_mm}"
            )));
        }
        let mut present = [false; 256];
        for &l in seeds {
            present[l as usize] = true;
        }
        present[0] = false;
        let count = present.iter().filter(|&&c| c).count();
        if count < 2 {
            return Err(DocumentError::BadRequest(format!(
                "grow from seeds needs seeds of two or more labels, found {count}"
            )));
        }
        let locked = self.label_set.locked_bits();
        if let Some(l) = (1..=255u8).find(|&l| present[l as usize] && is_locked(&locked, l)) {
            return Err(DocumentError::Locked(l));
        }
        let seed_box = box_of(seeds, self.shape(), |l| l != 0)
            .ok_or_else(|| DocumentError::BadRequest("no seeds".into()))?;
        Ok(self.padded(seed_box, self.pad_for(margin_mm).map(|p| p - 1)))
    }

    /// What grow from seeds writes on `region` given the label each voxel
    /// went to (`won`): (the box's labels now, after). A voxel takes its
    /// winner (none for `background`, whose region is removed); a voxel of a
    /// competing label that loses it is cleared; other labels are taken only
    /// under [`Overwrite::All`] and when unlocked.
    pub fn seeds_outcome(
        &self,
        region: &VoxelBox,
        won: &[u8],
        background: Option<u8>,
        overwrite: Overwrite,
    ) -> Result<(Vec<u8>, Vec<u8>), DocumentError> {
        let before = gather(&self.labels, self.shape(), region);
        if won.len() != before.len() {
            return Err(DocumentError::BadRequest(format!(
                "{} winners for a region of {} voxels",
                won.len(),
                before.len()
            )));
        }
        let mut competing = [false; 256];
        for &l in won {
            competing[l as usize] = true;
        }
        competing[0] = false;
        let locked = self.label_set.locked_bits();
        let after = before
            .iter()
            .zip(won)
            .map(|(&cur, &w)| {
                let w = if Some(w) == background { 0 } else { w };
                let takeable = cur == 0
                    || competing[cur as usize]
                    || (overwrite == Overwrite::All && !is_locked(&locked, cur));
                match w {
                    0 if competing[cur as usize] => 0,
                    0 => cur,
                    w if takeable => w,
                    _ => cur,
                }
            })
            .collect();
        Ok((before, after))
    }

    /// Gives `label` a description if it has none.
    fn describe_label(&mut self, label: u8) {
        if self.label_set.get(label).is_none() {
            let info = crate::annotate::labels::LabelInfo::new(label, format!("Label {label}"));
            self.label_set.labels.push(info);
        }
    }

    /// The image's values (scaled: HU for CT) on `region`, as f32.
    pub fn region_values(&self, region: &VoxelBox) -> Vec<f32> {
        let shape = self.shape();
        let mut out = Vec::with_capacity(region.size().iter().product());
        for k in region.min[2]..=region.max[2] {
            for j in region.min[1]..=region.max[1] {
                let row = shape[0] * (j + shape[1] * k);
                for i in region.min[0]..=region.max[0] {
                    // A NaN or infinite voxel (no value) counts as 0 rather than
                    // poisoning paths.
                    let v = self.image.data.get_f64(row + i).unwrap_or(0.0) as f32;
                    out.push(if v.is_finite() { v } else { 0.0 });
                }
            }
        }
        out
    }
}
