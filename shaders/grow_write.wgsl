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
// Pass 6: set the region bit of every voxel of every run whose root holds a
// seed, and count them. The region mask has the threshold mask's layout; a word
// may be shared by two runs, so partly covered words take atomicOr, while whole
// words belong to one run and are stored. One invocation per run.

@group(0) @binding(3) var<storage, read_write> runs: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> seed_roots: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> region: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> stats: array<atomic<u32>>;

var<workgroup> group_voxels: atomic<u32>;

// Row of each run (written by the runs pass).
@group(0) @binding(9) var<storage, read_write> run_rows: array<u32>;

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
            let base = p.shape.w * run_rows[r];
            for (var w = start / 32u; w <= end / 32u; w++) {
                let first = select(0u, start % 32u, w == start / 32u);
                let last = select(31u, end % 32u, w == end / 32u);
                let m = (0xffffffffu >> (31u - last)) & (0xffffffffu << first);
                if m == 0xffffffffu {
                    atomicStore(&region[base + w], m);
                } else {
                    atomicOr(&region[base + w], m);
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
