//! Where the threshold pass reads the image: the renderer's texture, or a
//! packed i16 buffer that lavapipe thresholds about 3x faster.

use crate::gpu::volume_texture::VolumeTexture;
use crate::gpu::{GpuError, capture_errors};
use crate::volume::{Volume, VoxelData};

/// The image values as i16 pairs in a storage buffer (voxel n in the low half of
/// word n / 2 when n is even, the high half otherwise).
pub struct PackedImage {
    pub buffer: wgpu::Buffer,
    pub shape: [u32; 3],
}

impl PackedImage {
    /// Uploads `volume` when every value is an integer in i16 range and the
    /// buffer fits the adapter's storage-binding limit; `Ok(None)` otherwise
    /// (use the [`VolumeTexture`] then). The buffer is filled while mapped at
    /// creation, so `_queue` is not used.
    pub fn upload(
        device: &wgpu::Device,
        _queue: &wgpu::Queue,
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
        let shape = volume.shape.map(|x| x as u32);
        // Converted straight into the mapped buffer, in parallel: the old path
        // (f64 per voxel into a Vec, then write_buffer's staging copy) took about
        // 300 ms of a 1.2 s `rayseg grow` on ch2better.
        let (buffer, err) = capture_errors(device, || {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("grow::packed_image"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: true,
            })
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!(
                "packed image of {bytes} bytes: {e}"
            )));
        }
        let complete = {
            let mut view = buffer
                .slice(..)
                .get_mapped_range_mut()
                .map_err(|e| GpuError::Upload(format!("mapping the packed image: {e}")))?;
            fill_i16(view.slice(..), &volume.data)
        };
        buffer.unmap();
        Ok(complete.then_some(PackedImage { buffer, shape }))
    }
}

/// Writes `data` as little-endian i16 into the mapped bytes `out` (zero after
/// the data), a cache-sized chunk at a time; false when some value is not an
/// integer in i16 range (only possible for float data: the caller checked the
/// range). Sequential: a mapped range cannot be shared between threads.
fn fill_i16(mut out: wgpu::WriteOnly<'_, [u8]>, data: &VoxelData) -> bool {
    const CHUNK: usize = 1 << 16;
    let mut values = vec![0i16; CHUNK];
    let mut ok = true;
    let mut start = 0;
    while !out.is_empty() {
        let len = (out.len() / 2).min(CHUNK);
        let (mut piece, tail) = out.split_at(2 * len);
        out = tail;
        let end = (start + len).min(data.len());
        values[..len].fill(0);
        if start < end {
            ok &= convert(&mut values[..end - start], data, start);
        }
        piece.copy_from_slice(bytemuck::cast_slice(&values[..len]));
        start += len;
    }
    ok
}

/// `data[start..start + out.len()]` as i16; false if some value does not fit.
fn convert(out: &mut [i16], data: &VoxelData, start: usize) -> bool {
    fn each<T: Copy>(out: &mut [i16], src: &[T], f: impl Fn(T) -> Option<i16>) -> bool {
        let mut ok = true;
        for (o, &x) in out.iter_mut().zip(src) {
            match f(x) {
                Some(v) => *o = v,
                None => ok = false,
            }
        }
        ok
    }
    let float =
        |x: f64| (x.fract() == 0.0 && (-32768.0..=32767.0).contains(&x)).then_some(x as i16);
    let end = start + out.len();
    match data {
        VoxelData::U8(v) => each(out, &v[start..end], |x| Some(i16::from(x))),
        VoxelData::I8(v) => each(out, &v[start..end], |x| Some(i16::from(x))),
        VoxelData::I16(v) => {
            out.copy_from_slice(&v[start..end]);
            true
        }
        VoxelData::U16(v) => each(out, &v[start..end], |x| i16::try_from(x).ok()),
        VoxelData::U32(v) => each(out, &v[start..end], |x| i16::try_from(x).ok()),
        VoxelData::I32(v) => each(out, &v[start..end], |x| i16::try_from(x).ok()),
        VoxelData::F32(v) => each(out, &v[start..end], |x| float(f64::from(x))),
        VoxelData::F64(v) => each(out, &v[start..end], float),
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
