//! The brush writing the renderer's `r8uint` label texture (the app's path):
//! strokes are recorded into the caller's encoder with no wait, the views draw
//! the result from the same texture, and the stroke's box is copied to a
//! staging buffer whose asynchronous map later brings the CPU copy (undo,
//! statistics, saving) up to date.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use super::gpu::{Brush, base_params};
use super::{BrushError, BrushStroke, stroke_pieces};
use crate::annotate::undo::VoxelBox;
use crate::gpu::label_texture::LabelTexture;
use crate::gpu::readback::padded_bytes_per_row;
use crate::gpu::volume_texture::VolumeTexture;
use crate::gpu::{GpuError, capture_errors};
use crate::volume::Volume;

const MAP_PENDING: u8 = 0;
const MAP_REQUESTED: u8 = 1;
const MAP_DONE: u8 = 2;
const MAP_FAILED: u8 = 3;

/// A recorded stroke whose box of the label texture is being copied back.
pub struct TextureStroke {
    /// Voxels the stroke may have changed (inclusive box).
    pub bounds: VoxelBox,
    staging: wgpu::Buffer,
    bytes_per_row: u32,
    state: Arc<AtomicU8>,
}

impl TextureStroke {
    /// Requests the map; call once, after the encoder holding the stroke was
    /// submitted. Completion arrives with a later `device.poll`.
    pub fn request_map(&self) {
        if self
            .state
            .compare_exchange(
                MAP_PENDING,
                MAP_REQUESTED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return;
        }
        let state = self.state.clone();
        self.staging
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                let s = if result.is_ok() { MAP_DONE } else { MAP_FAILED };
                state.store(s, Ordering::Release);
            });
    }

    pub fn map_requested(&self) -> bool {
        self.state.load(Ordering::Acquire) != MAP_PENDING
    }

    /// `Some(Ok)` once mapped, `Some(Err)` when the map failed, `None` while waiting.
    pub fn ready(&self) -> Option<Result<(), GpuError>> {
        match self.state.load(Ordering::Acquire) {
            MAP_DONE => Some(Ok(())),
            MAP_FAILED => Some(Err(GpuError::Readback(
                "mapping a brush stroke's staging buffer failed".into(),
            ))),
            _ => None,
        }
    }

    /// Copies the mapped box into `labels` (the CPU map of grid `shape`) and
    /// returns how many voxels changed. Call after [`Self::ready`] gave `Ok`.
    pub fn apply_to(&self, labels: &mut [u8], shape: [usize; 3]) -> Result<u64, GpuError> {
        self.ready()
            .unwrap_or_else(|| Err(GpuError::Readback("brush stroke not mapped yet".into())))?;
        let n = shape.iter().product::<usize>();
        if labels.len() != n || (0..3).any(|a| self.bounds.max[a] >= shape[a]) {
            return Err(GpuError::Readback(format!(
                "brush box {:?} does not fit a {shape:?} map of {} voxels",
                self.bounds,
                labels.len()
            )));
        }
        let [di, dj, dk] = self.bounds.size();
        let mut changed = 0u64;
        {
            let mapped = self
                .staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| GpuError::Readback(format!("brush stroke readback: {e}")))?;
            let pitch = self.bytes_per_row as usize;
            for k in 0..dk {
                for j in 0..dj {
                    let src = &mapped[(k * dj + j) * pitch..][..di];
                    let [i0, j0, k0] = self.bounds.min;
                    let start = i0 + shape[0] * ((j0 + j) + shape[1] * (k0 + k));
                    let dst = &mut labels[start..start + di];
                    changed += dst.iter().zip(src).filter(|(a, b)| a != b).count() as u64;
                    dst.copy_from_slice(src);
                }
            }
        }
        self.staging.unmap();
        Ok(changed)
    }
}

impl Brush {
    /// Whether [`Self::encode_on_texture`] is available (built with
    /// [`Brush::with_texture_labels`]).
    pub fn writes_label_textures(&self) -> bool {
        self.texture.is_some()
    }

    /// Records `stroke` into `encoder`, writing `labels` (which needs
    /// `STORAGE_BINDING` and `COPY_SRC`), then a copy of the stroke's box into
    /// a staging buffer. Returns None when the stroke misses the grid.
    pub fn encode_on_texture(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        image: &Volume,
        texture: &VolumeTexture,
        labels: &LabelTexture,
        stroke: &BrushStroke,
    ) -> Result<Option<TextureStroke>, BrushError> {
        let Some(variant) = self.texture.as_ref() else {
            return Err(GpuError::Upload(
                "this brush was built without the label-texture pipelines".into(),
            )
            .into());
        };
        let shape = image.shape.map(|n| n as u32);
        if texture.shape != shape || labels.shape != shape {
            return Err(BrushError::GridMismatch {
                got: labels.shape.iter().map(|&n| n as usize).product(),
                want: image.voxel_count(),
                shape: image.shape,
            });
        }
        let pieces = stroke_pieces(stroke, image.shape, &image.ras_from_voxel)?;
        let Some(bounds) = pieces.iter().map(|p| p.bounds).reduce(|a, b| a.union(&b)) else {
            return Ok(None);
        };
        let (pipeline, image_layout) = self.pipeline_for(variant, texture.format);
        let base = base_params(shape, stroke, texture.format);
        let [di, dj, dk] = bounds.size().map(|n| n as u32);
        let bytes_per_row = padded_bytes_per_row(di);
        let (result, err) = capture_errors(device, || {
            let view = labels.texture.create_view(&wgpu::TextureViewDescriptor {
                label: Some("brush::label_storage_view"),
                ..Default::default()
            });
            self.encode_pieces(
                device,
                encoder,
                (&pipeline, &variant.main_layout, &image_layout),
                texture,
                wgpu::BindingResource::TextureView(&view),
                &pieces,
                base,
            )?;
            let staging = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("brush::stroke_readback"),
                size: u64::from(bytes_per_row) * u64::from(dj) * u64::from(dk),
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            });
            encoder.copy_texture_to_buffer(
                wgpu::TexelCopyTextureInfo {
                    texture: &labels.texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d {
                        x: bounds.min[0] as u32,
                        y: bounds.min[1] as u32,
                        z: bounds.min[2] as u32,
                    },
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::TexelCopyBufferInfo {
                    buffer: &staging,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(bytes_per_row),
                        rows_per_image: Some(dj),
                    },
                },
                wgpu::Extent3d {
                    width: di,
                    height: dj,
                    depth_or_array_layers: dk,
                },
            );
            Ok::<_, BrushError>(staging)
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("brush stroke on the label texture: {e}")).into());
        }
        Ok(Some(TextureStroke {
            bounds,
            staging: result?,
            bytes_per_row,
            state: Arc::new(AtomicU8::new(MAP_PENDING)),
        }))
    }
}
