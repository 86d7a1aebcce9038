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
// Pass 1: the threshold mask, 1 bit per voxel (bit b of word w of a row is voxel
// i = 32 w + b; rows padded to whole words, padding bits 0), and the number of
// runs (maximal stretches of set bits) per row. One invocation per mask word; each
// adds the runs starting in its word to its row's count (zeroed at creation).
// A voxel is set when its value is within the bounds, it is not locked and (with
// a distance limit) it lies in some seed's span of this row.
// The image binding is rewritten to texture_3d<f32> and the bounds to bounds_f
// for r32float images (see gpu.rs).

// Locked voxels, same layout as the mask (read only when LOCKS).
@group(0) @binding(1) var<storage, read> locked_voxels: array<u32>;
@group(0) @binding(2) var<storage, read_write> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> run_counts: array<atomic<u32>>;
// Per (row, seed), seeds fastest: inclusive i-span within the distance (lo > hi: none).
@group(0) @binding(4) var<storage, read> spans: array<vec2<i32>>;
@group(1) @binding(0) var image: texture_3d<i32>; // GROW_TEXEL_TYPE

// Rewritten to false when no label is locked: lavapipe would run the lock test
// under a lane mask even behind a uniform branch.
const LOCKS: bool = true; // SPECIALISED

// Bits of the word starting at voxel i0 that fall in the inclusive span.
fn span_bits(span: vec2<i32>, i0: i32) -> u32 {
    let lo = max(span.x - i0, 0);
    let hi = min(span.y - i0, 31);
    if lo > hi {
        return 0u;
    }
    return (0xffffffffu >> u32(31 - hi)) & (0xffffffffu << u32(lo));
}

fn passes(i: u32, j: u32, k: u32) -> bool {
    let v = textureLoad(image, vec3<i32>(i32(i), i32(j), i32(k)), 0).x;
    return v >= p.bounds_i.x && v <= p.bounds_i.y; // GROW_BOUNDS
}

// Bits of the 32 voxels from i0 (maybe -1) that lie in some seed's span of the row.
fn near_bits(row: u32, i0: i32) -> u32 {
    let seeds = p.flags.z;
    var near = 0u;
    for (var s = 0u; s < seeds; s++) {
        near |= span_bits(spans[row * seeds + s], i0);
    }
    return near;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let id = gid.x + gid.y * groups.x * 64u;
    let words = p.shape.w;
    if id >= p.counts.y * words {
        return;
    }
    let row = id / words;
    let w = id - row * words;
    let ni = p.shape.x;
    let j = row % p.shape.y;
    let k = row / p.shape.y;
    let i0 = w * 32u;
    let n = min(32u, ni - i0);
    // n in 1..=32; the mask keeps the padding bits of the last word clear.
    var todo = 0xffffffffu >> ((32u - n) & 31u);
    // Whether voxel i0 - 1 (the previous word's top bit) is a candidate.
    var prev_todo = select(0u, 1u, w > 0u);
    if p.flags.y != 0u {
        todo &= near_bits(row, i32(i0));
        if prev_todo != 0u {
            prev_todo &= near_bits(row, i32(i0) - 1);
        }
    }
    var bits = 0u;
    while todo != 0u {
        let b = countTrailingZeros(todo);
        todo &= todo - 1u;
        if passes(i0 + b, j, k) {
            bits |= 1u << b;
        }
    }
    if LOCKS {
        bits &= ~locked_voxels[id];
        // The previous word's top voxel (only looked at when w > 0).
        prev_todo &= ~(locked_voxels[max(id, 1u) - 1u] >> 31u);
    }
    mask[id] = bits;
    // A run starts at a set bit whose left neighbour (maybe in the previous word) is clear;
    // that neighbour is re-evaluated here rather than read from another invocation.
    var prev_top = 0u;
    if (bits & 1u) != 0u && prev_todo != 0u && passes(i0 - 1u, j, k) {
        prev_top = 1u;
    }
    let runs = countOneBits(bits & ~((bits << 1u) | prev_top));
    if runs != 0u {
        atomicAdd(&run_counts[row], runs);
    }
}
