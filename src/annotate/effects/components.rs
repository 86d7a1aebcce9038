//! Connected components of a mask, and the effects built on them: keep the
//! largest component, remove small ones, fill holes in 3-D or slice by slice.
//!
//! Algorithm: one scan over the rows (fixed `j`, `k`) in voxel-index order
//! cuts each row into runs of ON voxels; each run starts as its own set in a
//! union-find over runs, and is joined with the runs it touches in the rows
//! already scanned (`j-1` and `k-1` for 6-connectivity, plus the two diagonal
//! rows of slice `k-1` for 26-connectivity, where runs one voxel apart along
//! `i` also touch). Two sorted run lists are merged in linear time. A set's
//! root is always its lowest run (the larger root is linked under the
//! smaller), so a second pass over the runs in order meets every root before
//! its members and numbers the sets by their lowest voxel; a stable sort by
//! size then gives the final numbers, and the runs are written into `ids`
//! slice by slice in parallel. Memory is the `u32` ids plus 12 bytes per
//! run; nothing is recursive or allocated per voxel.

use rayon::prelude::*;

use super::mask::{Mask, Neighbours};

/// Connected components of a mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Components {
    /// Per voxel: 0 off the mask, else the component number `1..=n`.
    /// Components are numbered by size, largest first; equal sizes by the
    /// lowest voxel index they contain.
    pub ids: Vec<u32>,
    /// `sizes[c - 1]` is the voxel count of component `c` (non-increasing).
    pub sizes: Vec<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ComponentsError {
    #[error("slice axis {0} is not 0 (i), 1 (j) or 2 (k)")]
    BadAxis(usize),
}

/// Labels the connected components of `mask` (face- or full-connected).
pub fn components(mask: &Mask, neighbours: Neighbours) -> Components {
    let [ni, nj, nk] = mask.size;
    let n = mask.bits.len();
    assert!(u32::try_from(n).is_ok(), "mask too large for u32 ids");
    if n == 0 {
        return Components {
            ids: Vec::new(),
            sizes: Vec::new(),
        };
    }
    // Runs one voxel apart along i touch diagonally under 26-connectivity.
    let reach = match neighbours {
        Neighbours::Six => 0,
        Neighbours::TwentySix => 1,
    };
    let mut runs: Vec<[u32; 2]> = Vec::new();
    let mut parent: Vec<u32> = Vec::new();
    let mut row_start: Vec<u32> = Vec::with_capacity(nj * nk + 1);
    for k in 0..nk {
        for j in 0..nj {
            let row = j + nj * k;
            let first = runs.len();
            row_start.push(first as u32);
            let bits = &mask.bits[row * ni..(row + 1) * ni];
            let mut i = 0;
            while let Some(on) = bits[i..].iter().position(|&b| b) {
                let start = i + on;
                let end = bits[start..]
                    .iter()
                    .position(|&b| !b)
                    .map_or(ni, |off| start + off);
                parent.push(runs.len() as u32);
                runs.push([start as u32, end as u32]);
                i = end;
            }
            let mut link = |other: usize| {
                let theirs = row_start[other] as usize..row_start[other + 1] as usize;
                link_rows(&runs, &mut parent, first..runs.len(), theirs, reach);
            };
            if j > 0 {
                link(row - 1);
            }
            if k > 0 {
                link(row - nj);
                if reach == 1 && j > 0 {
                    link(row - nj - 1);
                }
                if reach == 1 && j + 1 < nj {
                    link(row - nj + 1);
                }
            }
        }
    }
    row_start.push(runs.len() as u32);

    // `parent[r] <= r` always, so in index order each run's parent has
    // already been replaced by its set's provisional label (numbered in order
    // of the set's lowest voxel): overwrite in place instead of a second Vec.
    let mut sizes: Vec<u64> = Vec::new();
    for r in 0..runs.len() {
        let p = parent[r] as usize;
        let label = if p == r {
            sizes.push(0);
            sizes.len() as u32 - 1
        } else {
            parent[p]
        };
        parent[r] = label;
        sizes[label as usize] += u64::from(runs[r][1] - runs[r][0]);
    }
    // Stable sort: equal sizes keep lowest-voxel order.
    let mut order: Vec<u32> = (0..sizes.len() as u32).collect();
    order.sort_by_key(|&l| std::cmp::Reverse(sizes[l as usize]));
    let mut number = vec![0u32; sizes.len()];
    for (rank, &l) in order.iter().enumerate() {
        number[l as usize] = rank as u32 + 1;
    }

    let mut ids = vec![0u32; n];
    ids.par_chunks_mut(ni * nj)
        .enumerate()
        .for_each(|(k, slice)| {
            for j in 0..nj {
                let row = j + nj * k;
                for r in row_start[row] as usize..row_start[row + 1] as usize {
                    let [start, end] = runs[r];
                    slice[j * ni + start as usize..j * ni + end as usize]
                        .fill(number[parent[r] as usize]);
                }
            }
        });
    let sizes = order.iter().map(|&l| sizes[l as usize]).collect();
    Components { ids, sizes }
}

