// Raymarching, one invocation per output pixel: MIP, MinIP, average, shaded DVR and
// isosurface, with label colours, a clip box, empty-space skipping over a min/max
// brick grid (brick_minmax.wgsl) and early ray termination.
// Rays are built in RAS mm and moved to continuous voxel index space (voxel centres at
// integers) with voxel_from_ras, so oblique grids render right.
// Keep Params in sync with RaymarchParams in src/render/raymarch/params.rs.
// The volume binding is rewritten to texture_3d<i32> for r16sint images.

const MODE_MIP: u32 = 0u;
const MODE_MINIP: u32 = 1u;
const MODE_AVERAGE: u32 = 2u;
const MODE_DVR: u32 = 3u;
const MODE_ISO: u32 = 4u;

const FLAG_PERSPECTIVE: u32 = 1u;
const FLAG_JITTER: u32 = 2u;
const FLAG_SKIP: u32 = 4u;
const FLAG_EARLY_STOP: u32 = 8u;
const FLAG_LABELS: u32 = 16u;

const OPAQUE: f32 = 0.99;

struct Params {
    voxel_from_ras: mat4x4<f32>,
    // Image-plane point of pixel (0, 0) and one-pixel steps (RAS mm).
    origin_ras: vec4<f32>,
    right_ras: vec4<f32>,
    down_ras: vec4<f32>,
    // Orthographic ray direction (unit) and perspective eye.
    forward_ras: vec4<f32>,
    eye_ras: vec4<f32>,
    // Clip box as continuous voxel index bounds (faces, not centres).
    clip_lo_vox: vec4<f32>,
    clip_hi_vox: vec4<f32>,
    // xyz: grid, w: brick edge in voxels.
    shape: vec4<u32>,
    // xyz: bricks per axis.
    brick_grid: vec4<u32>,
    image_size: vec2<u32>,
    mode: u32,
    flags: u32,
    window_lo: f32,
    window_scale: f32,
    tf_lo: f32,
    tf_hi: f32,
    threshold: f32,
    samples_per_voxel: f32,
    // Step length (mm) at which TF and label opacities are defined.
    ref_step_mm: f32,
    _pad: f32,
}

