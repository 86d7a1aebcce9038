// Min/max of the image (and max label) per brick, for empty-space skipping in
// raymarch.wgsl; bricks are edge.xyz voxels (long along the view's major axis).
// Each brick also covers one voxel of its neighbours on every side, because a
// trilinear sample inside the brick reads them.
// Keep BrickParams in sync with BrickParams in src/render/raymarch/bricks.rs.
// Shader def (src/gpu/shader.rs): FORMAT, the volume texture's texel type: 0 r16sint,
// 1 r32float, 2 rg8uint voxel pairs (the voxel in x).

struct BrickParams {
    // xyz: image grid.
    shape: vec4<u32>,
    // xyz: bricks per axis, w: 1 when a label texture is bound.
    grid: vec4<u32>,
    // xyz: brick edges in voxels.
    edge: vec4<u32>,
}

@group(0) @binding(0) var<uniform> bp: BrickParams;
#if FORMAT == 0
@group(0) @binding(1) var volume_tex: texture_3d<i32>;
#else if FORMAT == 1
@group(0) @binding(1) var volume_tex: texture_3d<f32>;
#else if FORMAT == 2
@group(0) @binding(1) var volume_tex: texture_3d<u32>;
#endif
@group(0) @binding(2) var label_tex: texture_3d<u32>;
// (min, max, max label, 0) per brick.
@group(0) @binding(3) var bricks: texture_storage_3d<rgba16float, write>;

@compute @workgroup_size(4, 4, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if any(gid >= bp.grid.xyz) {
        return;
    }
    let size = bp.edge.xyz;
    let shape = vec3<i32>(bp.shape.xyz);
    let lo = max(vec3<i32>(gid * size) - vec3<i32>(1), vec3<i32>(0));
    // A sample belongs to brick n along an axis for positions in [n e - 0.5,
    // (n + 1) e - 0.5) and reads voxels floor(p) and floor(p) + 1: n e - 1 to
    // (n + 1) e. (Column DVR's gradients reach further, but a brick is skipped only
    // when its samples' values are transparent, whatever their gradients.)
    let hi = min(vec3<i32>((gid + vec3<u32>(1u)) * size), shape - vec3<i32>(1));
    var vmin = 3.4e38;
    var vmax = -3.4e38;
    var lmax = 0u;
    for (var k = lo.z; k <= hi.z; k++) {
        for (var j = lo.y; j <= hi.y; j++) {
            for (var i = lo.x; i <= hi.x; i++) {
                let v = f32(textureLoad(volume_tex, vec3<i32>(i, j, k), 0).x);
                vmin = min(vmin, v);
                vmax = max(vmax, v);
                if bp.grid.w != 0u {
                    lmax = max(lmax, textureLoad(label_tex, vec3<i32>(i, j, k), 0).x);
                }
            }
        }
    }
    textureStore(bricks, vec3<i32>(gid), vec4<f32>(f16_below(vmin), f16_above(vmax), f32(lmax), 0.0));
}

// The texture keeps 11 significant bits: store the nearest f16 on the bound's own
// side, exact where the value is representable (integers to 2048: u8 bounds stay
// exact, and MIP skips bricks whose max equals the ray's). Beyond the f16 range a
// bound becomes ±inf on its own side (that brick is never skipped) or ±65504 on the
// other, both still bounds.
const F16_MAX: f32 = 65504.0;

fn f16_above(v: f32) -> f32 {
    if v > F16_MAX {
        return F16_MAX * 2.0;
    }
    if v <= -F16_MAX {
        return -F16_MAX;
    }
    // Whatever pack2x16float's rounding, it is within one f16 step of v.
    var b = pack2x16float(vec2<f32>(v, 0.0)) & 0xffffu;
    if unpack2x16float(b).x >= v {
        return unpack2x16float(b).x;
    }
    // One step up: away from zero for positives, towards it for negatives.
    if b == 0x8000u {
        b = 0u;
    }
    b = select(b + 1u, b - 1u, (b & 0x8000u) != 0u);
    return unpack2x16float(b).x;
}

fn f16_below(v: f32) -> f32 {
    return -f16_above(-v);
}