/// Joins every run of `ours` with the runs of `theirs` it touches. Both are
/// sorted along i with gaps between runs, so the run that ends first can
/// touch nothing further in the other list.
fn link_rows(
    runs: &[[u32; 2]],
    parent: &mut [u32],
    mut ours: std::ops::Range<usize>,
    mut theirs: std::ops::Range<usize>,
    reach: u32,
) {
    while !ours.is_empty() && !theirs.is_empty() {
        let ([a0, a1], [b0, b1]) = (runs[ours.start], runs[theirs.start]);
        if a0 < b1 + reach && b0 < a1 + reach {
            union(parent, ours.start as u32, theirs.start as u32);
        }
        if a1 <= b1 {
            ours.start += 1;
        } else {
            theirs.start += 1;
        }
    }
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    // Path halving; keeps `parent[x] <= x`.
    while parent[x as usize] != x {
        let grand = parent[parent[x as usize] as usize];
        parent[x as usize] = grand;
        x = grand;
    }
    x
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    // The lower run stays root, so every root is its set's first run.
    parent[ra.max(rb) as usize] = ra.min(rb);
}

/// Only the largest component (ties: the one with the lowest voxel).
pub fn keep_largest(mask: &Mask, neighbours: Neighbours) -> Mask {
    let c = components(mask, neighbours);
    let bits = c.ids.iter().map(|&id| id == 1).collect();
    Mask::from_bits(mask.size, bits)
}

/// Only the components of at least `min_voxels` voxels.
pub fn remove_small(mask: &Mask, neighbours: Neighbours, min_voxels: u64) -> Mask {
    let c = components(mask, neighbours);
    let bits = c
        .ids
        .iter()
        .map(|&id| id != 0 && c.sizes[id as usize - 1] >= min_voxels);
    Mask::from_bits(mask.size, bits.collect())
}

/// The mask plus every enclosed OFF voxel: every OFF voxel whose component of
/// OFF voxels, connected by `background`, touches no face of the box. The
/// caller pads the box so the label does not reach its faces.
///
/// Digital topology pairs the connectivities: for a 26-connected object pass
/// `Six` (this is scipy.ndimage.binary_fill_holes' default, which only counts
/// face-connected background), for a 6-connected object pass `TwentySix`, so
/// that a hole sealed only along edges or corners leaks out and stays open.
pub fn fill_holes(mask: &Mask, background: Neighbours) -> Mask {
    fill_enclosed(mask, background, true)
}

/// [`fill_holes`] on each 2-D slice perpendicular to `axis` (0 = i, 1 = j,
/// 2 = k) on its own, with 4-connected in-plane background (scipy's 2-D
/// default); a hole counts as enclosed when it touches no edge of its slice.
/// Closes a tube running along `axis` that 3-D filling leaves open.
pub fn fill_holes_slice_wise(mask: &Mask, axis: usize) -> Result<Mask, ComponentsError> {
    let (u, v) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        2 => (0, 1),
        _ => return Err(ComponentsError::BadAxis(axis)),
    };
    let size = mask.size;
    let stride = [1, size[0], size[0] * size[1]];
    let at = |s: usize, a: usize, b: usize| s * stride[axis] + a * stride[u] + b * stride[v];
    let filled: Vec<Mask> = (0..size[axis])
        .into_par_iter()
        .map(|s| {
            let bits = (0..size[v])
                .flat_map(|b| (0..size[u]).map(move |a| mask.bits[at(s, a, b)]))
                .collect();
            // One voxel thick: 6-connected in 3-D is 4-connected in-plane.
            let slice = Mask::from_bits([size[u], size[v], 1], bits);
            fill_enclosed(&slice, Neighbours::Six, false)
        })
        .collect();
    let mut out = mask.clone();
    for (s, slice) in filled.iter().enumerate() {
        for b in 0..size[v] {
            for a in 0..size[u] {
                out.bits[at(s, a, b)] = slice.bits[a + size[u] * b];
            }
        }
    }
    Ok(out)
}

