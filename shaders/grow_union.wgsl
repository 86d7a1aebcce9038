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
// Parents only ever decrease, so there are no cycles. One invocation per row.

@group(0) @binding(2) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> runs: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;

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

// Two-pointer sweep over two sorted run lists; `widen` is 1 for 26-connectivity.
fn merge_rows(row: u32, other: u32, widen: u32) {
    var a = offsets[row];
    let a_end = offsets[row + 1u];
    var b = offsets[other];
    let b_end = offsets[other + 1u];
    while a < a_end && b < b_end {
        let ra = runs[a];
        let rb = runs[b];
        let sa = ra & 0xffffu;
        let ea = ra >> 16u;
        let sb = rb & 0xffffu;
        let eb = rb >> 16u;
        if sa <= eb + widen && sb <= ea + widen {
            unite(a, b);
        }
        // The run that ends first cannot touch any later run of the other row.
        if ea < eb {
            a += 1u;
        } else {
            b += 1u;
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = gid.x + gid.y * groups.x * 64u;
    if row >= p.counts.y || offsets[row] == offsets[row + 1u] {
        return;
    }
    let nj = p.shape.y;
    let j = row % nj;
    let k = row / nj;
    let full = p.flags.x == 26u;
    let widen = select(0u, 1u, full);
    if j > 0u {
        merge_rows(row, row - 1u, widen);
    }
    if k > 0u {
        merge_rows(row, row - nj, widen);
        if full && j > 0u {
            merge_rows(row, row - nj - 1u, widen);
        }
        if full && j + 1u < nj {
            merge_rows(row, row - nj + 1u, widen);
        }
    }
}
