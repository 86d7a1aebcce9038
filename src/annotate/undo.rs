//! Undo/redo of label-map edits under a memory budget.
//!
//! Layout: the label map is cut into 32³-voxel bricks (partial at the grid's
//! far edges). An edit stores, for each brick it changed, the XOR of the brick
//! before and after, run-length encoded as (varint run length, byte) pairs.
//! XOR deltas are mostly zero runs, and one delta serves both directions: undo
//! and redo both XOR it into the current map. That is only right when the map
//! is exactly the edit's "after" (undo) or "before" (redo) state, so every
//! edit of the map must be recorded, in order.
//!
//! Budget: the bytes of all stored edits (undo and redo, heap included) stay
//! ≤ the budget; the oldest undo steps are dropped first. An edit larger than
//! the whole budget cannot be kept, and then no older step can be undone
//! either (their deltas would apply to the wrong state), so history is cleared.
//!
//! The stack edits the CPU copy only; after `undo`/`redo` the caller uploads
//! it to the GPU (`GpuLabelVolume::write`), e.g. only when `Applied::region`
//! is non-empty.

use std::collections::VecDeque;

use thiserror::Error;

use crate::annotate::labels::LabelSet;

/// 256 MiB.
pub const DEFAULT_UNDO_BUDGET_BYTES: usize = 256 << 20;
/// Brick edge in voxels.
pub const BRICK: usize = 32;

/// An inclusive box of voxel indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoxelBox {
    pub min: [usize; 3],
    pub max: [usize; 3],
}

impl VoxelBox {
    /// The whole grid (`shape` must have no zero axis).
    pub fn whole(shape: [usize; 3]) -> Self {
        VoxelBox {
            min: [0; 3],
            max: shape.map(|n| n.saturating_sub(1)),
        }
    }

    pub fn size(&self) -> [usize; 3] {
        [0, 1, 2].map(|a| self.max[a] + 1 - self.min[a])
    }

    pub fn union(&self, other: &VoxelBox) -> VoxelBox {
        VoxelBox {
            min: [0, 1, 2].map(|a| self.min[a].min(other.min[a])),
            max: [0, 1, 2].map(|a| self.max[a].max(other.max[a])),
        }
    }
}

#[derive(Debug, Error)]
pub enum UndoError {
    #[error("label map has {got} voxels but the grid {shape:?} has {want}")]
    Length {
        got: usize,
        want: usize,
        shape: [usize; 3],
    },
    #[error("grid {got:?} differs from the grid {want:?} of the recorded history")]
    Shape { got: [usize; 3], want: [usize; 3] },
    #[error("region {region:?} lies outside the grid {shape:?}")]
    Region { region: VoxelBox, shape: [usize; 3] },
    #[error("undo history is corrupt: {0}")]
    Corrupt(String),
}

struct BrickDelta {
    brick: usize,
    rle: Vec<u8>,
}

/// The label set before and after an edit that changed it.
type LabelSets = Box<(LabelSet, LabelSet)>;

struct Edit {
    description: String,
    bricks: Vec<BrickDelta>,
    label_sets: Option<LabelSets>,
    bytes: usize,
}

/// What an undo or redo did.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub description: String,
    /// Voxels that may have changed (the union of the edit's bricks); None
    /// when the edit changed only the label set.
    pub region: Option<VoxelBox>,
    /// The label set to restore, when the edit changed it.
    pub label_set: Option<LabelSet>,
}

/// The bricks of a region copied before an edit (see [`UndoStack::commit`]).
pub struct Snapshot {
    shape: [usize; 3],
    bricks: Vec<(usize, Vec<u8>)>,
}

pub struct UndoStack {
    budget_bytes: usize,
    shape: Option<[usize; 3]>,
    undo: VecDeque<Edit>,
    redo: Vec<Edit>,
    bytes_used: usize,
}

fn bricks_per_axis(shape: [usize; 3]) -> [usize; 3] {
    shape.map(|n| n.div_ceil(BRICK))
}

/// Voxel box of brick number `b`.
fn brick_box(shape: [usize; 3], b: usize) -> VoxelBox {
    let [bi, bj, _] = bricks_per_axis(shape);
    let idx = [b % bi, (b / bi) % bj, b / (bi * bj)];
    VoxelBox {
        min: [0, 1, 2].map(|a| idx[a] * BRICK),
        max: [0, 1, 2].map(|a| ((idx[a] + 1) * BRICK).min(shape[a]) - 1),
    }
}

