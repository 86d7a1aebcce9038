// Windowed MPR slice: resample the volume on a plane (optionally a slab), window,
// colour through a LUT, blend labels, draw the crosshair. One invocation per pixel.
// The CPU reference is rayseg::render::mpr::render_cpu; keep the two in step.
//
// Shader defs (src/gpu/shader.rs): FORMAT, the volume texture's texel type: 0 r16sint,
// 1 r32float, 2 rg8uint voxel pairs (the voxel in x); OVERLAY, true for the fusion
// overlay (a second image drawn over the first): the pixel gets alpha
// overlay_alpha where the image is inside and above the window's bottom, else 0
// (also on the crosshair, which the image below draws); no labels.
// CPU reference of the overlay: rayseg::render::mpr::render_cpu_overlay.

// Keep in sync with `MprUniforms` in src/render/mpr.rs (128 bytes).
struct Params {
    // Columns: voxel index per pixel x, per pixel y, per mm along the normal; origin.
    voxel_from_pixel: mat4x4<f32>,
    // xyz: volume grid size.
    shape: vec4<i32>,
    out_size: vec2<u32>,
    slab_samples: u32,
    // 0 = MIP, 1 = MinIP, 2 = mean.
    slab_mode: u32,
    slab_step_mm: f32,
    window_lo: f32,
    window_scale: f32,
    // 0 = off, 1 = fill, 2 = outline.
    label_mode: u32,
    // Crosshair column and row; -1 = none.
    crosshair: vec2<i32>,
    crosshair_rgba: u32,
    // Overlay opacity 0..=255 (OVERLAY variants only).
    overlay_alpha: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if FORMAT == 0
@group(0) @binding(1) var volume_tex: texture_3d<i32>;
#else if FORMAT == 1
@group(0) @binding(1) var volume_tex: texture_3d<f32>;
#else if FORMAT == 2
@group(0) @binding(1) var volume_tex: texture_3d<u32>;
#endif
@group(0) @binding(2) var label_tex: texture_3d<u32>;
// [0, 256): colour LUT by grey level; [256, 512): label colours (RGBA8, R in low byte).
@group(0) @binding(3) var<storage, read> luts: array<u32, 512>;
@group(0) @binding(4) var out_tex: texture_storage_2d<rgba8unorm, write>;

fn load_voxel(c: vec3<i32>) -> f32 {
    return f32(textureLoad(volume_tex, c, 0).x);
}

// Same formula and operation order as rayseg::render::window::grey.
fn window_grey(value: f32) -> u32 {
    let t = floor((value - params.window_lo) * params.window_scale);
    return u32(clamp(t, 0.0, 255.0));
}

fn inside(p: vec3<f32>) -> bool {
    let hi = vec3<f32>(params.shape.xyz) - vec3<f32>(0.5);
    return all(p >= vec3<f32>(-0.5)) && all(p <= hi);
}

// Trilinear with clamp-to-edge; exact at voxel centres (weights 0 give a + 0).
fn sample_volume(p: vec3<f32>) -> f32 {
    let hi = params.shape.xyz - vec3<i32>(1);
    let base = floor(p);
    let f = p - base;
    let i0 = clamp(vec3<i32>(base), vec3<i32>(0), hi);
    let i1 = clamp(vec3<i32>(base) + vec3<i32>(1), vec3<i32>(0), hi);
    let c000 = load_voxel(vec3<i32>(i0.x, i0.y, i0.z));
    let c100 = load_voxel(vec3<i32>(i1.x, i0.y, i0.z));
    let c010 = load_voxel(vec3<i32>(i0.x, i1.y, i0.z));
    let c110 = load_voxel(vec3<i32>(i1.x, i1.y, i0.z));
    let c001 = load_voxel(vec3<i32>(i0.x, i0.y, i1.z));
    let c101 = load_voxel(vec3<i32>(i1.x, i0.y, i1.z));
    let c011 = load_voxel(vec3<i32>(i0.x, i1.y, i1.z));
    let c111 = load_voxel(vec3<i32>(i1.x, i1.y, i1.z));
    let c00 = c000 + (c100 - c000) * f.x;
    let c10 = c010 + (c110 - c010) * f.x;
    let c01 = c001 + (c101 - c001) * f.x;
    let c11 = c011 + (c111 - c011) * f.x;
    let c0 = c00 + (c10 - c00) * f.y;
    let c1 = c01 + (c11 - c01) * f.y;
    return c0 + (c1 - c0) * f.z;
}

// Nearest-neighbour label at a continuous voxel index; 0 outside.
fn label_at(p: vec3<f32>) -> u32 {
    if !inside(p) {
        return 0u;
    }
    let dims = vec3<i32>(textureDimensions(label_tex));
    let c = clamp(vec3<i32>(floor(p + vec3<f32>(0.5))), vec3<i32>(0), dims - vec3<i32>(1));
    return textureLoad(label_tex, c, 0).x;
}

fn unpack(c: u32) -> vec4<u32> {
    return vec4<u32>(c & 0xffu, (c >> 8u) & 0xffu, (c >> 16u) & 0xffu, c >> 24u);
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= params.out_size.x || gid.y >= params.out_size.y {
        return;
    }
    let m = params.voxel_from_pixel;
    let centre = m[0].xyz * f32(gid.x) + m[1].xyz * f32(gid.y) + m[3].xyz;

    var acc = 0.0;
    var count = 0u;
    let n = max(params.slab_samples, 1u);
    for (var s = 0u; s < n; s = s + 1u) {
        let offset_mm = (f32(s) - f32(n - 1u) * 0.5) * params.slab_step_mm;
        let p = centre + m[2].xyz * offset_mm;
        if !inside(p) {
            continue;
        }
        let v = sample_volume(p);
        if count == 0u {
            acc = v;
        } else if params.slab_mode == 0u {
            acc = max(acc, v);
        } else if params.slab_mode == 1u {
            acc = min(acc, v);
        } else {
            acc = acc + v;
        }
        count = count + 1u;
    }

    var rgb = vec3<u32>(0u);
    var grey = 0u;
    if count > 0u {
        var value = acc;
        if params.slab_mode == 2u {
            value = acc / f32(count);
        }
        grey = window_grey(value);
        rgb = unpack(luts[grey]).xyz;
    }

#if OVERLAY == true
    var alpha = 0.0;
    let on_crosshair = i32(gid.x) == params.crosshair.x || i32(gid.y) == params.crosshair.y;
    if count > 0u && grey > 0u && !on_crosshair {
        alpha = f32(params.overlay_alpha) / 255.0;
    }
    textureStore(out_tex, vec2<i32>(gid.xy), vec4<f32>(vec3<f32>(rgb) / 255.0, alpha));
    return;
#else

    if params.label_mode != 0u {
        let label = label_at(centre);
        var draw = label != 0u;
        if draw && params.label_mode == 2u {
            draw = label_at(centre + m[0].xyz) != label || label_at(centre - m[0].xyz) != label
                || label_at(centre + m[1].xyz) != label || label_at(centre - m[1].xyz) != label;
        }
        if draw {
            let c = unpack(luts[256u + label]);
            let a = c.w;
            rgb = (rgb * (255u - a) + c.xyz * a + vec3<u32>(127u)) / 255u;
        }
    }

    if i32(gid.x) == params.crosshair.x || i32(gid.y) == params.crosshair.y {
        rgb = unpack(params.crosshair_rgba).xyz;
    }
    textureStore(out_tex, vec2<i32>(gid.xy), vec4<f32>(vec3<f32>(rgb) / 255.0, 1.0));
#endif
}
