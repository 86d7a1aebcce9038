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
// Pass 4: point every run straight at its root. One invocation per run.

@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = gid.x + gid.y * groups.x * 64u;
    if r >= p.counts.z {
        return;
    }
    var x = r;
    loop {
        let up = atomicLoad(&parent[x]);
        if up == x {
            break;
        }
        x = up;
    }
    atomicStore(&parent[r], x);
}