/// Fills OFF components that touch no box face; the k faces only count when
/// `k_faces` (a one-slice box has only its i and j edges as boundary).
fn fill_enclosed(mask: &Mask, background: Neighbours, k_faces: bool) -> Mask {
    let [ni, nj, nk] = mask.size;
    let c = components(&mask.not(), background);
    let mut open = vec![false; c.sizes.len() + 1];
    for k in 0..nk {
        for j in 0..nj {
            let row = &c.ids[(j + nj * k) * ni..(j + nj * k + 1) * ni];
            let edge_row = j == 0 || j + 1 == nj || (k_faces && (k == 0 || k + 1 == nk));
            if edge_row {
                row.iter().for_each(|&id| open[id as usize] = true);
            } else if let (Some(&first), Some(&last)) = (row.first(), row.last()) {
                open[first as usize] = true;
                open[last as usize] = true;
            }
        }
    }
    // ids are 0 on the mask itself, which stays ON whatever open[0] says.
    let bits = mask
        .bits
        .iter()
        .zip(&c.ids)
        .map(|(&on, &id)| on || !open[id as usize]);
    Mask::from_bits(mask.size, bits.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn random_mask(size: [usize; 3], density: f64, seed: u64) -> Mask {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let bits = (0..size.iter().product::<usize>())
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 <= density
            })
            .collect();
        Mask::from_bits(size, bits)
    }

    fn offsets(neighbours: Neighbours) -> Vec<[isize; 3]> {
        let mut out = Vec::new();
        for dk in -1..=1isize {
            for dj in -1..=1isize {
                for di in -1..=1isize {
                    let faces = di.abs() + dj.abs() + dk.abs();
                    if faces == 1 || (faces > 1 && neighbours == Neighbours::TwentySix) {
                        out.push([di, dj, dk]);
                    }
                }
            }
        }
        out
    }

    fn step(size: [usize; 3], ijk: [usize; 3], d: [isize; 3]) -> Option<[usize; 3]> {
        let mut out = [0; 3];
        for a in 0..3 {
            out[a] = ijk[a].checked_add_signed(d[a]).filter(|&x| x < size[a])?;
        }
        Some(out)
    }

    /// Breadth-first flood from each unvisited voxel whose bit equals `on`,
    /// in index order: (voxel lists of each component, first voxel first).
    fn flood(mask: &Mask, on: bool, neighbours: Neighbours) -> Vec<Vec<usize>> {
        let mut seen = vec![false; mask.bits.len()];
        let mut out = Vec::new();
        for seed in 0..mask.bits.len() {
            if mask.bits[seed] != on || seen[seed] {
                continue;
            }
            seen[seed] = true;
            let (mut queue, mut members) = (VecDeque::from([seed]), Vec::new());
            while let Some(v) = queue.pop_front() {
                members.push(v);
                for d in offsets(neighbours) {
                    if let Some(w) = step(mask.size, mask.ijk(v), d).map(|w| mask.index(w))
                        && mask.bits[w] == on
                        && !seen[w]
                    {
                        seen[w] = true;
                        queue.push_back(w);
                    }
                }
            }
            out.push(members);
        }
        out
    }

    #[test]
    fn matches_bfs_oracle_on_random_masks() {
        let both = [Neighbours::Six, Neighbours::TwentySix];
        for (seed, density) in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95].iter().enumerate() {
            for nb in both {
                let mask = random_mask([12, 9, 7], *density, seed as u64 + 1);
                let mut found = flood(&mask, true, nb);
                // Largest first; the stable sort keeps the first-voxel order.
                found.sort_by_key(|c| std::cmp::Reverse(c.len()));
                let mut ids = vec![0u32; mask.bits.len()];
                for (c, members) in found.iter().enumerate() {
                    members.iter().for_each(|&v| ids[v] = c as u32 + 1);
                }
                let sizes: Vec<u64> = found.iter().map(|c| c.len() as u64).collect();
                assert_eq!(
                    components(&mask, nb),
                    Components { ids, sizes },
                    "{density} {nb:?}"
                );
            }
        }
    }

    /// Oracle for the fills: flood OFF voxels from the boundary (`faces` are
    /// the axes whose ends count as boundary); whatever stays unreached fills.
    fn fill_oracle(mask: &Mask, nb: Neighbours, faces: [bool; 3]) -> Mask {
        let mut out = mask.clone();
        for members in flood(mask, false, nb) {
            let touches = members.iter().any(|&v| {
                let ijk = mask.ijk(v);
                (0..3).any(|a| faces[a] && (ijk[a] == 0 || ijk[a] + 1 == mask.size[a]))
            });
            members.iter().for_each(|&v| out.bits[v] = !touches);
        }
        out
    }

    #[test]
    fn fills_match_flood_oracle_on_random_masks() {
        for (seed, density) in [0.3, 0.5, 0.6, 0.7, 0.8].iter().enumerate() {
            let mask = random_mask([10, 8, 6], *density, seed as u64 + 40);
            for nb in [Neighbours::Six, Neighbours::TwentySix] {
                assert_eq!(fill_holes(&mask, nb), fill_oracle(&mask, nb, [true; 3]));
            }
            // Slice-wise: 6-connected floods within one-voxel slabs.
            for axis in 0..3 {
                let mut expected = mask.clone();
                for s in 0..mask.size[axis] {
                    let mut slab = [[0, mask.size[0]], [0, mask.size[1]], [0, mask.size[2]]];
                    slab[axis] = [s, s + 1];
                    let mut faces = [true; 3];
                    faces[axis] = false;
                    let size = slab.map(|[a, b]| b - a);
                    let mut slice = Mask::new(size);
                    for v in 0..slice.bits.len() {
                        let mut ijk = slice.ijk(v);
                        ijk[axis] = s;
                        slice.bits[v] = mask.get(ijk);
                    }
                    let filled = fill_oracle(&slice, Neighbours::Six, faces);
                    for v in 0..filled.bits.len() {
                        let mut ijk = filled.ijk(v);
                        ijk[axis] = s;
                        expected.set(ijk, filled.bits[v]);
                    }
                }
                assert_eq!(
                    fill_holes_slice_wise(&mask, axis),
                    Ok(expected),
                    "axis {axis}"
                );
            }
        }
    }

    fn shape(size: [usize; 3], on: impl Fn([usize; 3]) -> bool) -> Mask {
        let mut mask = Mask::new(size);
        for v in 0..mask.bits.len() {
            mask.bits[v] = on(mask.ijk(v));
        }
        mask
    }

    fn dist2(ijk: [usize; 3], c: [usize; 3]) -> usize {
        (0..3).map(|a| ijk[a].abs_diff(c[a]).pow(2)).sum()
    }

    #[test]
    fn hollow_sphere_is_filled_in_3d() {
        let shell = shape([15, 15, 15], |p| (16..=36).contains(&dist2(p, [7; 3])));
        let ball = shape([15, 15, 15], |p| dist2(p, [7; 3]) <= 36);
        for nb in [Neighbours::Six, Neighbours::TwentySix] {
            assert_eq!(fill_holes(&shell, nb), ball);
        }
    }

    #[test]
    fn cup_open_to_the_border_is_not_filled() {
        // Walls and floor; the cavity opens at k = 6, next to the k = 7 face.
        let cup = shape([9, 9, 8], |[i, j, k]| {
            let inside = (2..=6).contains(&i) && (2..=6).contains(&j) && (1..=6).contains(&k);
            let cavity = (3..=5).contains(&i) && (3..=5).contains(&j) && k >= 2;
            inside && !cavity
        });
        for nb in [Neighbours::Six, Neighbours::TwentySix] {
            assert_eq!(fill_holes(&cup, nb), cup);
        }
    }

    #[test]
    fn edge_gap_leaks_only_for_26_connected_background() {
        // A cube shell with one edge voxel gone: the cavity touches the gap
        // only along an edge.
        let mut shell = shape([7, 7, 7], |p| p.iter().all(|&x| (1..=5).contains(&x)));
        let cavity = shape([7, 7, 7], |p| p.iter().all(|&x| (2..=4).contains(&x)));
        let closed = shell.clone();
        shell = shell.minus(&cavity);
        shell.set([1, 1, 3], false);
        let mut expected = closed;
        expected.set([1, 1, 3], false);
        assert_eq!(fill_holes(&shell, Neighbours::Six), expected);
        assert_eq!(fill_holes(&shell, Neighbours::TwentySix), shell);
    }

    #[test]
    fn tube_is_filled_slice_wise_along_its_axis_only() {
        let tube = shape([11, 11, 6], |p| {
            (9..=16).contains(&dist2([p[0], p[1], 0], [5, 5, 0]))
        });
        let rod = shape([11, 11, 6], |p| dist2([p[0], p[1], 0], [5, 5, 0]) <= 16);
        assert_eq!(fill_holes(&tube, Neighbours::Six), tube);
        assert_eq!(fill_holes(&tube, Neighbours::TwentySix), tube);
        assert_eq!(fill_holes_slice_wise(&tube, 2), Ok(rod));
        assert_eq!(fill_holes_slice_wise(&tube, 0), Ok(tube.clone()));
        assert_eq!(fill_holes_slice_wise(&tube, 1), Ok(tube.clone()));
        assert_eq!(
            fill_holes_slice_wise(&tube, 3),
            Err(ComponentsError::BadAxis(3))
        );
    }

    #[test]
    fn hole_touching_the_boundary_is_not_filled() {
        // Solid box with a pocket at a box corner and a pocket inside.
        let corner = shape([8, 8, 8], |p| p.iter().all(|&x| x < 2));
        let inner = shape([8, 8, 8], |p| p.iter().all(|&x| (4..=5).contains(&x)));
        let mask = shape([8, 8, 8], |_| true).minus(&corner).minus(&inner);
        let expected = mask.not().minus(&inner).not();
        assert_eq!(fill_holes(&mask, Neighbours::Six), expected);
        assert_eq!(fill_holes_slice_wise(&mask, 2).unwrap(), expected);
    }

    #[test]
    fn keep_largest_and_remove_small() {
        let cube =
            |lo: usize, n: usize| move |p: [usize; 3]| p.iter().all(|&x| (lo..lo + n).contains(&x));
        let (big, mid, dot) = (cube(0, 3), cube(4, 2), cube(7, 1));
        let mask = shape([8, 8, 8], |p| big(p) || mid(p) || dot(p));
        let c = components(&mask, Neighbours::TwentySix);
        assert_eq!(c.sizes, [27, 8, 1]);
        assert_eq!(c.ids[mask.index([7; 3])], 3);
        assert_eq!(keep_largest(&mask, Neighbours::Six), shape([8; 3], big));
        let kept = shape([8; 3], |p| big(p) || mid(p));
        assert_eq!(remove_small(&mask, Neighbours::Six, 8), kept);
        assert_eq!(remove_small(&mask, Neighbours::Six, 0), mask);
        assert_eq!(remove_small(&mask, Neighbours::Six, 28), Mask::new([8; 3]));
        // Equal sizes: the component holding the lower voxel is number 1.
        let pair = shape([5, 1, 1], |[i, _, _]| i != 2);
        assert_eq!(components(&pair, Neighbours::Six).ids, [1, 1, 0, 2, 2]);
    }

    #[test]
    fn empty_full_and_degenerate_boxes() {
        for size in [[4, 3, 2], [1, 1, 1], [0, 3, 4], [3, 0, 0]] {
            let n = size.iter().product::<usize>();
            for nb in [Neighbours::Six, Neighbours::TwentySix] {
                let empty = Mask::new(size);
                let c = components(&empty, nb);
                assert_eq!((c.ids, c.sizes.len()), (vec![0; n], 0));
                assert_eq!(keep_largest(&empty, nb), empty);
                assert_eq!(fill_holes(&empty, nb), empty);
                assert_eq!(fill_holes_slice_wise(&empty, 1), Ok(empty.clone()));
                let full = empty.not();
                let c = components(&full, nb);
                let sizes = if n == 0 { vec![] } else { vec![n as u64] };
                assert_eq!((c.ids, c.sizes), (vec![1; n], sizes));
                assert_eq!(keep_largest(&full, nb), full);
                assert_eq!(remove_small(&full, nb, n as u64 + 1), empty);
                assert_eq!(fill_holes(&full, nb), full);
                assert_eq!(fill_holes_slice_wise(&full, 0), Ok(full.clone()));
            }
        }
    }
}
