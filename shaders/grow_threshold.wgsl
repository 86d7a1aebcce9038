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
//
// Shader defs (src/gpu/shader.rs, ImageKind in src/annotate/grow/gpu.rs): LOCKS
// (below) and IMAGE, where the image comes from:
// - 0, 1, 2: the volume texture (0 r16sint, 1 r32float, 2 rg8uint voxel pairs, the
//   voxel in x), one texel fetch per candidate voxel;
// - 3: a storage buffer of i16 pairs (voxel n in the low (n even) or high half of
//   word n / 2), uploaded by PackedImage;
// - 4: a storage buffer of u8 quads (voxel n in byte n % 4 of word n / 4), uploaded
//   by PackedImage for images whose values are integers in 0..=255: half the bytes
//   of the i16 pairs.
// The packed images are read branch-free, two or four voxels per buffer load.

// Locked voxels, same layout as the mask (read only when LOCKS).
@group(0) @binding(1) var<storage, read> locked_voxels: array<u32>;
@group(0) @binding(2) var<storage, read_write> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> run_counts: array<atomic<u32>>;
// Per (row, seed), seeds fastest: inclusive i-span within the distance (lo > hi: none).
@group(0) @binding(4) var<storage, read> spans: array<vec2<i32>>;
#if IMAGE == 0
@group(1) @binding(0) var image: texture_3d<i32>;
#else if IMAGE == 1
@group(1) @binding(0) var image: texture_3d<f32>;
#else if IMAGE == 2
@group(1) @binding(0) var image: texture_3d<u32>;
#else if IMAGE <= 4
// The image words of this chunk of rows (PackedImage splits images larger than
// one storage binding): `image[k]` is word `k + chunk.z` of the whole image.
@group(1) @binding(0) var<storage, read> image: array<u32>;
// x: the chunk's first mask word (global index), y: its mask words, z: the
// image word bound at image[0]. The bound range holds a margin word before the
// chunk's first voxel and the words read past its last.
@group(1) @binding(1) var<uniform> chunk: vec4<u32>;

// Word n of the whole image (n within the chunk's bound range).
fn img(n: u32) -> u32 {
    return image[n - chunk.z];
}
#endif

// False when no label is locked: lavapipe would run the lock test under a lane
// mask even behind a uniform branch.
const LOCKS: bool = #{LOCKS};

