// GPU self-check: each invocation writes one texel of a 3-D r32uint storage texture and
// one element of a storage buffer. The host reads both back and compares them exactly,
// which catches backends that silently drop compute writes to 3-D storage textures
// (wgpu's GL backend). Keep `pattern`/`buffer_value` in sync with src/gpu/selfcheck.rs.

// Edge length of the cube. Keep in sync with SELF_CHECK_DIM in src/gpu/selfcheck.rs.
// A constant rather than textureDimensions(): GL reports a depth of 1 for 3-D storage
// images, which would also suppress the buffer writes and blur the diagnosis.
const DIM: u32 = 8u;

@group(0) @binding(0) var out_tex: texture_storage_3d<r32uint, write>;
@group(0) @binding(1) var<storage, read_write> out_buf: array<u32>;

// Injective, never zero, and decodable (0xA5 | z | y | x bytes), so a wrong texel
// tells us which coordinate was written where.
fn pattern(p: vec3<u32>) -> u32 {
    return 0xA5000000u | (p.z << 16u) | (p.y << 8u) | p.x;
}

// Exercises wrapping integer multiply as well as plain stores.
fn buffer_value(p: vec3<u32>) -> u32 {
    return pattern(p) * 0x9E3779B1u;
}

@compute @workgroup_size(4, 4, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (any(gid >= vec3<u32>(DIM))) {
        return;
    }
    out_buf[gid.x + DIM * (gid.y + DIM * gid.z)] = buffer_value(gid);
    textureStore(out_tex, gid, vec4<u32>(pattern(gid), 0u, 0u, 0u));
}
