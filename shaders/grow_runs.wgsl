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
// Pass 2: extract the runs of every row into runs[offsets[row] ..], packed as
// start | end << 16 (inclusive i), in increasing i, and make each its own root.
// One invocation per row.

@group(0) @binding(1) var<storage, read_write> mask: array<u32>;
// Exclusive prefix sum of the run counts, rows + 1 entries.
@group(0) @binding(2) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> runs: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;
// Row of each run, so the write pass needs no search for it.
@group(0) @binding(9) var<storage, read_write> run_rows: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = gid.x + gid.y * groups.x * 64u;
    if row >= p.counts.y {
        return;
    }
    let words = p.shape.w;
    var r = offsets[row];
    var in_run = false;
    var start = 0u;
    for (var w = 0u; w < words; w++) {
        let bits = mask[row * words + w];
        var b = 0u;
        // Jump from edge to edge; each step moves b forward by at least one bit.
        loop {
            if in_run {
                let rest = (~bits) >> b;
                if rest == 0u {
                    break;
                }
                b += countTrailingZeros(rest);
                runs[r] = start | ((w * 32u + b - 1u) << 16u);
                atomicStore(&parent[r], r);
                run_rows[r] = row;
                r += 1u;
                in_run = false;
            } else {
                let rest = bits >> b;
                if rest == 0u {
                    break;
                }
                b += countTrailingZeros(rest);
                start = w * 32u + b;
                in_run = true;
            }
        }
    }
    // Only when ni is a multiple of 32: padding bits are clear otherwise.
    if in_run {
        runs[r] = start | ((p.shape.x - 1u) << 16u);
        atomicStore(&parent[r], r);
        run_rows[r] = row;
    }
}