/// Calls `f(range)` for each row of `bx` in `labels` (i fastest), in brick order.
fn for_rows(shape: [usize; 3], bx: &VoxelBox, mut f: impl FnMut(std::ops::Range<usize>)) {
    for k in bx.min[2]..=bx.max[2] {
        for j in bx.min[1]..=bx.max[1] {
            let start = bx.min[0] + shape[0] * (j + shape[1] * k);
            f(start..start + bx.max[0] + 1 - bx.min[0]);
        }
    }
}

fn gather(labels: &[u8], shape: [usize; 3], bx: &VoxelBox) -> Vec<u8> {
    let mut out = Vec::with_capacity(bx.size().iter().product());
    for_rows(shape, bx, |r| out.extend_from_slice(&labels[r]));
    out
}

fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// RLE of `a ^ b`: (varint run length, byte) pairs.
fn rle_xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut iter = a.iter().zip(b).map(|(x, y)| x ^ y).peekable();
    while let Some(v) = iter.next() {
        let mut run = 1;
        while iter.next_if_eq(&v).is_some() {
            run += 1;
        }
        push_varint(&mut out, run);
        out.push(v);
    }
    out.shrink_to_fit();
    out
}

/// XORs an RLE delta into the brick `bx` of `labels`.
fn apply_rle(
    labels: &mut [u8],
    shape: [usize; 3],
    bx: &VoxelBox,
    rle: &[u8],
) -> Result<(), UndoError> {
    let mut delta = Vec::with_capacity(bx.size().iter().product());
    let mut pos = 0;
    while pos < rle.len() {
        let (mut run, mut shift) = (0usize, 0);
        loop {
            let byte = *rle
                .get(pos)
                .ok_or_else(|| UndoError::Corrupt("truncated run".into()))?;
            pos += 1;
            run |= ((byte & 0x7f) as usize) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let v = *rle
            .get(pos)
            .ok_or_else(|| UndoError::Corrupt("run without a value".into()))?;
        pos += 1;
        delta.resize(delta.len() + run, v);
    }
    if delta.len() != bx.size().iter().product::<usize>() {
        return Err(UndoError::Corrupt(format!(
            "brick delta holds {} voxels, brick {bx:?} has {}",
            delta.len(),
            bx.size().iter().product::<usize>()
        )));
    }
    let mut at = 0;
    for_rows(shape, bx, |r| {
        let n = r.len();
        for (x, d) in labels[r].iter_mut().zip(&delta[at..at + n]) {
            *x ^= d;
        }
        at += n;
    });
    Ok(())
}

fn edit_bytes(description: &str, bricks: &[BrickDelta], sets: Option<&LabelSets>) -> usize {
    let set_bytes = |s: &LabelSet| {
        s.labels
            .iter()
            .map(|l| std::mem::size_of_val(l) + l.name.len() + l.review.note.len() + 256)
            .sum::<usize>()
    };
    std::mem::size_of::<Edit>()
        + description.len()
        + sets.map_or(0, |s| set_bytes(&s.0) + set_bytes(&s.1))
        + bricks
            .iter()
            .map(|b| std::mem::size_of::<BrickDelta>() + b.rle.capacity())
            .sum::<usize>()
}

impl UndoStack {
    pub fn new(budget_bytes: usize) -> Self {
        UndoStack {
            budget_bytes,
            shape: None,
            undo: VecDeque::new(),
            redo: Vec::new(),
            bytes_used: 0,
        }
    }

    pub fn budget_bytes(&self) -> usize {
        self.budget_bytes
    }

    /// Bytes held by the stored undo and redo steps.
    pub fn bytes_used(&self) -> usize {
        self.bytes_used
    }

    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }

    pub fn redo_len(&self) -> usize {
        self.redo.len()
    }

    pub fn clear(&mut self) {
        self.undo.clear();
        self.redo.clear();
        self.bytes_used = 0;
        self.shape = None;
    }

    fn check(&self, len: usize, shape: [usize; 3]) -> Result<(), UndoError> {
        let want = shape.iter().product::<usize>();
        if len != want {
            return Err(UndoError::Length {
                got: len,
                want,
                shape,
            });
        }
        match self.shape {
            Some(s) if s != shape && !(self.undo.is_empty() && self.redo.is_empty()) => {
                Err(UndoError::Shape {
                    got: shape,
                    want: s,
                })
            }
            _ => Ok(()),
        }
    }

    /// Records an edit by comparing whole maps (row memcmp per brick; about
    /// 20 ms per 128 MiB). Returns false when nothing changed (nothing stored).
    pub fn record(
        &mut self,
        before: &[u8],
        after: &[u8],
        shape: [usize; 3],
        description: &str,
    ) -> Result<bool, UndoError> {
        self.check(before.len(), shape)?;
        self.check(after.len(), shape)?;
        let [bi, bj, bk] = bricks_per_axis(shape);
        let mut bricks = Vec::new();
        for b in 0..bi * bj * bk {
            let bx = brick_box(shape, b);
            let mut differs = false;
            for_rows(shape, &bx, |r| differs |= before[r.clone()] != after[r]);
            if differs {
                let rle = rle_xor(&gather(before, shape, &bx), &gather(after, shape, &bx));
                bricks.push(BrickDelta { brick: b, rle });
            }
        }
        self.push(shape, description, bricks, None)
    }

    /// Copies the bricks meeting `region` before an edit confined to it; pass
    /// the snapshot to [`commit`](Self::commit) afterwards. Cost follows the
    /// region, not the grid.
    pub fn snapshot(
        &self,
        labels: &[u8],
        shape: [usize; 3],
        region: VoxelBox,
    ) -> Result<Snapshot, UndoError> {
        self.check(labels.len(), shape)?;
        if (0..3).any(|a| region.min[a] > region.max[a] || region.max[a] >= shape[a]) {
            return Err(UndoError::Region { region, shape });
        }
        let [bi, bj, _] = bricks_per_axis(shape);
        let lo = region.min.map(|x| x / BRICK);
        let hi = region.max.map(|x| x / BRICK);
        let mut bricks = Vec::new();
        for k in lo[2]..=hi[2] {
            for j in lo[1]..=hi[1] {
                for i in lo[0]..=hi[0] {
                    let b = i + bi * (j + bj * k);
                    bricks.push((b, gather(labels, shape, &brick_box(shape, b))));
                }
            }
        }
        Ok(Snapshot { shape, bricks })
    }

    /// Records the edit since `snapshot` (which must cover every voxel it changed).
    pub fn commit(
        &mut self,
        snapshot: Snapshot,
        after: &[u8],
        description: &str,
    ) -> Result<bool, UndoError> {
        let shape = snapshot.shape;
        self.check(after.len(), shape)?;
        let mut bricks = Vec::new();
        for (b, before) in snapshot.bricks {
            let now = gather(after, shape, &brick_box(shape, b));
            if now != before {
                bricks.push(BrickDelta {
                    brick: b,
                    rle: rle_xor(&before, &now),
                });
            }
        }
        self.push(shape, description, bricks, None)
    }

    /// Records an edit confined to `change.region` (`after` being the whole
    /// map after it) and/or a change of the label set (before, after). Cost
    /// follows the region (the bricks it meets).
    pub fn record_change(
        &mut self,
        after: &[u8],
        shape: [usize; 3],
        change: Option<&crate::annotate::document::change::Change>,
        description: &str,
        label_sets: Option<(LabelSet, LabelSet)>,
    ) -> Result<bool, UndoError> {
        self.check(after.len(), shape)?;
        let label_sets = label_sets.map(Box::new);
        let Some(change) = change else {
            return self.push(shape, description, Vec::new(), label_sets);
        };
        let region = change.region;
        if (0..3).any(|a| region.min[a] > region.max[a] || region.max[a] >= shape[a]) {
            return Err(UndoError::Region { region, shape });
        }
        let [bi, bj, _] = bricks_per_axis(shape);
        let lo = region.min.map(|x| x / BRICK);
        let hi = region.max.map(|x| x / BRICK);
        let size = region.size();
        let mut bricks = Vec::new();
        for k in lo[2]..=hi[2] {
            for j in lo[1]..=hi[1] {
                for i in lo[0]..=hi[0] {
                    let b = i + bi * (j + bj * k);
                    let bx = brick_box(shape, b);
                    let now = gather(after, shape, &bx);
                    let mut before = now.clone();
                    let bsize = bx.size();
                    // Overlay the change's "before" where the brick meets the region.
                    let o_min = [0, 1, 2].map(|a| bx.min[a].max(region.min[a]));
                    let o_max = [0, 1, 2].map(|a| bx.max[a].min(region.max[a]));
                    for z in o_min[2]..=o_max[2] {
                        for y in o_min[1]..=o_max[1] {
                            let n = o_max[0] + 1 - o_min[0];
                            let src = (o_min[0] - region.min[0])
                                + size[0] * ((y - region.min[1]) + size[1] * (z - region.min[2]));
                            let dst = (o_min[0] - bx.min[0])
                                + bsize[0] * ((y - bx.min[1]) + bsize[1] * (z - bx.min[2]));
                            before[dst..dst + n].copy_from_slice(&change.before[src..src + n]);
                        }
                    }
                    if before != now {
                        bricks.push(BrickDelta {
                            brick: b,
                            rle: rle_xor(&before, &now),
                        });
                    }
                }
            }
        }
        self.push(shape, description, bricks, label_sets)
    }

    /// The voxels the next undo (or redo) would change, if there is one.
    pub fn peek_region(&self, redo: bool) -> Option<VoxelBox> {
        let shape = self.shape?;
        let edit = if redo {
            self.redo.last()?
        } else {
            self.undo.back()?
        };
        edit.bricks
            .iter()
            .map(|d| brick_box(shape, d.brick))
            .reduce(|a, b| a.union(&b))
    }

    fn push(
        &mut self,
        shape: [usize; 3],
        description: &str,
        bricks: Vec<BrickDelta>,
        label_sets: Option<LabelSets>,
    ) -> Result<bool, UndoError> {
        if bricks.is_empty() && label_sets.is_none() {
            return Ok(false);
        }
        // A new edit makes the redo steps unreachable.
        self.bytes_used -= self.redo.drain(..).map(|e| e.bytes).sum::<usize>();
        self.shape = Some(shape);
        let bytes = edit_bytes(description, &bricks, label_sets.as_ref());
        self.undo.push_back(Edit {
            description: description.to_owned(),
            bricks,
            label_sets,
            bytes,
        });
        self.bytes_used += bytes;
        while self.bytes_used > self.budget_bytes {
            match self.undo.pop_front() {
                Some(e) => self.bytes_used -= e.bytes,
                None => break,
            }
        }
        Ok(!self.undo.is_empty())
    }

    fn apply(
        &self,
        edit: &Edit,
        labels: &mut [u8],
        shape: [usize; 3],
    ) -> Result<Option<VoxelBox>, UndoError> {
        let mut region: Option<VoxelBox> = None;
        for d in &edit.bricks {
            let bx = brick_box(shape, d.brick);
            apply_rle(labels, shape, &bx, &d.rle)?;
            region = Some(region.map_or(bx, |r| r.union(&bx)));
        }
        Ok(region)
    }

    /// Reverts the newest edit in `labels` (the current map); None when there is none.
    pub fn undo(&mut self, labels: &mut [u8]) -> Result<Option<Applied>, UndoError> {
        let Some(shape) = self.shape else {
            return Ok(None);
        };
        self.check(labels.len(), shape)?;
        let Some(edit) = self.undo.pop_back() else {
            return Ok(None);
        };
        let region = self.apply(&edit, labels, shape)?;
        let description = edit.description.clone();
        let label_set = edit.label_sets.as_ref().map(|s| s.0.clone());
        self.redo.push(edit);
        Ok(Some(Applied {
            description,
            region,
            label_set,
        }))
    }

    /// Re-applies the newest undone edit; None when there is none.
    pub fn redo(&mut self, labels: &mut [u8]) -> Result<Option<Applied>, UndoError> {
        let Some(shape) = self.shape else {
            return Ok(None);
        };
        self.check(labels.len(), shape)?;
        let Some(edit) = self.redo.pop() else {
            return Ok(None);
        };
        let region = self.apply(&edit, labels, shape)?;
        let description = edit.description.clone();
        let label_set = edit.label_sets.as_ref().map(|s| s.1.clone());
        self.undo.push_back(edit);
        Ok(Some(Applied {
            description,
            region,
            label_set,
        }))
    }
}

impl Default for UndoStack {
    fn default() -> Self {
        UndoStack::new(DEFAULT_UNDO_BUDGET_BYTES)
    }
}
