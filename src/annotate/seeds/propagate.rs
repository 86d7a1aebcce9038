//! Shortest-path propagation over packed `(cost, label)` keys, shared by the
//! full run and the adaptive (incremental) update: both queue some seeds at
//! cost 0 and overwrite a voxel only when the candidate key is strictly smaller
//! than the stored one. From scratch every stored key is "unreached";
//! incrementally the stored keys are the previous result, so only voxels that
//! improve are touched (FastGrowCut's adaptive Dijkstra).

use super::cost::{Grid, Neighbour, Node};
use super::queue::BucketQueue;

/// Key of a voxel no seed has reached yet.
pub(super) const UNREACHED: u64 = u64::MAX;

/// `cost << 8 | label`: comparing keys compares `(cost, label)`
/// lexicographically, which is the documented tie rule. Costs stay below
/// 2^55 (see `cost::QUANTA`), so this cannot overflow.
#[inline]
pub(super) fn pack(cost: u64, label: u8) -> u64 {
    (cost << 8) | u64::from(label)
}

/// Relaxes from the queued voxels until the queue is empty, writing the label
/// of every voxel it processes; returns the number of visits (a voxel processed
/// twice counts twice).
///
/// Label-correcting: a voxel improved after it was processed (possible within
/// one bucket, whose voxels are not taken in exact key order) is queued and
/// processed again. The loop stops at the fixed point
/// `key[j] = min(seed key of j, min over neighbours i of key[i] + (w(i, j) << 8))`,
/// which is unique because every step costs at least 1: the result does not
/// depend on the processing order.
pub(super) fn propagate(
    grid: &Grid,
    nodes: &mut [Node],
    labels: &mut [u8],
    queue: &mut BucketQueue,
) -> usize {
    let mut visits = 0;
    while let Some(i) = queue.pop() {
        let i = i as usize;
        let Node {
            key,
            q,
            done,
            interior,
        } = nodes[i];
        if done {
            continue; // a stale entry: processed since with its current key
        }
        nodes[i].done = true;
        visits += 1;
        labels[i] = key as u8;
        let mut relax = |j: usize, nb: &Neighbour| {
            let node = &mut nodes[j];
            let candidate = key + ((u64::from(q.abs_diff(node.q)) + nb.base_cost) << 8);
            if candidate < node.key {
                // An entry already waiting in the same bucket will see the new key.
                let queued = !node.done && queue.bucket_of(node.key) == queue.bucket_of(candidate);
                node.key = candidate;
                node.done = false;
                if !queued {
                    queue.push(candidate, j as u32);
                }
            }
        };
        if interior {
            for nb in &grid.neighbours {
                relax(i.wrapping_add_signed(nb.delta), nb);
            }
        } else {
            for nb in grid
                .neighbours
                .iter()
                .filter(|nb| grid.has_neighbour(i, nb))
            {
                relax(i.wrapping_add_signed(nb.delta), nb);
            }
        }
    }
    visits
}
