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

/// Runs the brick pass once and returns the (min, max, max label, 0) buffer.
pub(crate) fn compute_bricks(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    pipeline: &wgpu::ComputePipeline,
    volume_view: &wgpu::TextureView,
    label_view: &wgpu::TextureView,
    shape: [u32; 3],
    has_labels: bool,
) -> Result<wgpu::Buffer, GpuError> {
    let grid = brick_grid(shape);
    let count = grid.iter().map(|&n| n as u64).product::<u64>();
    let params = BrickParams {
        shape: [shape[0], shape[1], shape[2], BRICK_SIZE],
        grid: [grid[0], grid[1], grid[2], u32::from(has_labels)],
    };
    let (buffer, err) = capture_errors(device, || {
        let params_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("raymarch::brick_params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("raymarch::bricks"),
            size: count * 16,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
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
                    resource: buffer.as_entire_binding(),
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
        buffer
    });
    match err {
        Some(e) => Err(GpuError::Upload(format!("brick min/max pass: {e}"))),
        None => Ok(buffer),
    }
}
