// Min/max of the image (and max label) per brick of BRICK³ voxels, for empty-space
// skipping in raymarch.wgsl. Each brick also covers one voxel of its neighbours on
// every side, because a trilinear sample inside the brick reads them.
// Keep BrickParams in sync with BrickParams in src/render/raymarch/bricks.rs.
// The volume binding is rewritten to texture_3d<i32> for r16sint images.

struct BrickParams {
    // xyz: image grid, w: brick edge in voxels.
    shape: vec4<u32>,
    // xyz: bricks per axis, w: 1 when a label texture is bound.
    grid: vec4<u32>,
}

@group(0) @binding(0) var<uniform> bp: BrickParams;
@group(0) @binding(1) var volume_tex: texture_3d<f32>; // VOLUME_TEXEL_TYPE
@group(0) @binding(2) var label_tex: texture_3d<u32>;
// (min, max, max label, 0) per brick.
@group(0) @binding(3) var bricks: texture_storage_3d<rgba32float, write>;

@compute @workgroup_size(4, 4, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if any(gid >= bp.grid.xyz) {
        return;
    }
    let size = bp.shape.w;
    let shape = vec3<i32>(bp.shape.xyz);
    let lo = max(vec3<i32>(gid * size) - vec3<i32>(1), vec3<i32>(0));
    let hi = min(vec3<i32>((gid + vec3<u32>(1u)) * size) + vec3<i32>(1), shape - vec3<i32>(1));
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
    textureStore(bricks, vec3<i32>(gid), vec4<f32>(vmin, vmax, f32(lmax), 0.0));
}
