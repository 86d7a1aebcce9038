//! Where the threshold pass reads the image: the renderer's texture, or a
//! packed i16 buffer that lavapipe thresholds about 3x faster.

use crate::gpu::volume_texture::VolumeTexture;
use crate::gpu::{GpuError, capture_errors};
use crate::volume::Volume;

/// The image values as i16 pairs in a storage buffer (voxel n in the low half of
/// word n / 2 when n is even, the high half otherwise).
pub struct PackedImage {
    pub buffer: wgpu::Buffer,
    pub shape: [u32; 3],
}

impl PackedImage {
    /// Uploads `volume` when every value is an integer in i16 range and the
    /// buffer fits the adapter's storage-binding limit; `Ok(None)` otherwise
    /// (use the [`VolumeTexture`] then).
    pub fn upload(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &Volume,
    ) -> Result<Option<Self>, GpuError> {
        let fits = |x: f64| x.fract() == 0.0 && (-32768.0..=32767.0).contains(&x);
        let (lo, hi) = volume.value_range();
        if !(fits(lo) && fits(hi)) {
            return Ok(None);
        }
        let n = volume.voxel_count();
        let bytes = (n as u64).div_ceil(2) * 4;
        let limits = device.limits();
        if bytes
            > limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size)
        {
            return Ok(None);
        }
        let mut values: Vec<i16> = Vec::with_capacity(n + 1);
        for index in 0..n {
            match volume.data.get_f64(index) {
                Some(v) if fits(v) => values.push(v as i16),
                _ => return Ok(None),
            }
        }
        values.resize(values.len().div_ceil(2) * 2, 0);
        let shape = volume.shape.map(|x| x as u32);
        let (buffer, err) = capture_errors(device, || {
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("grow::packed_image"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            queue.write_buffer(&buffer, 0, bytemuck::cast_slice(&values));
            buffer
        });
        match err {
            Some(e) => Err(GpuError::Upload(format!(
                "packed image of {bytes} bytes: {e}"
            ))),
            None => Ok(Some(PackedImage { buffer, shape })),
        }
    }
}

/// Where the threshold pass reads the image.
#[derive(Clone, Copy)]
pub enum GrowImage<'a> {
    Texture(&'a VolumeTexture),
    Packed(&'a PackedImage),
}

impl GrowImage<'_> {
    pub(crate) fn shape(&self) -> [u32; 3] {
        match self {
            GrowImage::Texture(t) => t.shape,
            GrowImage::Packed(p) => p.shape,
        }
    }
}
