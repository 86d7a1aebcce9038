// Raymarching, one invocation per output pixel: MIP, MinIP, average, shaded DVR and
// isosurface, with label colours, a clip box, empty-space skipping over a min/max
// brick grid (brick_minmax.wgsl) and early ray termination.
// Rays are built in RAS mm and moved to continuous voxel index space (voxel centres at
// integers) with voxel_from_ras, so oblique grids render right.
// Keep Params in sync with RaymarchParams in src/render/raymarch/params.rs.
// Shader defs (src/gpu/shader.rs, src/render/raymarch/pipelines.rs): FORMAT, the
// volume texture's texel type (0 r16sint, 1 r32float, 2 rg8uint voxel pairs), and
// MODE, LABELS, PAIR_X, COLUMN, SURFACES below.
// One pipeline per (MODE, LABELS): llvmpipe (lavapipe) runs both sides of every `if`
// under a lane mask, even when no lane takes it, so code for other modes in the ray
// loop would cost every step. Constant conditions are folded away by the driver.

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

// Substituted per pipeline (as literals, not `override`: lavapipe 22.3 did not fold
// override constants out of the loop). MODE is one of MODE_*.
const MODE: u32 = #{MODE}u;
const LABELS: bool = #{LABELS};
// U8Pair images (rg8uint: voxel i in x, voxel i + 1 in y): one fetch per voxel pair.
#if FORMAT == 2
const PAIRS: bool = true;
#else
const PAIRS: bool = false;
#endif
// Every ray's major axis is j or k (orthographic views), so i lies in the sampling
// plane and a plane sample takes two pair fetches.
const PAIR_X: bool = #{PAIR_X};
// Projections step from voxel plane to voxel plane (see main).
const PLANES: bool = MODE == MODE_MIP || MODE == MODE_MINIP || MODE == MODE_AVERAGE;
// DVR without labels, where every ray is orthographic and parallel to a voxel axis
// (standard views of axis-aligned volumes): see column_dvr.
const COLUMN: bool = #{COLUMN};
// Label surfaces drawn first (mesh.wgsl): each ray stops at its pixel's nearest
// surface, composites that layer (premultiplied) and goes on behind it, so the
// volume in front of a surface is composited over it. Not with COLUMN.
const SURFACES: bool = #{SURFACES};

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
    // xyz: grid.
    shape: vec4<u32>,
    // xyz: bricks per axis.
    brick_grid: vec4<u32>,
    // xyz: brick edges in voxels (long along the view's major axis).
    brick_edge: vec4<u32>,
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
    // Gradients (value per mm) shorter than this are float noise of flat regions:
    // no normal, no shading (else paths that round differently shade differently).
    flat_gradient: f32,
    // DVR and isosurface step (mm), the same for every ray of a frame, so the TF's
    // opacities come corrected to it once per frame instead of a pow per sample.
    dvr_step_mm: f32,
    _pad0: f32,
    _pad1: f32,
    _pad2: f32,
}

