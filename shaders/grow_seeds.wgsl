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
// Pass 5: mark the roots of the runs holding the seeds in a bitset, and record
// in stats[1 + seed] whether the seed's voxel passed. One invocation per seed.

@group(0) @binding(2) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> runs: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> seed_roots: array<atomic<u32>>;
// (i, j, k, 0) per seed.
@group(0) @binding(6) var<storage, read_write> seeds: array<vec4<u32>>;
// [0]: voxels written; [1 + s]: 1 when seed s lies in the mask.
@group(0) @binding(8) var<storage, read_write> stats: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = gid.x;
    if s >= p.flags.z {
        return;
    }
    let seed = seeds[s];
    let row = seed.y + p.shape.y * seed.z;
    let end = offsets[row + 1u];
    for (var r = offsets[row]; r < end; r++) {
        let run = runs[r];
        if (run & 0xffffu) <= seed.x && seed.x <= (run >> 16u) {
            let root = atomicLoad(&parent[r]);
            atomicOr(&seed_roots[root / 32u], 1u << (root % 32u));
            atomicStore(&stats[1u + s], 1u);
            return;
        }
    }
}
