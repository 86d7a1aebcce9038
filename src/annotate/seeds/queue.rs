//! Bucket queue for the propagation: keys are grouped into buckets of width
//! `2^shift`, drained in increasing bucket order, FIFO within a bucket. A ring
//! of buckets suffices because one relaxation raises a key by at most the
//! largest edge cost, which the ring is made to span.
//!
//! Entries never move once pushed and are only a voxel index. On a noisy 128³
//! ROI this was about 3× faster than a radix heap (which moved each entry ~10
//! times) and 10× faster than `std`'s binary heap (log-depth sifts through a
//! front of a million entries). The price is that voxels within one bucket are
//! not taken in exact key order; `propagate` re-relaxes the ones it gets wrong
//! (0.1% extra visits on that noisy ROI, 13% on a noise-free one, where many
//! voxels share a bucket).

/// Buckets in the ring by default: wide enough buckets to be cheap to skip,
/// narrow enough that few voxels are visited twice.
pub(super) const DEFAULT_RING: usize = 1 << 10;

#[derive(Debug)]
pub(super) struct BucketQueue {
    shift: u32,
    /// Absolute number of the bucket being drained.
    current: u64,
    /// Next entry of the current bucket to hand out.
    cursor: usize,
    buckets: Vec<Vec<u32>>,
    /// One bit per ring slot: bucket not empty.
    occupied: Vec<u64>,
    len: usize,
}

impl BucketQueue {
    /// A queue of `ring` buckets (a power of two, at least 64) for keys that
    /// grow by at most `max_step` per relaxation.
    pub fn new(max_step: u64, ring: usize) -> Self {
        debug_assert!(ring.is_power_of_two() && ring >= 64);
        // A key pushed while draining bucket `c` lands at most
        // `(max_step >> shift) + 1` buckets ahead; that must stay below `ring`.
        let mut shift = 0;
        while (max_step >> shift) + 2 > ring as u64 {
            shift += 1;
        }
        BucketQueue {
            shift,
            current: 0,
            cursor: 0,
            buckets: vec![Vec::new(); ring],
            occupied: vec![0; ring / 64],
            len: 0,
        }
    }

    /// Bucket number of `key`.
    #[inline]
    pub fn bucket_of(&self, key: u64) -> u64 {
        key >> self.shift
    }

    /// Queues `voxel` with `key`, which must not lie before the bucket being
    /// drained.
    #[inline]
    pub fn push(&mut self, key: u64, voxel: u32) {
        let ring = self.buckets.len();
        let bucket = self.bucket_of(key);
        debug_assert!(bucket >= self.current && bucket - self.current < ring as u64);
        let slot = bucket as usize % ring;
        self.buckets[slot].push(voxel);
        self.occupied[slot / 64] |= 1 << (slot % 64);
        self.len += 1;
    }

    /// The next queued voxel.
    pub fn pop(&mut self) -> Option<u32> {
        loop {
            let slot = self.current as usize % self.buckets.len();
            if let Some(&voxel) = self.buckets[slot].get(self.cursor) {
                self.cursor += 1;
                self.len -= 1;
                return Some(voxel);
            }
            self.buckets[slot].clear(); // keeps the allocation for later laps
            self.occupied[slot / 64] &= !(1 << (slot % 64));
            self.cursor = 0;
            if self.len == 0 {
                return None;
            }
            self.current += self.distance_to_next(slot)? as u64;
        }
    }

    /// Ring distance from `slot` to the next occupied slot.
    fn distance_to_next(&self, slot: usize) -> Option<usize> {
        let words = self.occupied.len();
        let (word, bit) = (slot / 64, slot % 64);
        let ahead = self.occupied[word] & (!0u64).checked_shl(bit as u32 + 1).unwrap_or(0);
        if ahead != 0 {
            return Some(ahead.trailing_zeros() as usize - bit);
        }
        // Whole words after this one, wrapping round to this word's low bits.
        (1..=words).find_map(|k| {
            let w = self.occupied[(word + k) % words];
            (w != 0).then(|| k * 64 + w.trailing_zeros() as usize - bit)
        })
    }
}
