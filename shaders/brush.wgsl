// 3-D brush: one invocation per voxel of a stroke piece's bounding box.
//
// The CPU computed, per voxel row (j, k) of the box, the inclusive i span of
// voxel centres inside the capsule (src/annotate/brush/mod.rs); this pass only
// applies span membership, the editable intensity range, locks and the
// overwrite policy (mirror of `brushed_label` in Rust), so GPU == CPU exactly.
//
// Labels live either in a u8-per-voxel map packed four to a u32 (the headless
// engine) or in the renderer's r8uint storage texture (the app, which then
// draws the stroke without any copy), by the def TEXTURE_LABELS. Packed: invocations own voxels, not words, so
// neighbours share words: a changed voxel flips its own byte with one
// atomicXor ((old ^ new) << shift), which commutes with the other bytes' flips.
//
// Shader defs (src/gpu/shader.rs, src/annotate/brush/gpu.rs): FORMAT, the image
// texture's texel type (0 r16sint, 1 r32float, 2 rg8uint voxel pairs, the voxel in
// x), and TEXTURE_LABELS (true: the r8uint storage texture; false: packed).

// Keep in sync with BrushParams in src/annotate/brush/gpu.rs.
struct BrushParams {
    // ni, nj, nk, offset of this piece's rows in `spans`.
    grid: vec4<u32>,
    // i0, j0, k0 of the box; w unused.
    box_min: vec4<u32>,
    // di, dj, dk, di·dj·dk.
    box_size: vec4<u32>,
    // label painted, kind (0 paint, 1 erase), policy (0 all, 1 background only),
    // erase target (256 = any unlocked label).
    mode: vec4<u32>,
    // Inclusive bounds for integer images, use range (0/1), unused.
    range_i: vec4<i32>,
    // Inclusive bounds for float images; zw unused.
    range_f: vec4<f32>,
    // Bit v of word v / 32 set when label v is locked.
    locked: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: BrushParams;
@group(0) @binding(1) var<storage, read> spans: array<vec2<i32>>;
#if TEXTURE_LABELS == true
@group(0) @binding(2) var labels: texture_storage_3d<r8uint, read_write>;
#else
@group(0) @binding(2) var<storage, read_write> labels: array<atomic<u32>>;
#endif
@group(0) @binding(3) var<storage, read_write> changed_total: atomic<u32>;
#if FORMAT == 0
@group(1) @binding(0) var image: texture_3d<i32>;
#else if FORMAT == 1
@group(1) @binding(0) var image: texture_3d<f32>;
#else if FORMAT == 2
@group(1) @binding(0) var image: texture_3d<u32>;
#endif

var<workgroup> changed_here: atomic<u32>;

fn is_locked(label: u32) -> bool {
    let word = p.locked[label / 128u][(label / 32u) % 4u];
    return ((word >> (label % 32u)) & 1u) != 0u;
}

fn in_range(ijk: vec3<u32>) -> bool {
    if (p.range_i.z == 0) {
        return true;
    }
    let v = textureLoad(image, vec3<i32>(ijk), 0).x;
#if FORMAT == 0
    return v >= p.range_i.x && v <= p.range_i.y;
#else if FORMAT == 1
    return v >= p.range_f.x && v <= p.range_f.y;
#else if FORMAT == 2
    // The voxel is x, compared as an integer.
    return i32(v) >= p.range_i.x && i32(v) <= p.range_i.y;
#endif
}

fn load_label(index: u32, ijk: vec3<u32>) -> u32 {
#if TEXTURE_LABELS == true
    return textureLoad(labels, vec3<i32>(ijk)).x;
#else
    return (atomicLoad(&labels[index / 4u]) >> ((index % 4u) * 8u)) & 0xffu;
#endif
}

fn store_label(index: u32, ijk: vec3<u32>, current: u32, next: u32) {
#if TEXTURE_LABELS == true
    textureStore(labels, vec3<i32>(ijk), vec4<u32>(next, 0u, 0u, 0u));
#else
    atomicXor(&labels[index / 4u], (current ^ next) << ((index % 4u) * 8u));
#endif
}

fn brushed_label(current: u32, ijk: vec3<u32>) -> u32 {
    if (is_locked(current) || !in_range(ijk)) {
        return current;
    }
    if (p.mode.y == 0u) {
        if (p.mode.z == 1u && current != 0u) {
            return current;
        }
        return p.mode.x;
    }
    if (p.mode.w != 256u && current != p.mode.w) {
        return current;
    }
    return 0u;
}

@compute @workgroup_size(64)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let n = gid.x + gid.y * groups.x * 64u;
    if (n < p.box_size.w) {
        let li = n % p.box_size.x;
        let row = n / p.box_size.x;
        let span = spans[p.grid.w + row];
        let i = p.box_min.x + li;
        if (i32(i) >= span.x && i32(i) <= span.y) {
            let j = p.box_min.y + row % p.box_size.y;
            let k = p.box_min.z + row / p.box_size.y;
            let index = i + p.grid.x * (j + p.grid.y * k);
            let ijk = vec3<u32>(i, j, k);
            let current = load_label(index, ijk);
            let next = brushed_label(current, ijk);
            if (next != current) {
                store_label(index, ijk, current, next);
                atomicAdd(&changed_here, 1u);
            }
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let c = atomicLoad(&changed_here);
        if (c > 0u) {
            atomicAdd(&changed_total, c);
        }
    }
}
