//! The min/max brick grid for empty-space skipping (shaders/brick_minmax.wgsl).

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use crate::gpu::GpuError;
use crate::gpu::capture_errors;

use super::BRICK_SIZE;

/// Keep in sync with `BrickParams` in shaders/brick_minmax.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BrickParams {
    pub shape: [u32; 4],
    pub grid: [u32; 4],
}
const _: () = assert!(std::mem::size_of::<BrickParams>() == 32);

/// Bricks per axis for a grid.
pub fn brick_grid(shape: [u32; 3]) -> [u32; 3] {
    shape.map(|n| n.div_ceil(BRICK_SIZE).max(1))
}

/// The (min, max, max label, 0) grid, one `rgba32float` texel per brick: a texture,
/// not a storage buffer, because llvmpipe reads storage buffers lane by lane but
/// gathers texel fetches across lanes.
pub struct BrickTexture {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
}

impl BrickTexture {
    /// Bytes on the GPU (16 per brick).
    pub fn gpu_bytes(&self) -> u64 {
        let s = self.texture.size();
        u64::from(s.width) * u64::from(s.height) * u64::from(s.depth_or_array_layers) * 16
    }
}

/// Runs the brick pass once and returns the brick grid.
pub(crate) fn compute_bricks(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    pipeline: &wgpu::ComputePipeline,
    volume_view: &wgpu::TextureView,
    label_view: &wgpu::TextureView,
    shape: [u32; 3],
    has_labels: bool,
) -> Result<BrickTexture, GpuError> {
    let grid = brick_grid(shape);
    let params = BrickParams {
        shape: [shape[0], shape[1], shape[2], BRICK_SIZE],
        grid: [grid[0], grid[1], grid[2], u32::from(has_labels)],
    };
    let (bricks, err) = capture_errors(device, || {
        let params_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("raymarch::brick_params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("raymarch::bricks"),
            size: wgpu::Extent3d {
                width: grid[0],
                height: grid[1],
                depth_or_array_layers: grid[2],
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            label: Some("raymarch::bricks_view"),
            ..Default::default()
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("raymarch::brick_bind_group"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(volume_view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(label_view),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
            ],
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("raymarch::brick_encoder"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("raymarch::brick_pass"),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(
                grid[0].div_ceil(4),
                grid[1].div_ceil(4),
                grid[2].div_ceil(4),
            );
        }
        queue.submit([encoder.finish()]);
        BrickTexture { texture, view }
    });
    match err {
        Some(e) => Err(GpuError::Upload(format!("brick min/max pass: {e}"))),
        None => Ok(bricks),
    }
}
