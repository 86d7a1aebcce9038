//! One u8 label per voxel as an `r8uint` 3-D texture: the label map the
//! views draw and the brush writes. In `gpu` (beside the volume texture) so
//! that both the renderer and the annotation tools use it without one
//! depending on the other.

use super::GpuError;
use super::capture_errors;

/// One u8 label per voxel as an `r8uint` 3-D texture (1 byte per voxel).
pub struct LabelTexture {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    pub shape: [u32; 3],
}

impl LabelTexture {
    pub fn upload(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        labels: &[u8],
        shape: [usize; 3],
    ) -> Result<Self, GpuError> {
        Self::upload_with_usage(device, queue, labels, shape, wgpu::TextureUsages::empty())
    }

    /// As [`Self::upload`], adding `extra` usages (`STORAGE_BINDING` for the
    /// app's brush, where the adapter allows `r8uint` storage).
    pub fn upload_with_usage(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        labels: &[u8],
        shape: [usize; 3],
        extra: wgpu::TextureUsages,
    ) -> Result<Self, GpuError> {
        let n = shape.iter().product::<usize>();
        if labels.len() != n {
            return Err(GpuError::Upload(format!(
                "label map has {} voxels, grid {shape:?} needs {n}",
                labels.len()
            )));
        }
        let size = wgpu::Extent3d {
            width: shape[0] as u32,
            height: shape[1] as u32,
            depth_or_array_layers: shape[2] as u32,
        };
        let (texture, err) = capture_errors(device, || {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some("labels::texture"),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D3,
                format: wgpu::TextureFormat::R8Uint,
                usage: wgpu::TextureUsages::TEXTURE_BINDING
                    | wgpu::TextureUsages::COPY_DST
                    | wgpu::TextureUsages::COPY_SRC
                    | extra,
                view_formats: &[],
            })
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("label texture {shape:?}: {e}")));
        }
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            labels,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(size.width),
                rows_per_image: Some(size.height),
            },
            size,
        );
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            label: Some("labels::view"),
            ..Default::default()
        });
        Ok(LabelTexture {
            texture,
            view,
            shape: [size.width, size.height, size.depth_or_array_layers],
        })
    }

    /// A 1×1×1 texture holding label 0, for passes run without a mask.
    pub fn empty(device: &wgpu::Device, queue: &wgpu::Queue) -> Result<Self, GpuError> {
        Self::upload(device, queue, &[0], [1, 1, 1])
    }
}
