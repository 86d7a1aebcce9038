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
    // Bit v set when label v is locked (LabelSet::locked_bits).
    locked: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: GrowParams;
// Pass 6: write the label into every voxel of every run whose root holds a seed,
// and count them. Labels are packed 4 per u32 and a word may be shared by two
// runs (or a run and voxels outside it), so partly covered words are updated
// with atomicAnd + atomicOr on the run's own bytes; whole words belong to one
// run and are stored. One invocation per run.

@group(0) @binding(3) var<storage, read_write> runs: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> seed_roots: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> labels: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> stats: array<atomic<u32>>;

var<workgroup> group_voxels: atomic<u32>;

// Row of each run (written by the runs pass).
@group(0) @binding(9) var<storage, read_write> run_rows: array<u32>;

fn byte_mask(first: u32, last: u32) -> u32 {
    // Bytes first..=last of a word, first <= last in 0..=3.
    return (0xffffffffu >> ((3u - last) * 8u)) & (0xffffffffu << (first * 8u));
}

@compute @workgroup_size(64)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let r = gid.x + gid.y * groups.x * 64u;
    if local == 0u {
        atomicStore(&group_voxels, 0u);
    }
    workgroupBarrier();
    if r < p.counts.z {
        let root = atomicLoad(&parent[r]);
        if ((atomicLoad(&seed_roots[root / 32u]) >> (root % 32u)) & 1u) != 0u {
            let run = runs[r];
            let start = run & 0xffffu;
            let end = run >> 16u;
            let base = p.shape.x * run_rows[r];
            let n0 = base + start;
            let n1 = base + end;
            let label4 = p.flags.w * 0x01010101u;
            for (var w = n0 / 4u; w <= n1 / 4u; w++) {
                let first = select(0u, n0 % 4u, w == n0 / 4u);
                let last = select(3u, n1 % 4u, w == n1 / 4u);
                let m = byte_mask(first, last);
                if m == 0xffffffffu {
                    atomicStore(&labels[w], label4);
                } else {
                    atomicAnd(&labels[w], ~m);
                    atomicOr(&labels[w], label4 & m);
                }
            }
            atomicAdd(&group_voxels, end - start + 1u);
        }
    }
    workgroupBarrier();
    if local == 0u {
        let n = atomicLoad(&group_voxels);
        if n != 0u {
            atomicAdd(&stats[0], n);
        }
    }
}