// Bits of the word starting at voxel i0 that fall in the inclusive span.
fn span_bits(span: vec2<i32>, i0: i32) -> u32 {
    let lo = max(span.x - i0, 0);
    let hi = min(span.y - i0, 31);
    if lo > hi {
        return 0u;
    }
    return (0xffffffffu >> u32(31 - hi)) & (0xffffffffu << u32(lo));
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

#if IMAGE == 0
fn passes(i: u32, j: u32, k: u32) -> bool {
    let v = textureLoad(image, vec3<i32>(i32(i), i32(j), i32(k)), 0).x;
    return v >= p.bounds_i.x && v <= p.bounds_i.y;
}
#else if IMAGE == 1
fn passes(i: u32, j: u32, k: u32) -> bool {
    let v = textureLoad(image, vec3<i32>(i32(i), i32(j), i32(k)), 0).x;
    return v >= p.bounds_f.x && v <= p.bounds_f.y;
}
#else if IMAGE == 2
// The voxel is x, compared as an integer.
fn passes(i: u32, j: u32, k: u32) -> bool {
    let v = textureLoad(image, vec3<i32>(i32(i), i32(j), i32(k)), 0).x;
    return i32(v) >= p.bounds_i.x && i32(v) <= p.bounds_i.y;
}
#else if IMAGE == 3
// Bit 0: the low i16 of an image word is within the bounds; bit 1: the high one.
fn pair_bits(x: u32) -> u32 {
    let lo = i32(x << 16u) >> 16u;
    let hi = i32(x) >> 16u;
    let lo_in = lo >= p.bounds_i.x && lo <= p.bounds_i.y;
    let hi_in = hi >= p.bounds_i.x && hi <= p.bounds_i.y;
    return select(0u, 1u, lo_in) | select(0u, 2u, hi_in);
}
#else if IMAGE == 4
// Bit q: byte q of x lies in [lo, lo + range] = bounds_i.z, bounds_i.w (the
// bounds clamped to u8 by gpu.rs; lo = 256 when none passes), by one unsigned
// compare: bytes below lo wrap round to huge differences.
fn quad_bits(x: u32) -> u32 {
    let lo = u32(p.bounds_i.z);
    let range = u32(p.bounds_i.w);
    let b0 = select(0u, 1u, (x & 0xffu) - lo <= range);
    let b1 = select(0u, 2u, ((x >> 8u) & 0xffu) - lo <= range);
    let b2 = select(0u, 4u, ((x >> 16u) & 0xffu) - lo <= range);
    let b3 = select(0u, 8u, (x >> 24u) - lo <= range);
    return b0 | b1 | b2 | b3;
}
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
#if IMAGE <= 2
    let id = gid.x + gid.y * groups.x * 64u;
    if id >= p.counts.y * p.shape.w {
        return;
    }
#else
    let local = gid.x + gid.y * groups.x * 64u;
    if local >= chunk.y {
        return;
    }
    let id = chunk.x + local;
#endif
    let words = p.shape.w;
    let row = id / words;
    let w = id - row * words;
    let ni = p.shape.x;
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
    if LOCKS {
        todo &= ~locked_voxels[id];
        // The previous word's top voxel (only looked at when w > 0).
        prev_todo &= ~(locked_voxels[max(id, 1u) - 1u] >> 31u);
    }
#if IMAGE <= 2
    // One fetch per candidate voxel.
    let j = row % p.shape.y;
    let k = row / p.shape.y;
    var bits = 0u;
    while todo != 0u {
        let b = countTrailingZeros(todo);
        todo &= todo - 1u;
        if passes(i0 + b, j, k) {
            bits |= 1u << b;
        }
    }
    // Whether voxel i0 - 1 is within the bounds (looked at only when it matters).
    var prev_in = 0u;
    if (bits & 1u) != 0u && prev_todo != 0u && passes(i0 - 1u, j, k) {
        prev_in = 1u;
    }
#else if IMAGE == 3
    // Branch-free over the whole word, two voxels per image word (a buffer load is
    // cheap), then masked. With n0 odd the first pair holds voxel n0 - 1 (the
    // previous word's top bit) in its low half and the pairs reach one voxel further.
    let n0 = row * ni + i0;
    let base = n0 / 2u;
    let odd = n0 % 2u;
    var pairs = 0u;
    for (var q = 0u; q < 16u; q++) {
        pairs |= pair_bits(img(base + q)) << (2u * q);
    }
    var bits = pairs;
    var prev_in = 0u;
    if odd != 0u {
        bits = (pairs >> 1u) | ((pair_bits(img(base + 16u)) & 1u) << 31u);
        prev_in = pairs & 1u;
    } else if n0 > 0u {
        prev_in = pair_bits(img(base - 1u)) >> 1u;
    }
    bits &= todo;
#else if IMAGE == 4
    // Branch-free over nine image words (36 voxels from n0 - off; the buffer is
    // padded so the ninth is always there), then shifted into place and masked.
    let n0 = row * ni + i0;
    let base = n0 / 4u;
    let off = n0 % 4u;
    var quads = 0u;
    for (var q = 0u; q < 8u; q++) {
        quads |= quad_bits(img(base + q)) << (4u * q);
    }
    let extra = quad_bits(img(base + 8u));
    var bits = quads;
    var prev_in = 0u;
    if off != 0u {
        bits = (quads >> off) | (extra << (32u - off));
        prev_in = quads >> (off - 1u);
    } else if n0 > 0u {
        prev_in = quad_bits(img(base - 1u)) >> 3u;
    }
    bits &= todo;
#endif
    mask[id] = bits;
    // A run starts at a set bit whose left neighbour (maybe in the previous word) is
    // clear; that neighbour is evaluated here rather than read from another invocation.
    let prev_top = prev_todo & prev_in & 1u;
    let runs = countOneBits(bits & ~((bits << 1u) | prev_top));
    if runs != 0u {
        atomicAdd(&run_counts[row], runs);
    }
}
