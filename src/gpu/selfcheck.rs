//! Write-and-read-back self-check (shaders/selfcheck.wgsl).
//!
//! wgpu's GL backend can silently drop compute writes to 3-D storage textures; every
//! pass of rayseg depends on them, so we refuse adapters that fail this check.

use crate::gpu::error::{GpuError, capture_errors};
use crate::gpu::readback::{read_buffer, read_texture_3d_u32};

use crate::gpu::shader::{Shader, Variant};

/// Edge length of the self-check volume (8³ texels, two workgroups per axis).
/// Keep in sync with `DIM` in selfcheck.wgsl.
pub const SELF_CHECK_DIM: u32 = 8;
/// Keep in sync with `@workgroup_size` in selfcheck.wgsl.
const WORKGROUP: u32 = 4;

/// Value written to texel (x, y, z). Keep in sync with `pattern` in selfcheck.wgsl.
pub const fn self_check_pattern(x: u32, y: u32, z: u32) -> u32 {
    0xA500_0000 | (z << 16) | (y << 8) | x
}

/// Value written to buffer element (x, y, z). Keep in sync with `buffer_value`.
pub const fn self_check_buffer_value(x: u32, y: u32, z: u32) -> u32 {
    self_check_pattern(x, y, z).wrapping_mul(0x9E37_79B1)
}

/// What the self-check shader wrote, as read back from the GPU.
#[derive(Debug, Clone)]
pub struct SelfCheckReadback {
    /// Edge length of the cube (`SELF_CHECK_DIM`).
    pub dim: u32,
    /// The r32uint 3-D texture, x fastest, then y, then z.
    pub texture: Vec<u32>,
    /// The storage buffer, same order.
    pub buffer: Vec<u32>,
}

impl SelfCheckReadback {
    /// Describes every difference from the expected pattern; `None` if all match.
    pub fn mismatches(&self) -> Option<String> {
        let n = self.dim as usize;
        let expected_len = n * n * n;
        let mut problems = Vec::new();
        for (what, data, f) in [
            (
                "3-D storage texture",
                &self.texture,
                self_check_pattern as fn(u32, u32, u32) -> u32,
            ),
            ("storage buffer", &self.buffer, self_check_buffer_value),
        ] {
            if data.len() != expected_len {
                problems.push(format!(
                    "{what}: read {} values, expected {expected_len}",
                    data.len()
                ));
                continue;
            }
            let mut wrong = 0usize;
            let mut first = None;
            for (i, &got) in data.iter().enumerate() {
                let (x, y, z) = ((i % n) as u32, ((i / n) % n) as u32, (i / (n * n)) as u32);
                let want = f(x, y, z);
                if got != want {
                    wrong += 1;
                    first.get_or_insert(format!(
                        "first at ({x},{y},{z}): got {got:#010x}, expected {want:#010x}"
                    ));
                }
            }
            if let Some(first) = first {
                problems.push(format!(
                    "{what}: {wrong} of {expected_len} values wrong, {first}"
                ));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

/// Runs the self-check shader on `device` and compares the result exactly.
/// Works on any device (also one created by eframe); `adapter` only labels the error.
pub fn run_self_check(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    adapter: &wgpu::AdapterInfo,
) -> Result<SelfCheckReadback, GpuError> {
    let fail = |detail: String| GpuError::SelfCheckFailed {
        adapter: adapter.name.clone(),
        backend: format!("{:?}", adapter.backend),
        detail,
    };
    let readback = execute(device, queue).map_err(|e| fail(e.to_string()))?;
    match readback.mismatches() {
        None => Ok(readback),
        Some(detail) => Err(fail(detail)),
    }
}

/// The self-check shader (it has no defs).
pub(crate) fn shader_variant() -> Variant {
    Variant::new(Shader::SelfCheck)
}

fn execute(device: &wgpu::Device, queue: &wgpu::Queue) -> Result<SelfCheckReadback, GpuError> {
    let dim = SELF_CHECK_DIM;
    let count = u64::from(dim * dim * dim);
    let buffer_size = count * 4;

    let source = shader_variant().source()?;
    let (resources, error) = capture_errors(device, || {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("selfcheck::shader"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("selfcheck::pipeline"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("selfcheck::texture"),
            size: wgpu::Extent3d {
                width: dim,
                height: dim,
                depth_or_array_layers: dim,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format: wgpu::TextureFormat::R32Uint,
            usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            label: Some("selfcheck::texture_view"),
            ..Default::default()
        });
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("selfcheck::buffer"),
            size: buffer_size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("selfcheck::bind_group"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: buffer.as_entire_binding(),
                },
            ],
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("selfcheck::encoder"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("selfcheck::pass"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            let groups = dim.div_ceil(WORKGROUP);
            pass.dispatch_workgroups(groups, groups, groups);
        }
        queue.submit([encoder.finish()]);
        (texture, buffer)
    });
    if let Some(error) = error {
        return Err(GpuError::Readback(format!(
            "wgpu error while running the self-check shader: {error}"
        )));
    }
    let (texture, buffer) = resources;
    let texture = read_texture_3d_u32(device, queue, &texture)?;
    let buffer =
        bytemuck::pod_collect_to_vec(&read_buffer(device, queue, &buffer, 0, buffer_size)?);
    Ok(SelfCheckReadback {
        dim,
        texture,
        buffer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_injective_and_nonzero() {
        let n = SELF_CHECK_DIM;
        let mut seen = std::collections::HashSet::new();
        for z in 0..n {
            for y in 0..n {
                for x in 0..n {
                    let v = self_check_pattern(x, y, z);
                    assert_ne!(v, 0);
                    assert!(seen.insert(v));
                }
            }
        }
    }

    #[test]
    fn mismatch_report_names_the_texel() {
        let n = SELF_CHECK_DIM;
        let mut rb = SelfCheckReadback {
            dim: n,
            texture: vec![0; (n * n * n) as usize],
            buffer: Vec::new(),
        };
        for z in 0..n {
            for y in 0..n {
                for x in 0..n {
                    rb.buffer.push(self_check_buffer_value(x, y, z));
                }
            }
        }
        let report = rb.mismatches().unwrap_or_default();
        assert!(
            report.contains("3-D storage texture: 512 of 512"),
            "{report}"
        );
        assert!(report.contains("(0,0,0)"), "{report}");
        assert!(!report.contains("storage buffer"), "{report}");
    }
}