// Uniform buffers (llvmpipe gathers uniform reads across lanes; storage reads go
// lane by lane), so arrays of scalars are packed four to a vec4 (16-byte stride).
struct TransferFunction {
    // Segment i: entries i and i + 1, each as RGB8 (pack4x8unorm) and alpha (f32
    // bits), corrected from ref_step_mm to params.dvr_step_mm: one read per lookup.
    segments: array<vec4<u32>, 256>,
    // nonzero(i) = entries with alpha > 0 among rgba[0..i]; entries [a, b] are all
    // transparent when nonzero(b + 1) == nonzero(a). 260 values, as 65 vec4.
    nonzero: array<vec4<u32>, 65>,
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
// (min, max, max label, 0) per brick (brick_minmax.wgsl).
@group(0) @binding(3) var bricks: texture_3d<f32>;
@group(0) @binding(4) var<uniform> tf: TransferFunction;
// Packed RGBA8 per label, label l in label_lut[l / 4][l % 4].
@group(0) @binding(5) var<uniform> label_lut: array<vec4<u32>, 64>;
@group(0) @binding(6) var out_tex: texture_storage_2d<rgba8unorm, write>;
// SURFACES: the surface layer (premultiplied RGBA) and the ray distance (mm) of
// its nearest surface, per pixel; 1x1 placeholders otherwise.
@group(0) @binding(7) var surface_rgba: texture_2d<f32>;
@group(0) @binding(8) var surface_t: texture_2d<f32>;

fn voxel(p: vec3<i32>) -> f32 {
    let q = clamp(p, vec3<i32>(0), vec3<i32>(params.shape.xyz) - vec3<i32>(1));
    return f32(textureLoad(volume_tex, q, 0).x);
}

// Voxels q and q + (1, 0, 0), indices clamped like voxel(): the texel at the last i
// holds that voxel twice; below i = 0 (q.x = -1) both are voxel 0.
fn pair(q: vec3<i32>) -> vec2<f32> {
    let c = clamp(q, vec3<i32>(0), vec3<i32>(params.shape.xyz) - vec3<i32>(1));
    let t = vec2<f32>(textureLoad(volume_tex, c, 0).xy);
    return select(t, t.xx, q.x < 0);
}

// Trilinear interpolation by hand: the integer texture is not filterable.
fn sample_volume(pos: vec3<f32>) -> f32 {
    if PAIRS {
        let base = floor(pos);
        let f = pos - base;
        let b = vec3<i32>(base);
        let r00 = pair(b);
        let r10 = pair(b + vec3<i32>(0, 1, 0));
        let r01 = pair(b + vec3<i32>(0, 0, 1));
        let r11 = pair(b + vec3<i32>(0, 1, 1));
        let c00 = mix(r00.x, r00.y, f.x);
        let c10 = mix(r10.x, r10.y, f.x);
        let c01 = mix(r01.x, r01.y, f.x);
        let c11 = mix(r11.x, r11.y, f.x);
        return mix(mix(c00, c10, f.y), mix(c01, c11, f.y), f.z);
    }
    let base = floor(pos);
    let f = pos - base;
    let b = vec3<i32>(base);
    let c00 = mix(voxel(b), voxel(b + vec3<i32>(1, 0, 0)), f.x);
    let c10 = mix(voxel(b + vec3<i32>(0, 1, 0)), voxel(b + vec3<i32>(1, 1, 0)), f.x);
    let c01 = mix(voxel(b + vec3<i32>(0, 0, 1)), voxel(b + vec3<i32>(1, 0, 1)), f.x);
    let c11 = mix(voxel(b + vec3<i32>(0, 1, 1)), voxel(b + vec3<i32>(1, 1, 1)), f.x);
    return mix(mix(c00, c10, f.y), mix(c01, c11, f.y), f.z);
}

// Bilinear interpolation in a voxel plane (p lies on it): in-plane axes b then c.
fn sample_plane(p: vec3<f32>, axis_b: vec3<i32>, axis_c: vec3<i32>) -> f32 {
    let base = floor(p);
    let f = p - base;
    let b = vec3<i32>(base);
    let fb = dot(f, vec3<f32>(axis_b));
    let fc = dot(f, vec3<f32>(axis_c));
    if PAIRS && PAIR_X {
        // axis_b is i here.
        let r0 = pair(b);
        let r1 = pair(b + axis_c);
        return mix(mix(r0.x, r0.y, fb), mix(r1.x, r1.y, fb), fc);
    }
    let c00 = mix(voxel(b), voxel(b + axis_b), fb);
    let c01 = mix(voxel(b + axis_c), voxel(b + axis_b + axis_c), fb);
    return mix(c00, c01, fc);
}

fn load(q: vec3<i32>) -> f32 {
    return f32(textureLoad(volume_tex, q, 0).x);
}

// Trilinear from eight loaded corners, in sample_volume's order (x, then y, then z).
fn tri(c: array<f32, 8>, f: vec3<f32>) -> f32 {
    let c00 = mix(c[0], c[1], f.x);
    let c10 = mix(c[2], c[3], f.x);
    let c01 = mix(c[4], c[5], f.x);
    let c11 = mix(c[6], c[7], f.x);
    return mix(mix(c00, c10, f.y), mix(c01, c11, f.y), f.z);
}

// Trilinear value (x) and gradient in voxel units (yzw): central differences of the
// trilinear interpolant over ±1 voxel. (The derivative of the interpolant from the
// eight corners alone shows the voxel grid as hatching on ch2better; see the commit.)
// The seven trilinear samples (p and p ± each axis) share corners: 32 distinct loads,
// indices per axis clamped once (b-1 .. b+2), instead of 56.
fn sample_with_gradient(p: vec3<f32>) -> vec4<f32> {
    return gradient_around(p, cell_corners(p));
}

// The 2x2x2 cell around p in tri()'s order (sample_volume's clamping).
fn cell_corners(p: vec3<f32>) -> array<f32, 8> {
    let b = vec3<i32>(floor(p));
    if PAIRS {
        let r00 = pair(b);
        let r10 = pair(b + vec3<i32>(0, 1, 0));
        let r01 = pair(b + vec3<i32>(0, 0, 1));
        let r11 = pair(b + vec3<i32>(0, 1, 1));
        return array<f32, 8>(r00.x, r00.y, r10.x, r10.y, r01.x, r01.y, r11.x, r11.y);
    }
    let top = vec3<i32>(params.shape.xyz) - vec3<i32>(1);
    let i = clamp(b, vec3<i32>(0), top);
    let j = clamp(b + vec3<i32>(1), vec3<i32>(0), top);
    return array<f32, 8>(
        load(vec3<i32>(i.x, i.y, i.z)), load(vec3<i32>(j.x, i.y, i.z)),
        load(vec3<i32>(i.x, j.y, i.z)), load(vec3<i32>(j.x, j.y, i.z)),
        load(vec3<i32>(i.x, i.y, j.z)), load(vec3<i32>(j.x, i.y, j.z)),
        load(vec3<i32>(i.x, j.y, j.z)), load(vec3<i32>(j.x, j.y, j.z)),
    );
}

// sample_with_gradient given the cell's corners (24 more fetches).
fn gradient_around(p: vec3<f32>, cell: array<f32, 8>) -> vec4<f32> {
    let base = floor(p);
    return gradient_from(cell, cell_faces(vec3<i32>(base)), p - base);
}

// The 24 voxels around cell b's 2x2x2 core that central differences need:
// per axis, the b-1 face then the b+2 face, each in tri()'s corner order of the
// two other axes. Indices are clamped as in sample_volume.
fn cell_faces(b: vec3<i32>) -> array<f32, 24> {
    let top = vec3<i32>(params.shape.xyz) - vec3<i32>(1);
    let zero = vec3<i32>(0);
    let m = clamp(b - vec3<i32>(1), zero, top);
    let i = clamp(b, zero, top);
    let j = clamp(b + vec3<i32>(1), zero, top);
    let n = clamp(b + vec3<i32>(2), zero, top);
    if PAIRS {
        // i = b - 1 gives voxel m in x; i = b + 1 gives voxel n in y (the texel at
        // the last i holds it twice, so the clamp at the top comes out right).
        let x0 = vec3<i32>(b.x - 1, 0, 0);
        let x2 = vec3<i32>(b.x + 1, 0, 0);
        let xb = vec3<i32>(b.x, 0, 0);
        let xm00 = pair(x0 + vec3<i32>(0, i.y, i.z)).x;
        let xm10 = pair(x0 + vec3<i32>(0, j.y, i.z)).x;
        let xm01 = pair(x0 + vec3<i32>(0, i.y, j.z)).x;
        let xm11 = pair(x0 + vec3<i32>(0, j.y, j.z)).x;
        let xn00 = pair(x2 + vec3<i32>(0, i.y, i.z)).y;
        let xn10 = pair(x2 + vec3<i32>(0, j.y, i.z)).y;
        let xn01 = pair(x2 + vec3<i32>(0, i.y, j.z)).y;
        let xn11 = pair(x2 + vec3<i32>(0, j.y, j.z)).y;
        let ym0 = pair(xb + vec3<i32>(0, m.y, i.z));
        let ym1 = pair(xb + vec3<i32>(0, m.y, j.z));
        let yn0 = pair(xb + vec3<i32>(0, n.y, i.z));
        let yn1 = pair(xb + vec3<i32>(0, n.y, j.z));
        let zm0 = pair(xb + vec3<i32>(0, i.y, m.z));
        let zm1 = pair(xb + vec3<i32>(0, j.y, m.z));
        let zn0 = pair(xb + vec3<i32>(0, i.y, n.z));
        let zn1 = pair(xb + vec3<i32>(0, j.y, n.z));
        return array<f32, 24>(
            xm00, xm10, xm01, xm11, xn00, xn10, xn01, xn11,
            ym0.x, ym0.y, ym1.x, ym1.y, yn0.x, yn0.y, yn1.x, yn1.y,
            zm0.x, zm0.y, zm1.x, zm1.y, zn0.x, zn0.y, zn1.x, zn1.y,
        );
    }
    return array<f32, 24>(
        load(vec3<i32>(m.x, i.y, i.z)), load(vec3<i32>(m.x, j.y, i.z)),
        load(vec3<i32>(m.x, i.y, j.z)), load(vec3<i32>(m.x, j.y, j.z)),
        load(vec3<i32>(n.x, i.y, i.z)), load(vec3<i32>(n.x, j.y, i.z)),
        load(vec3<i32>(n.x, i.y, j.z)), load(vec3<i32>(n.x, j.y, j.z)),
        load(vec3<i32>(i.x, m.y, i.z)), load(vec3<i32>(j.x, m.y, i.z)),
        load(vec3<i32>(i.x, m.y, j.z)), load(vec3<i32>(j.x, m.y, j.z)),
        load(vec3<i32>(i.x, n.y, i.z)), load(vec3<i32>(j.x, n.y, i.z)),
        load(vec3<i32>(i.x, n.y, j.z)), load(vec3<i32>(j.x, n.y, j.z)),
        load(vec3<i32>(i.x, i.y, m.z)), load(vec3<i32>(j.x, i.y, m.z)),
        load(vec3<i32>(i.x, j.y, m.z)), load(vec3<i32>(j.x, j.y, m.z)),
        load(vec3<i32>(i.x, i.y, n.z)), load(vec3<i32>(j.x, i.y, n.z)),
        load(vec3<i32>(i.x, j.y, n.z)), load(vec3<i32>(j.x, j.y, n.z)),
    );
}

// Value and gradient at fraction f of a cell from its corners and faces: the seven
// trilinear samples p and p ± each axis share corners.
fn gradient_from(c: array<f32, 8>, e: array<f32, 24>, f: vec3<f32>) -> vec4<f32> {
    // Corner order of tri(): (x0,y0,z0) (x1,y0,z0) (x0,y1,z0) (x1,y1,z0), then z1.
    let centre = tri(c, f);
    let xp = tri(array<f32, 8>(c[1], e[4], c[3], e[5], c[5], e[6], c[7], e[7]), f);
    let xq = tri(array<f32, 8>(e[0], c[0], e[1], c[2], e[2], c[4], e[3], c[6]), f);
    let yp = tri(array<f32, 8>(c[2], c[3], e[12], e[13], c[6], c[7], e[14], e[15]), f);
    let yq = tri(array<f32, 8>(e[8], e[9], c[0], c[1], e[10], e[11], c[4], c[5]), f);
    let zp = tri(array<f32, 8>(c[4], c[5], c[6], c[7], e[20], e[21], e[22], e[23]), f);
    let zq = tri(array<f32, 8>(e[16], e[17], e[18], e[19], c[0], c[1], c[2], c[3]), f);
    return vec4<f32>(centre, vec3<f32>(xp - xq, yp - yq, zp - zq) * 0.5);
}

// A column ray: parallel to voxel axis a, so it crosses every plane of a at the
// same in-plane point and the bilinear weights (fb, fc) are the same on each.
struct Column {
    // The in-plane base voxel (floor of the in-plane position); 0 along a.
    base: vec3<i32>,
    e_a: vec3<i32>,
    axis_b: vec3<i32>,
    axis_c: vec3<i32>,
    fb: f32,
    fc: f32,
    // Position along a at t = 0, its change per mm, and the plane step (±1).
    o_a: f32,
    d_a: f32,
    dir: i32,
}

// Voxels q and q + axis_b (clamped like voxel()): one pair fetch when axis_b is i.
fn two(q: vec3<i32>, axis_b: vec3<i32>) -> vec2<f32> {
    if PAIRS && PAIR_X {
        return pair(q);
    }
    return vec2<f32>(voxel(q), voxel(q + axis_b));
}

// Bilinear value of the column's point on plane a.
fn column_value(col: Column, a: i32) -> f32 {
    let q = col.base + col.e_a * a;
    let r0 = two(q, col.axis_b);
    let r1 = two(q + col.axis_c, col.axis_b);
    return mix(mix(r0.x, r0.y, col.fb), mix(r1.x, r1.y, col.fb), col.fc);
}

// Bilinear value and in-plane central differences (b, c) on plane a: rows c and
// c + 1 from b - 1 to b + 2, rows c - 1 and c + 2 from b to b + 1 (6 pair fetches).
// The value is column_value's, bit for bit (same voxels, same operations).
fn column_plane(col: Column, a: i32) -> vec3<f32> {
    let q = col.base + col.e_a * a;
    let b = col.axis_b;
    let c = col.axis_c;
    let r0m = two(q - b, b);
    let r0p = two(q + b, b);
    let r1m = two(q - b + c, b);
    let r1p = two(q + b + c, b);
    let rcm = two(q - c, b);
    let rcn = two(q + 2 * c, b);
    let v00 = r0m.y;
    let v10 = r0p.x;
    let v01 = r1m.y;
    let v11 = r1p.x;
    let fb = col.fb;
    let fc = col.fc;
    let v = mix(mix(v00, v10, fb), mix(v01, v11, fb), fc);
    let gb = mix(mix(r0p.x - r0m.x, r0p.y - r0m.y, fb), mix(r1p.x - r1m.x, r1p.y - r1m.y, fb), fc);
    let gc = mix(mix(v01 - rcm.x, v11 - rcm.y, fb), mix(rcn.x - v00, rcn.y - v10, fb), fc);
    return vec3<f32>(v, 0.5 * gb, 0.5 * gc);
}

// The plane before sample t along the ray (p0 of the interval [p0, p0 + dir]).
fn column_p0(col: Column, t: f32) -> i32 {
    return i32(floor(col.o_a + t * col.d_a)) + select(1, 0, col.dir > 0);
}

// Per-ray stepping shared by the brick walks.
struct RaySteps {
    o: vec3<f32>,
    t_enter: f32,
    d: vec3<f32>,
    t_exit: f32,
    inv_d: vec3<f32>,
    step_mm: f32,
    // 1 where the ray moves up an axis (the far brick face is the upper one).
    far_side: vec3<f32>,
    phase: f32,
}

fn sample_t(rs: RaySteps, s: u32) -> f32 {
    return rs.t_enter + (f32(s) + rs.phase) * rs.step_mm;
}

// The brick holding a sample, (min, max, max label, 0), and the first sample index
// at or past the brick's exit (a sample on the face is looked up again with its
// own brick).
struct BrickSpan {
    brick: vec4<f32>,
    seg_end: u32,
}

fn brick_span(rs: RaySteps, s: u32, p: vec3<f32>) -> BrickSpan {
    let edge = vec3<f32>(params.brick_edge.xyz);
    let grid = vec3<f32>(params.brick_grid.xyz);
    let bf = clamp(floor((p + vec3<f32>(0.5)) / edge), vec3<f32>(0.0), grid - vec3<f32>(1.0));
    let brick = textureLoad(bricks, vec3<i32>(bf), 0);
    let face = (bf + rs.far_side) * edge - vec3<f32>(0.5);
    let tf3 = (face - rs.o) * rs.inv_d;
    let t_out = min(min(tf3.x, tf3.y), tf3.z);
    let seg_end = max(s + 1u, u32(max(ceil((t_out - rs.t_enter) / rs.step_mm - rs.phase - 1e-3), 0.0)));
    return BrickSpan(brick, seg_end);
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
    let seg = tf.segments[i];
    let c0 = vec4<f32>(unpack4x8unorm(seg.x).xyz, bitcast<f32>(seg.y));
    let c1 = vec4<f32>(unpack4x8unorm(seg.z).xyz, bitcast<f32>(seg.w));
    return mix(c0, c1, x - f32(i));
}

// True when no value in [vmin, vmax] has TF opacity.
fn tf_transparent(vmin: f32, vmax: f32) -> bool {
    let a = u32(floor(tf_position(vmin)));
    let b = min(u32(ceil(tf_position(vmax))), 255u);
    return tf.nonzero[(b + 1u) / 4u][(b + 1u) % 4u] == tf.nonzero[a / 4u][a % 4u];
}

// Opacity defined per ref_step_mm, corrected to the actual step.
fn correct_alpha(alpha: f32, step_mm: f32) -> f32 {
    return 1.0 - pow(1.0 - clamp(alpha, 0.0, 1.0), step_mm / params.ref_step_mm);
}

// d(value)/d(ras) = transpose(d(vox)/d(ras)) · d(value)/d(vox).
fn gradient_ras(g_vox: vec3<f32>) -> vec3<f32> {
    let m = params.voxel_from_ras;
    return transpose(mat3x3<f32>(m[0].xyz, m[1].xyz, m[2].xyz)) * g_vox;
}

// Blinn-Phong with a headlight (light and eye along -dir_ras, so H = L).
fn shade(rgb: vec3<f32>, g_vox: vec3<f32>, dir_ras: vec3<f32>) -> vec3<f32> {
    let g = gradient_ras(g_vox);
    let len = length(g);
    let shaded = len >= params.flat_gradient;
    let n_dot_l = select(0.0, abs(dot(g, dir_ras)) / len, shaded);
    // n_dot_l^32 by squaring: pow is exp2(log2) per lane on llvmpipe.
    var spec = n_dot_l * n_dot_l;
    spec *= spec;
    spec *= spec;
    spec *= spec;
    spec *= spec;
    return select(rgb, rgb * (0.3 + 0.7 * n_dot_l) + vec3<f32>(0.25 * spec), shaded);
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

// Composites a premultiplied layer behind acc.
fn over_premultiplied(acc: vec4<f32>, layer: vec4<f32>) -> vec4<f32> {
    return acc + (1.0 - acc.a) * layer;
}

// The value window of column_dvr: values t0, t1 of planes tp and tp + dir.
struct ValueWindow {
    tp: i32,
    t0: f32,
    t1: f32,
}

// The shaded window of column_dvr: the value of plane wp - dir, then (value,
// gradient b, c) of planes wp, wp + dir and wp + 2 dir.
struct ShadedWindow {
    wp: i32,
    vp: f32,
    w0: vec3<f32>,
    w1: vec3<f32>,
    wn: vec3<f32>,
}

// llvmpipe runs a loop's body once more, under an empty lane mask, when every
// lane leaves at its top, so the window loops below test at their end: they
// shift at least once (a window already in place reloads its far plane) and
// stop on the plane wanted.

// The value window moved onto planes p0 and p0 + dir: one shift from the plane
// before, else a refill.
fn values_onto(col: Column, v: ValueWindow, p0: i32) -> ValueWindow {
    var w = v;
    if w.tp == p0 {
        w.tp = p0 - col.dir;
        w.t1 = w.t0;
    } else if w.tp + col.dir != p0 {
        w.tp = p0 - 2 * col.dir;
    }
    loop {
        w.tp += col.dir;
        w.t0 = w.t1;
        w.t1 = column_value(col, w.tp + col.dir);
        if w.tp == p0 {
            break;
        }
    }
    return w;
}

// The shaded window moved onto plane p0, as values_onto.
fn shaded_onto(col: Column, v: ShadedWindow, p0: i32) -> ShadedWindow {
    var w = v;
    if w.wp == p0 {
        w.wp = p0 - col.dir;
        w.wn = w.w1;
        w.w1 = w.w0;
        w.w0 = vec3<f32>(w.vp, 0.0, 0.0);
    } else if w.wp + col.dir != p0 {
        w.wp = p0 - 4 * col.dir;
    }
    loop {
        w.wp += col.dir;
        w.vp = w.w0.x;
        w.w0 = w.w1;
        w.w1 = w.wn;
        w.wn = column_plane(col, w.wp + 2 * col.dir);
        if w.wp == p0 {
            break;
        }
    }
    return w;
}

// Shaded DVR along a column ray (no labels). Each plane's bilinear value and
// in-plane gradient are fetched once and the samples between two planes
// interpolate them linearly: the trilinear value and the trilinear interpolant
// of the central differences, as sample_with_gradient, with 6 pair fetches per
// plane instead of 20 per cell. Plane intervals whose two values span only
// transparent TF entries are passed on the values alone (2 fetches per plane):
// values along the ray are linear between planes, so that test is exact.
// llvmpipe runs both sides of every branch, so the windows are refilled by loops,
// which cost only as many rounds as some lane needs.
fn column_dvr(rs: RaySteps, col: Column, dir_ras: vec3<f32>) -> vec3<f32> {
    let t_exit = rs.t_exit;
    let skip_on = (params.flags & FLAG_SKIP) != 0u;
    let early_stop = (params.flags & FLAG_EARLY_STOP) != 0u;
    let fdir = f32(col.dir);
    let e_af = vec3<f32>(col.e_a);
    let gb_f = vec3<f32>(col.axis_b);
    let gc_f = vec3<f32>(col.axis_c);
    let far = -0x40000000;
    var vw = ValueWindow(far, 0.0, 0.0);
    var sw = ShadedWindow(far, 0.0, vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    var acc = vec4<f32>(0.0);
    var s = 0u;
    loop {
        // Whole transparent bricks.
        var seg_end = 0xffffffffu;
        loop {
            let t = sample_t(rs, s);
            if !skip_on || t >= t_exit {
                break;
            }
            let span = brick_span(rs, s, rs.o + t * rs.d);
            seg_end = span.seg_end;
            if !tf_transparent(span.brick.x, span.brick.y) {
                break;
            }
            s = seg_end;
        }
        // Transparent plane intervals, on values only.
        var visible = false;
        loop {
            let t = sample_t(rs, s);
            if s >= seg_end || t >= t_exit {
                break;
            }
            let p0 = column_p0(col, t);
            vw = values_onto(col, vw, p0);
            if !tf_transparent(min(vw.t0, vw.t1), max(vw.t0, vw.t1)) {
                visible = true;
                break;
            }
            // Past the interval's samples.
            loop {
                s += 1u;
                let ts = sample_t(rs, s);
                if ts >= t_exit || column_p0(col, ts) != p0 {
                    break;
                }
            }
            continuing {
                break if s >= seg_end || sample_t(rs, s) >= t_exit;
            }
        }
        if !visible {
            if sample_t(rs, s) >= t_exit {
                break;
            }
            continue;
        }
        // Shaded plane intervals, from this visible one until a transparent one;
        // every test that ends the loop comes after the samples.
        var p0 = column_p0(col, sample_t(rs, s));
        var opaque = false;
        loop {
            sw = shaded_onto(col, sw, p0);
            // Gradient along a (voxel index direction) on planes p0 and p0 + dir.
            let ga0 = 0.5 * fdir * (sw.w1.x - sw.vp);
            let ga1 = 0.5 * fdir * (sw.wn.x - sw.w0.x);
            // The interval's samples; sample s lies in it.
            loop {
                let pa = col.o_a + sample_t(rs, s) * col.d_a;
                let w = (pa - f32(p0)) * fdir;
                let c = tf_lookup(mix(sw.w0.x, sw.w1.x, w));
                let g_vox = e_af * mix(ga0, ga1, w) + gb_f * mix(sw.w0.y, sw.w1.y, w) + gc_f * mix(sw.w0.z, sw.w1.z, w);
                // Transparent samples add nothing: over() with alpha 0 is the identity.
                acc = over(acc, shade(c.rgb, g_vox, dir_ras), c.a);
                s += 1u;
                if early_stop && acc.a > OPAQUE {
                    opaque = true;
                    break;
                }
                let ts = sample_t(rs, s);
                if ts >= t_exit || column_p0(col, ts) != p0 {
                    break;
                }
            }
            let tn = sample_t(rs, s);
            if opaque || tn >= t_exit {
                break;
            }
            // The next interval's values are in the window when it is the adjacent
            // one (else it is shaded: transparent samples add nothing). Testing here,
            // before its shift, spares a plane fetch on every exit, and on the pass
            // that llvmpipe makes, masked, when no lane of a group found one visible.
            let pn = column_p0(col, tn);
            let adjacent = pn == p0 + col.dir;
            p0 = pn;
            if adjacent && tf_transparent(min(sw.w1.x, sw.wn.x), max(sw.w1.x, sw.wn.x)) {
                break;
            }
        }
        if opaque {
            break;
        }
    }
    return acc.rgb;
}

// The pixels of a workgroup (raymarch_tile in src/render/raymarch/mod.rs).
// DVR and isosurfaces: a tile of 4 x 8 as four blocks of 2 x 4, one per SIMD
// group of 8 lanes on llvmpipe, which runs every loop until the group's last
// lane is done, so its rays should be alike: compact blocks enter, skip and stop
// more nearly together than 8 x 1 rows (ch2better DVR 14 % faster, isosurface
// 8 %). Projections: a row of 32, whose neighbours reuse each other's cache
// lines along voxel rows (512^3 CT MIP 836 -> 625 ms against the blocks).
const TILED: bool = MODE == MODE_DVR || MODE == MODE_ISO;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) tile: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let block = lane / 8u;
    var gid = vec2<u32>(tile.x * 32u + lane, tile.y);
    if TILED {
        gid = vec2<u32>(tile.x * 4u + (block % 2u) * 2u + lane % 2u, tile.y * 8u + (block / 2u) * 4u + (lane % 8u) / 2u);
    }
    if gid.x >= params.image_size.x || gid.y >= params.image_size.y {
        return;
    }
    let pixel = vec2<i32>(gid);
    let perspective = (params.flags & FLAG_PERSPECTIVE) != 0u;
    let skip_on = (params.flags & FLAG_SKIP) != 0u;
    let early_stop = (params.flags & FLAG_EARLY_STOP) != 0u;
    let projection = MODE == MODE_MIP || MODE == MODE_MINIP || MODE == MODE_AVERAGE;

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
    // The surface layer and where along the ray it lies (none: far beyond t_exit).
    var surface = vec4<f32>(0.0);
    var t_surface = 3.4e38;
    if SURFACES {
        surface = textureLoad(surface_rgba, pixel, 0);
        t_surface = textureLoad(surface_t, pixel, 0).x;
    }
    // Rays that miss the box leave here, before any per-step setup.
    if !(t_exit > t_enter) || any(hi <= lo) {
        textureStore(out_tex, pixel, vec4<f32>(clamp(surface.rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0));
        return;
    }
    // One voxel along the view's major axis per step (÷ samples_per_voxel): an
    // axis-aligned ray steps exactly one spacing, and starting half a step in hits
    // voxel centres. Perspective rays share the central ray's step.
    let ad = abs(d);
    let d_major = max(max(ad.x, ad.y), ad.z);
    var step_mm = params.dvr_step_mm;
    var phase = 0.5;
    if (params.flags & FLAG_JITTER) != 0u {
        phase = hash01(gid.xy);
    }
    // Projections sample where the ray crosses the voxel planes of its major axis
    // (one sample per plane; samples_per_voxel and jitter do not apply). There the
    // trilinear value is the bilinear one of four voxels in the plane, bit for bit:
    // half the texel fetches, which are most of the cost on lavapipe.
    // PAIR_X pipelines are chosen only where the i axis is clearly not the major one.
    let on_x = !PAIR_X && ad.x >= d_major;
    let on_y = !on_x && ad.y >= d_major;
    let major = vec3<bool>(on_x, on_y, !on_x && !on_y);
    // The in-plane axes b and c, in x, y, z order (so the mixes match sample_volume's).
    let axis_b = select(vec3<i32>(1, 0, 0), vec3<i32>(0, 1, 0), on_x);
    let axis_c = select(vec3<i32>(0, 1, 0), vec3<i32>(0, 0, 1), !major.z);
    let d_a = select(0.0, d.x, on_x) + select(0.0, d.y, on_y) + select(0.0, d.z, major.z);
    let o_a = select(0.0, o.x, on_x) + select(0.0, o.y, on_y) + select(0.0, o.z, major.z);
    // First plane at or after the entry, and the plane step (+1 or -1).
    let a_enter = o_a + t_enter * d_a;
    let plane_dir = select(-1.0, 1.0, d_a > 0.0);
    let plane0 = select(floor(a_enter), ceil(a_enter), d_a > 0.0);
    if PLANES {
        step_mm = 1.0 / d_major;
        phase = ((plane0 - o_a) / d_a - t_enter) / step_mm;
    }
    // Per-ray constants of the brick walk: the exit of the brick containing p along
    // the ray is min over axes of (face - o) / d, face = the brick's far face.
    let safe_d = select(d, vec3<f32>(1e-20), abs(d) < vec3<f32>(1e-20));
    // Axes the ray does not move along get +1e20, so they never limit the exit.
    let rs = RaySteps(o, t_enter, d, t_exit, 1.0 / safe_d, step_mm,
        select(vec3<f32>(0.0), vec3<f32>(1.0), safe_d > vec3<f32>(0.0)), phase);

    if COLUMN {
        let e_a = select(vec3<i32>(0), vec3<i32>(1), major);
        let fo = floor(o);
        let col = Column(vec3<i32>(fo) * (vec3<i32>(1) - e_a), e_a, axis_b, axis_c,
            dot(o - fo, vec3<f32>(axis_b)), dot(o - fo, vec3<f32>(axis_c)),
            o_a, d_a, i32(plane_dir));
        let rgb = column_dvr(rs, col, dir_ras);
        textureStore(out_tex, pixel, vec4<f32>(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0));
        return;
    }

    var vmax = -3.4e38;
    var vmin = 3.4e38;
    var vsum = 0.0;
    var count = 0u;
    var acc = vec4<f32>(0.0);       // DVR/iso colour, premultiplied
    var label_acc = vec4<f32>(0.0); // labels over MIP/MinIP/average
    var hit = false;
    var t_hit = 0.0;

    // llvmpipe runs a loop's whole body for every lane (masked), so work that only
    // some samples need lives in loops of its own, each ending when no lane needs it
    // and testing at its end (see shaded_onto):
    // - the brick walk (one storage read per brick) finds the next brick that may
    //   contribute and where it ends; samples inside it need no brick lookups;
    // - DVR without labels passes transparent samples on their value alone (8
    //   fetches), then takes every sample of the found sample's cell from its 32
    //   voxels, fetched once (two samples per voxel often share a cell).
    // A sample belongs to the brick containing it (p + 0.5 over the edge, floored).
    var s = 0u;
    // DVR: the cell of the sample found by the transparent walk.
    var cell = array<f32, 8>();
    var done = false;
    // SURFACES: the samples in front of the surface, then the surface layer, then
    // the samples behind it (the same sample positions as without a surface).
    var t_end = t_exit;
    if SURFACES {
        t_end = min(t_exit, t_surface);
    }
    var surface_pending = SURFACES;
    loop {
        loop {
            // First sample index past the current brick (no skipping: the whole ray).
            var seg_end = 0xffffffffu;
            loop {
                if !skip_on {
                    break;
                }
                let t = t_enter + (f32(s) + phase) * step_mm;
                if t >= t_end {
                    break;
                }
                var p = o + t * d;
                if PLANES {
                    p = select(p, vec3<f32>(plane0 + plane_dir * f32(s)), major);
                }
                let span = brick_span(rs, s, p);
                let brick = span.brick;
                seg_end = span.seg_end;
                var skip = false;
                if MODE == MODE_MIP {
                    skip = count > 0u && brick.y <= vmax;
                } else if MODE == MODE_MINIP {
                    skip = count > 0u && brick.x >= vmin;
                } else if MODE == MODE_DVR {
                    skip = tf_transparent(brick.x, brick.y);
                } else if MODE == MODE_ISO {
                    skip = brick.y < params.threshold;
                }
                if LABELS {
                    skip = skip && !(brick.z > 0.0);
                }
                if !skip {
                    break;
                }
                s = seg_end;
            }
            if t_enter + (f32(s) + phase) * step_mm >= t_end {
                break;
            }

            // The samples of this brick.
            loop {
                if MODE == MODE_DVR && !LABELS {
                    loop {
                        let ta = t_enter + (f32(s) + phase) * step_mm;
                        if s >= seg_end || ta >= t_end {
                            break;
                        }
                        let pa = o + ta * d;
                        cell = cell_corners(pa);
                        // TF alpha 0 adds nothing to the ray.
                        if tf_lookup(tri(cell, pa - floor(pa))).a > 0.0 {
                            break;
                        }
                        s += 1u;
                        continuing {
                            break if s >= seg_end || t_enter + (f32(s) + phase) * step_mm >= t_end;
                        }
                    }
                }
                let t = t_enter + (f32(s) + phase) * step_mm;
                if s >= seg_end || t >= t_end {
                    break;
                }
                var p = o + t * d;
                if PLANES {
                    // Exactly on the plane, whatever the rounding of t.
                    p = select(p, vec3<f32>(plane0 + plane_dir * f32(s)), major);
                }

                if MODE == MODE_DVR && !LABELS {
                    let cell_base = floor(p);
                    let faces = cell_faces(vec3<i32>(cell_base));
                    // Sample s lies in the cell; the test for the next comes at the end.
                    loop {
                        let pc = o + (t_enter + (f32(s) + phase) * step_mm) * d;
                        let g = gradient_from(cell, faces, pc - cell_base);
                        let c = tf_lookup(g.x);
                        // Transparent samples add nothing: over() with alpha 0 is the identity.
                        acc = over(acc, shade(c.rgb, g.yzw, dir_ras), c.a);
                        s += 1u;
                        if early_stop && acc.a > OPAQUE {
                            break;
                        }
                        let tn = t_enter + (f32(s) + phase) * step_mm;
                        if tn >= t_end || any(floor(o + tn * d) != cell_base) {
                            break;
                        }
                    }
                    if early_stop && acc.a > OPAQUE {
                        done = true;
                        break;
                    }
                    continue;
                }

                var sg = vec4<f32>(0.0);
                if MODE == MODE_DVR {
                    sg = sample_with_gradient(p);
                } else if PLANES {
                    sg.x = sample_plane(p, axis_b, axis_c);
                } else {
                    sg.x = sample_volume(p);
                }
                let v = sg.x;
                var label_rgba = vec4<f32>(0.0);
                if LABELS {
                    let l = label_at(p);
                    label_rgba = unpack4x8unorm(label_lut[l / 4u][l % 4u]);
                    label_rgba.a = select(0.0, correct_alpha(label_rgba.a, step_mm), l != 0u);
                }

                if projection {
                    vmax = max(vmax, v);
                    vmin = min(vmin, v);
                    vsum += v;
                    count += 1u;
                    if LABELS {
                        if label_rgba.a > 0.0 && label_acc.a < OPAQUE {
                            label_acc = over(label_acc, label_rgba.rgb, label_rgba.a);
                        }
                    }
                } else if MODE == MODE_DVR {
                    if LABELS {
                        acc = over(acc, label_rgba.rgb, label_rgba.a);
                    }
                    let c = tf_lookup(v);
                    acc = over(acc, shade(c.rgb, sg.yzw, dir_ras), c.a);
                } else { // MODE_ISO
                    if LABELS {
                        acc = over(acc, label_rgba.rgb, label_rgba.a);
                    }
                    // The surface is refined and shaded after the loop, once per ray.
                    if v >= params.threshold {
                        hit = true;
                        t_hit = t;
                    }
                }
                s += 1u;
                if hit || (early_stop && acc.a > OPAQUE) {
                    done = true;
                    break;
                }
                continuing {
                    break if s >= seg_end || t_enter + (f32(s) + phase) * step_mm >= t_end;
                }
            }
            if done {
                break;
            }
        }
        // The surface lies behind every sample so far: unless the ray ended in
        // front of it (opaque, or an isosurface hit), composite it and go on.
        if done || !surface_pending {
            break;
        }
        surface_pending = false;
        if projection {
            label_acc = over_premultiplied(label_acc, surface);
        } else {
            acc = over_premultiplied(acc, surface);
            if early_stop && acc.a > OPAQUE {
                break;
            }
        }
        t_end = t_exit;
    }

    if MODE == MODE_ISO {
        if hit {
            // Bisection between the previous sample (below) and this one.
            var t_lo = max(t_hit - step_mm, t_enter);
            var t_hi = t_hit;
            for (var it = 0; it < 8; it++) {
                let t_mid = 0.5 * (t_lo + t_hi);
                if sample_volume(o + t_mid * d) >= params.threshold {
                    t_hi = t_mid;
                } else {
                    t_lo = t_mid;
                }
            }
            let g = sample_with_gradient(o + t_hi * d).yzw;
            acc = over(acc, shade(vec3<f32>(0.92, 0.86, 0.76), g, dir_ras), 1.0);
        }
    }

    var rgb = vec3<f32>(0.0);
    if projection {
        if count > 0u {
            var v = vmax;
            if MODE == MODE_MINIP {
                v = vmin;
            } else if MODE == MODE_AVERAGE {
                v = vsum / f32(count);
            }
            rgb = vec3<f32>(window_grey(v));
        }
        rgb = label_acc.rgb + (1.0 - label_acc.a) * rgb;
    } else {
        rgb = acc.rgb;
    }
    textureStore(out_tex, pixel, vec4<f32>(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0));
}
