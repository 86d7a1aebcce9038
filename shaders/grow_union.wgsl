// Keep GrowParams in sync with GrowParams in src/annotate/grow/gpu.rs (and the
// copies in every shaders/grow_*.wgsl).
struct GrowParams {
    // x, y, z: grid (ni, nj, nk); w: u32 words per mask row, ceil(ni / 32).
    shape: vec4<u32>,
    // x, y: inclusive bounds for integer (r16sint) images.
    bounds_i: vec4<i32>,
    // x, y: inclusive bounds for float (r32float) images, rounded inwards to f32.
    bounds_f: vec4<f32>,
    // x: connectivity (6 or 26), y: 1 with a distance limit, z: seeds, w: label value.
    flags: vec4<u32>,
    // x: unused, y: rows (nj * nk), z: runs, w: 1 when any label is locked.
    counts: vec4<u32>,
    // Bit v set when label v is locked (LabelSet::locked_bits); the shaders read
    // the locked-voxel bitmask instead.
    locked: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: GrowParams;
// Pass 3: union each run with the touching runs of the rows before it: (j-1, k)
// and (j, k-1) with overlapping i for 6-connectivity; also (j-1, k-1) and
// (j+1, k-1), with i widened by one voxel each side, for 26. Lock-free union
// with atomicMin (Playne & Hawick 2018): the larger root is hung under the
// smaller; if another thread changed it first, retry from what it now points to.
// Parents only ever decrease, so there are no cycles. One invocation per run
// (its row stored by the runs pass), which finds the runs it touches by binary
// search: per-row sweeps left most lanes of a SIMD group idle while one unites,
// and were 1.3-1.5x slower on lavapipe (ch2better: 6-conn. 20.3 -> 15.5 ms).

@group(0) @binding(2) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> runs: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;
// Row of each run (written by the runs pass).
@group(0) @binding(9) var<storage, read_write> run_rows: array<u32>;

fn find(start: u32) -> u32 {
    var x = start;
    loop {
        let up = atomicLoad(&parent[x]);
        if up == x {
            return x;
        }
        x = up;
    }
    return x;
}

fn unite(first: u32, second: u32) {
    var a = first;
    var b = second;
    loop {
        a = find(a);
        b = find(b);
        if a == b {
            return;
        }
        if a < b {
            let old = atomicMin(&parent[b], a);
            if old == b {
                return;
            }
            b = old;
        } else {
            let old = atomicMin(&parent[a], b);
            if old == a {
                return;
            }
            a = old;
        }
    }
}

// Unites run a (start sa, end ea) with every run of row `other` it touches: a
// binary search for the first run ending at or past sa - widen, then on while
// runs start at or before ea + widen.
fn merge_run(a: u32, sa: u32, ea: u32, other: u32, widen: u32) {
    var lo = offsets[other];
    var hi = offsets[other + 1u];
    let end = hi;
    loop {
        if lo >= hi {
            break;
        }
        let mid = (lo + hi) / 2u;
        if (runs[mid] >> 16u) + widen < sa {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    var b = lo;
    // Tested before and at the end of the loop: llvmpipe would run a loop body
    // whose lanes all leave at its top once more, under an empty mask.
    if b >= end || (runs[b] & 0xffffu) > ea + widen {
        return;
    }
    loop {
        unite(a, b);
        b += 1u;
        if b >= end || (runs[b] & 0xffffu) > ea + widen {
            break;
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let a = gid.x + gid.y * groups.x * 64u;
    if a >= p.counts.z {
        return;
    }
    let row = run_rows[a];
    let ra = runs[a];
    let sa = ra & 0xffffu;
    let ea = ra >> 16u;
    let nj = p.shape.y;
    let j = row % nj;
    let k = row / nj;
    let full = p.flags.x == 26u;
    let widen = select(0u, 1u, full);
    if j > 0u {
        merge_run(a, sa, ea, row - 1u, widen);
    }
    if k > 0u {
        merge_run(a, sa, ea, row - nj, widen);
        if full && j > 0u {
            merge_run(a, sa, ea, row - nj - 1u, widen);
        }
        if full && j + 1u < nj {
            merge_run(a, sa, ea, row - nj + 1u, widen);
        }
    }
}
