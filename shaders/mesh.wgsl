// Label surfaces: triangle meshes in RAS mm, drawn with the raymarcher's camera
// (src/render/surfaces/mod.rs). One vertex stage, two fragment stages:
// - fs_ray_t: each pixel's nearest surface as the distance along the pixel's ray
//   (mm, measured as raymarch.wgsl measures t), depth-tested, so that the
//   raymarch stops there and composites the volume in front over the surfaces;
// - fs_colour: headlight Blinn-Phong (raymarch.wgsl's `shade`, two-sided),
//   premultiplied by the label's opacity, blended back to front.
// Keep SurfaceParams in sync with src/render/surfaces/params.rs.

const FLAG_PERSPECTIVE: u32 = 1u;
const FLAG_CLIP: u32 = 2u;

struct SurfaceParams {
    // Pixel-exact projection of the ray frame (RayFrame::clip_from_ras).
    clip_from_ras: mat4x4<f32>,
    voxel_from_ras: mat4x4<f32>,
    eye_ras: vec4<f32>,
    // Unit view direction (orthographic rays; perspective depth axis).
    forward_ras: vec4<f32>,
    // The raymarch's clip box as continuous voxel index bounds (faces).
    clip_lo_vox: vec4<f32>,
    clip_hi_vox: vec4<f32>,
    flags: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: SurfaceParams;

struct VertexIn {
    @location(0) position_ras: vec3<f32>,
    @location(1) normal_ras: vec3<f32>,
    // Per instance (one instance per label): straight RGB and opacity.
    @location(2) rgba: vec4<f32>,
}

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) position_ras: vec3<f32>,
    @location(1) normal_ras: vec3<f32>,
    @location(2) @interpolate(flat) rgba: vec4<f32>,
}

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    var out: VertexOut;
    out.clip = params.clip_from_ras * vec4<f32>(v.position_ras, 1.0);
    out.position_ras = v.position_ras;
    out.normal_ras = v.normal_ras;
    out.rgba = v.rgba;
    return out;
}

fn perspective() -> bool {
    return (params.flags & FLAG_PERSPECTIVE) != 0u;
}

// Outside the clip box: the raymarch draws nothing there either.
fn clipped(p_ras: vec3<f32>) -> bool {
    if (params.flags & FLAG_CLIP) == 0u {
        return false;
    }
    let p = (params.voxel_from_ras * vec4<f32>(p_ras, 1.0)).xyz;
    return any(p < params.clip_lo_vox.xyz) || any(p > params.clip_hi_vox.xyz);
}

@fragment
fn fs_ray_t(in: VertexOut) -> @location(0) f32 {
    if clipped(in.position_ras) {
        discard;
    }
    let v = in.position_ras - params.eye_ras.xyz;
    // Orthographic rays start on the eye plane, perspective ones at the eye.
    return select(dot(v, params.forward_ras.xyz), length(v), perspective());
}

@fragment
fn fs_colour(in: VertexOut) -> @location(0) vec4<f32> {
    if clipped(in.position_ras) {
        discard;
    }
    // Headlight: light and eye along the ray, so H = L.
    var to_eye = -params.forward_ras.xyz;
    if perspective() {
        to_eye = normalize(params.eye_ras.xyz - in.position_ras);
    }
    let len = length(in.normal_ras);
    let n_dot_l = select(1.0, abs(dot(in.normal_ras, to_eye)) / len, len > 0.0);
    var spec = n_dot_l * n_dot_l;
    spec *= spec;
    spec *= spec;
    spec *= spec;
    spec *= spec;
    let rgb = clamp(in.rgba.rgb * (0.3 + 0.7 * n_dot_l) + vec3<f32>(0.25 * spec), vec3<f32>(0.0), vec3<f32>(1.0));
    let a = clamp(in.rgba.a, 0.0, 1.0);
    return vec4<f32>(rgb * a, a);
}
