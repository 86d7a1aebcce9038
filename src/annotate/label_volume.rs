//! The label map on the GPU: one u8 label per voxel, packed four to a u32 in a
//! storage buffer (voxel n in byte n % 4 of word n / 4, little-endian), so it
//! costs 1 byte per voxel and every shader can read and write it without
//! the adapter-specific `r8uint` storage-texture feature.

use crate::gpu::{GpuError, capture_errors, readback::read_buffer};

pub struct GpuLabelVolume {
    pub buffer: wgpu::Buffer,
    /// Grid size (i, j, k) of the image it belongs to.
    pub shape: [u32; 3],
}

impl GpuLabelVolume {
    pub fn voxel_count(&self) -> u64 {
        self.shape.iter().map(|&n| n as u64).product()
    }

    /// Words of the packed buffer (rounded up, at least one).
    pub fn word_count(shape: [u32; 3]) -> u64 {
        shape
            .iter()
            .map(|&n| n as u64)
            .product::<u64>()
            .div_ceil(4)
            .max(1)
    }

    /// A zeroed label map for a grid, refused (with both numbers) when it
    /// exceeds the adapter's storage-binding limit.
    pub fn new(device: &wgpu::Device, shape: [u32; 3]) -> Result<Self, GpuError> {
        let bytes = Self::word_count(shape) * 4;
        let limit = device.limits().max_storage_buffer_binding_size;
        if bytes > limit {
            return Err(GpuError::Upload(format!(
                "label map of {}x{}x{} voxels needs {bytes} bytes, over this adapter's \
                 max_storage_buffer_binding_size of {limit}",
                shape[0], shape[1], shape[2]
            )));
        }
        let (buffer, err) = capture_errors(device, || {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("labels::packed_buffer"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!(
                "label buffer of {bytes} bytes: {e}"
            )));
        }
        Ok(GpuLabelVolume { buffer, shape })
    }

    /// Replaces the whole label map with `labels` (one byte per voxel).
    pub fn write(&self, queue: &wgpu::Queue, labels: &[u8]) -> Result<(), GpuError> {
        if labels.len() as u64 != self.voxel_count() {
            return Err(GpuError::Upload(format!(
                "label map has {} voxels, grid needs {}",
                labels.len(),
                self.voxel_count()
            )));
        }
        let mut padded = labels.to_vec();
        padded.resize((Self::word_count(self.shape) * 4) as usize, 0);
        queue.write_buffer(&self.buffer, 0, &padded);
        Ok(())
    }

    /// Reads the label map back, one byte per voxel.
    pub fn read(&self, device: &wgpu::Device, queue: &wgpu::Queue) -> Result<Vec<u8>, GpuError> {
        let mut bytes = read_buffer(device, queue, &self.buffer, 0, self.buffer.size())?;
        bytes.truncate(self.voxel_count() as usize);
        Ok(bytes)
    }
}