struct TransferFunction {
    rgba: array<vec4<f32>, 256>,
    // nonzero[i] = entries with alpha > 0 among rgba[0..i]; entries [a, b] are all
    // transparent when nonzero[b + 1] == nonzero[a]. 260 keeps a 16-byte multiple.
    nonzero: array<u32, 260>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var volume_tex: texture_3d<f32>; // VOLUME_TEXEL_TYPE
@group(0) @binding(2) var label_tex: texture_3d<u32>;
@group(0) @binding(3) var<storage, read> bricks: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> tf: TransferFunction;
@group(0) @binding(5) var<storage, read> label_lut: array<u32, 256>;
@group(0) @binding(6) var out_tex: texture_storage_2d<rgba8unorm, write>;

fn voxel(p: vec3<i32>) -> f32 {
    let q = clamp(p, vec3<i32>(0), vec3<i32>(params.shape.xyz) - vec3<i32>(1));
    return f32(textureLoad(volume_tex, q, 0).x);
}

// Trilinear interpolation by hand: the integer texture is not filterable.
fn sample_volume(pos: vec3<f32>) -> f32 {
    let base = floor(pos);
    let f = pos - base;
    let b = vec3<i32>(base);
    let c00 = mix(voxel(b), voxel(b + vec3<i32>(1, 0, 0)), f.x);
    let c10 = mix(voxel(b + vec3<i32>(0, 1, 0)), voxel(b + vec3<i32>(1, 1, 0)), f.x);
    let c01 = mix(voxel(b + vec3<i32>(0, 0, 1)), voxel(b + vec3<i32>(1, 0, 1)), f.x);
    let c11 = mix(voxel(b + vec3<i32>(0, 1, 1)), voxel(b + vec3<i32>(1, 1, 1)), f.x);
    return mix(mix(c00, c10, f.y), mix(c01, c11, f.y), f.z);
}

fn label_at(pos: vec3<f32>) -> u32 {
    let q = clamp(vec3<i32>(floor(pos + vec3<f32>(0.5))), vec3<i32>(0), vec3<i32>(params.shape.xyz) - vec3<i32>(1));
    return textureLoad(label_tex, q, 0).x;
}

// Ray/box intersection (slabs); returns (t_enter, t_exit).
fn intersect_box(o: vec3<f32>, d: vec3<f32>, lo: vec3<f32>, hi: vec3<f32>) -> vec2<f32> {
    // Zero components become tiny ones: finite and the right sign for the slab test.
    let safe = select(d, vec3<f32>(1e-20), abs(d) < vec3<f32>(1e-20));
    let inv = 1.0 / safe;
    let t0 = (lo - o) * inv;
    let t1 = (hi - o) * inv;
    let tmin = min(t0, t1);
    let tmax = max(t0, t1);
    return vec2<f32>(max(max(tmin.x, tmin.y), tmin.z), min(min(tmax.x, tmax.y), tmax.z));
}

// Same formula and operation order as rayseg::render::window::grey (and mpr.wgsl).
fn window_grey(v: f32) -> f32 {
    let t = floor((v - params.window_lo) * params.window_scale);
    return clamp(t, 0.0, 255.0) / 255.0;
}

fn tf_position(v: f32) -> f32 {
    return clamp((v - params.tf_lo) / max(params.tf_hi - params.tf_lo, 1e-6), 0.0, 1.0) * 255.0;
}

fn tf_lookup(v: f32) -> vec4<f32> {
    let x = tf_position(v);
    let i = min(u32(floor(x)), 254u);
    return mix(tf.rgba[i], tf.rgba[i + 1u], x - f32(i));
}

// True when no value in [vmin, vmax] has TF opacity.
fn tf_transparent(vmin: f32, vmax: f32) -> bool {
    let a = u32(floor(tf_position(vmin)));
    let b = min(u32(ceil(tf_position(vmax))), 255u);
    return tf.nonzero[b + 1u] == tf.nonzero[a];
}

// Opacity defined per ref_step_mm, corrected to the actual step.
fn correct_alpha(alpha: f32, step_mm: f32) -> f32 {
    return 1.0 - pow(1.0 - clamp(alpha, 0.0, 1.0), step_mm / params.ref_step_mm);
}

fn gradient_ras(p: vec3<f32>) -> vec3<f32> {
    let g_vox = vec3<f32>(
        sample_volume(p + vec3<f32>(1.0, 0.0, 0.0)) - sample_volume(p - vec3<f32>(1.0, 0.0, 0.0)),
        sample_volume(p + vec3<f32>(0.0, 1.0, 0.0)) - sample_volume(p - vec3<f32>(0.0, 1.0, 0.0)),
        sample_volume(p + vec3<f32>(0.0, 0.0, 1.0)) - sample_volume(p - vec3<f32>(0.0, 0.0, 1.0)),
    ) * 0.5;
    // d(value)/d(ras) = transpose(d(vox)/d(ras)) · d(value)/d(vox).
    let m = params.voxel_from_ras;
    return transpose(mat3x3<f32>(m[0].xyz, m[1].xyz, m[2].xyz)) * g_vox;
}

// Blinn-Phong with a headlight (light and eye along -dir_ras, so H = L).
fn shade(rgb: vec3<f32>, p: vec3<f32>, dir_ras: vec3<f32>) -> vec3<f32> {
    let g = gradient_ras(p);
    let len = length(g);
    if len < 1e-6 {
        return rgb;
    }
    let n_dot_l = abs(dot(g / len, dir_ras));
    return rgb * (0.3 + 0.7 * n_dot_l) + vec3<f32>(0.25 * pow(n_dot_l, 32.0));
}

fn hash01(p: vec2<u32>) -> f32 {
    var h = p.x * 747796405u + p.y * 2891336453u + 12345u;
    h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
    h = (h >> 22u) ^ h;
    return f32(h >> 8u) / 16777216.0;
}

// Composites (rgb, alpha) front to back into acc (premultiplied rgb).
fn over(acc: vec4<f32>, rgb: vec3<f32>, alpha: f32) -> vec4<f32> {
    let w = (1.0 - acc.a) * alpha;
    return vec4<f32>(acc.rgb + w * rgb, acc.a + w);
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= params.image_size.x || gid.y >= params.image_size.y {
        return;
    }
    let pixel = vec2<i32>(gid.xy);
    let perspective = (params.flags & FLAG_PERSPECTIVE) != 0u;
    let labels_on = (params.flags & FLAG_LABELS) != 0u;
    let skip_on = (params.flags & FLAG_SKIP) != 0u;
    let early_stop = (params.flags & FLAG_EARLY_STOP) != 0u;
    let mode = params.mode;

    let plane = params.origin_ras.xyz + f32(gid.x) * params.right_ras.xyz + f32(gid.y) * params.down_ras.xyz;
    var o_ras = plane;
    var dir_ras = params.forward_ras.xyz;
    if perspective {
        o_ras = params.eye_ras.xyz;
        dir_ras = normalize(plane - o_ras);
    }
    let m = params.voxel_from_ras;
    let o = (m * vec4<f32>(o_ras, 1.0)).xyz;
    // Voxels per mm along the ray; t below is in mm.
    let d = (m * vec4<f32>(dir_ras, 0.0)).xyz;
    let shape = vec3<f32>(params.shape.xyz);
    let lo = max(params.clip_lo_vox.xyz, vec3<f32>(-0.5));
    let hi = min(params.clip_hi_vox.xyz, shape - vec3<f32>(0.5));
    let span = intersect_box(o, d, lo, hi);
    var t_enter = span.x;
    if perspective {
        t_enter = max(t_enter, 0.0);
    }
    let t_exit = span.y;
    if !(t_exit > t_enter) || any(hi <= lo) {
        textureStore(out_tex, pixel, vec4<f32>(0.0, 0.0, 0.0, 1.0));
        return;
    }
    // At most one voxel per step along any axis (÷ samples_per_voxel): an axis-aligned
    // ray steps exactly one spacing, and starting half a step in hits voxel centres.
    let step_mm = 1.0 / (max(max(abs(d.x), abs(d.y)), abs(d.z)) * params.samples_per_voxel);
    var phase = 0.5;
    if (params.flags & FLAG_JITTER) != 0u {
        phase = hash01(gid.xy);
    }

    var vmax = -3.4e38;
    var vmin = 3.4e38;
    var vsum = 0.0;
    var count = 0u;
    var acc = vec4<f32>(0.0);       // DVR/iso colour, premultiplied
    var label_acc = vec4<f32>(0.0); // labels over MIP/MinIP/average
    var hit = false;
    let edge = f32(params.shape.w);
    let grid = vec3<i32>(params.brick_grid.xyz);

    var s = 0u;
    loop {
        let t = t_enter + (f32(s) + phase) * step_mm;
        if t >= t_exit {
            break;
        }
        let p = o + t * d;

        if skip_on {
            let b = clamp(vec3<i32>(floor((p + vec3<f32>(0.5)) / edge)), vec3<i32>(0), grid - vec3<i32>(1));
            let brick = bricks[b.x + grid.x * (b.y + grid.y * b.z)];
            var skip = false;
            switch mode {
                case MODE_MIP: { skip = count > 0u && brick.y <= vmax; }
                case MODE_MINIP: { skip = count > 0u && brick.x >= vmin; }
                case MODE_DVR: { skip = tf_transparent(brick.x, brick.y); }
                case MODE_ISO: { skip = brick.y < params.threshold; }
                default: {}
            }
            if skip && !(labels_on && brick.z > 0.0) {
                let blo = vec3<f32>(b) * edge - vec3<f32>(0.5);
                let t_out = intersect_box(o, d, blo, blo + vec3<f32>(edge)).y;
                // First sample index at or past the brick's exit.
                let next = u32(max(ceil((t_out - t_enter) / step_mm - phase - 1e-3), 0.0));
                s = max(s + 1u, next);
                continue;
            }
        }

        let v = sample_volume(p);
        var label_rgba = vec4<f32>(0.0);
        if labels_on {
            let l = label_at(p);
            if l != 0u {
                label_rgba = unpack4x8unorm(label_lut[l]);
                label_rgba.a = correct_alpha(label_rgba.a, step_mm);
            }
        }

        switch mode {
            case MODE_MIP, MODE_MINIP, MODE_AVERAGE: {
                vmax = max(vmax, v);
                vmin = min(vmin, v);
                vsum += v;
                count += 1u;
                if label_rgba.a > 0.0 && label_acc.a < OPAQUE {
                    label_acc = over(label_acc, label_rgba.rgb, label_rgba.a);
                }
            }
            case MODE_DVR: {
                if label_rgba.a > 0.0 {
                    acc = over(acc, label_rgba.rgb, label_rgba.a);
                }
                let c = tf_lookup(v);
                if c.a > 0.0 {
                    let alpha = correct_alpha(c.a, step_mm);
                    acc = over(acc, shade(c.rgb, p, dir_ras), alpha);
                }
            }
            default: { // MODE_ISO
                if label_rgba.a > 0.0 {
                    acc = over(acc, label_rgba.rgb, label_rgba.a);
                }
                if v >= params.threshold {
                    // Bisection between the previous sample (below) and this one.
                    var t_lo = max(t - step_mm, t_enter);
                    var t_hi = t;
                    for (var it = 0; it < 8; it++) {
                        let t_mid = 0.5 * (t_lo + t_hi);
                        if sample_volume(o + t_mid * d) >= params.threshold {
                            t_hi = t_mid;
                        } else {
                            t_lo = t_mid;
                        }
                    }
                    let surface = shade(vec3<f32>(0.92, 0.86, 0.76), o + t_hi * d, dir_ras);
                    acc = over(acc, surface, 1.0);
                    hit = true;
                }
            }
        }
        if hit || (early_stop && acc.a > OPAQUE) {
            break;
        }
        s += 1u;
    }

    var rgb = vec3<f32>(0.0);
    switch mode {
        case MODE_MIP, MODE_MINIP, MODE_AVERAGE: {
            if count > 0u {
                var v = vmax;
                if mode == MODE_MINIP {
                    v = vmin;
                } else if mode == MODE_AVERAGE {
                    v = vsum / f32(count);
                }
                rgb = vec3<f32>(window_grey(v));
            }
            rgb = label_acc.rgb + (1.0 - label_acc.a) * rgb;
        }
        default: {
            rgb = acc.rgb;
        }
    }
    textureStore(out_tex, pixel, vec4<f32>(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0));
}
