//! The min/max brick grid for empty-space skipping (shaders/brick_minmax.wgsl).
//!
//! Views whose rays run along a voxel axis (standard views of axis-aligned images)
//! use bricks 4 × 4 voxels across and 16 along that axis: each ray then stays in
//! one column of bricks, whose thin cross-section bounds its own 2 × 2 voxel
//! footprint far more tightly than a cube, while the walk stays short. On
//! ch2better (anterior, lavapipe) MIP took 86 ms against 114 with 8³ cubes, DVR
//! 171 against 210. Rays that drift across columns (10° off an axis already)
//! lose that and walk more bricks, so other views use 8³ cubes. Each grid is
//! built when a view first needs it; 8 bytes per brick: 0.03 B/voxel per column
//! grid, 0.016 for the cubes.

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use crate::gpu::GpuError;
use crate::gpu::capture_errors;

use super::PreparedVolume;

/// Brick edge across the view direction (voxels).
pub const BRICK_ACROSS: u32 = 4;
/// Brick edge along the view's major axis (voxels).
pub const BRICK_ALONG: u32 = 16;

/// Keep in sync with `BrickParams` in shaders/brick_minmax.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BrickParams {
    pub shape: [u32; 4],
    pub grid: [u32; 4],
    pub edge: [u32; 4],
}
const _: () = assert!(std::mem::size_of::<BrickParams>() == 48);

/// Brick edge of the cubes (voxels).
pub const BRICK_CUBE: u32 = 8;

/// The shape of a brick grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrickLayout {
    /// Long along voxel axis 0, 1 or 2, for rays parallel to it.
    Column(usize),
    Cube,
}

impl BrickLayout {
    /// Distinct layouts (each grid is kept once built).
    pub const COUNT: usize = 4;

    pub fn index(self) -> usize {
        match self {
            BrickLayout::Column(axis) => axis.min(2),
            BrickLayout::Cube => 3,
        }
    }

    /// Brick edges in voxels.
    pub fn edges(self) -> [u32; 3] {
        match self {
            BrickLayout::Column(axis) => {
                let mut e = [BRICK_ACROSS; 3];
                e[axis.min(2)] = BRICK_ALONG;
                e
            }
            BrickLayout::Cube => [BRICK_CUBE; 3],
        }
    }

    /// Bricks per axis for a grid.
    pub fn grid(self, shape: [u32; 3]) -> [u32; 3] {
        let e = self.edges();
        [0, 1, 2].map(|a| shape[a].div_ceil(e[a]).max(1))
    }
}

/// The (min, max, max label, 0) grid, one `rgba16float` texel per brick, the
/// bounds rounded outwards (see brick_minmax.wgsl): a texture, not a storage
/// buffer, because llvmpipe reads storage buffers lane by lane but gathers texel
/// fetches across lanes.
pub struct BrickTexture {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    pub grid: [u32; 3],
    pub edge: [u32; 3],
}

impl BrickTexture {
    /// Bytes on the GPU (8 per brick).
    pub fn gpu_bytes(&self) -> u64 {
        let s = self.texture.size();
        u64::from(s.width) * u64::from(s.height) * u64::from(s.depth_or_array_layers) * 8
    }
}

/// Runs the brick pass once and returns the brick grid.
pub(crate) fn compute_bricks(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    pipeline: &wgpu::ComputePipeline,
    prepared: &PreparedVolume,
    layout: BrickLayout,
) -> Result<BrickTexture, GpuError> {
    let (shape, has_labels) = (prepared.shape, prepared.has_labels);
    let (volume_view, label_view) = (&prepared.image.view, &prepared.labels.view);
    let grid = layout.grid(shape);
    let edge = layout.edges();
    let params = BrickParams {
        shape: [shape[0], shape[1], shape[2], 0],
        grid: [grid[0], grid[1], grid[2], u32::from(has_labels)],
        edge: [edge[0], edge[1], edge[2], 0],
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
            format: wgpu::TextureFormat::Rgba16Float,
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
        BrickTexture {
            texture,
            view,
            grid,
            edge,
        }
    });
    match err {
        Some(e) => Err(GpuError::Upload(format!("brick min/max pass: {e}"))),
        None => Ok(bricks),
    }
}
