//! Where the threshold pass reads the image: the renderer's texture, or a
//! packed buffer (u8 quads or i16 pairs) that lavapipe thresholds several
//! times faster.

use crate::gpu::volume_texture::VolumeTexture;
use crate::gpu::{GpuError, capture_errors};
use crate::volume::{Volume, VoxelData};

/// How a [`PackedImage`] holds the values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackedFormat {
    /// i16 pairs: voxel n in the low half of word n / 2 when n is even, the
    /// high half otherwise.
    I16,
    /// u8 quads: voxel n in byte n % 4 of word n / 4 (values in 0..=255).
    U8,
}

/// The image values packed into a storage buffer.
///
/// The buffer may exceed one storage binding (max_storage_buffer_binding_size,
/// 128 MiB on lavapipe) as long as it fits max_buffer_size: the threshold pass
/// then reads it in chunks of whole rows, each bound as a sub-range of at most
/// [`PackedImage::max_chunk_bytes`].
pub struct PackedImage {
    pub buffer: wgpu::Buffer,
    pub shape: [u32; 3],
    pub format: PackedFormat,
    /// The most bytes one threshold dispatch binds; the binding limit unless
    /// lowered by [`PackedImage::with_max_chunk_bytes`].
    max_chunk_bytes: u64,
}

/// Words after the data: the u8 threshold pass reads nine words per 32 voxels,
/// up to 36 voxels past the last one, and must find them in the buffer.
const U8_PAD_WORDS: u64 = 12;

impl PackedImage {
    /// Uploads `volume` when every value is an integer in u8 range (as u8
    /// quads) or i16 range (as i16 pairs) and the buffer fits the adapter's
    /// buffer-size limit; `Ok(None)` otherwise (use the [`VolumeTexture`]
    /// then). The buffer is filled while mapped at creation, so `_queue` is
    /// not used.
    pub fn upload(
        device: &wgpu::Device,
        _queue: &wgpu::Queue,
        volume: &Volume,
    ) -> Result<Option<Self>, GpuError> {
        let integral = |x: f64, lo: f64, hi: f64| x.fract() == 0.0 && (lo..=hi).contains(&x);
        let (lo, hi) = volume.value_range();
        let format = if integral(lo, 0.0, 255.0) && integral(hi, 0.0, 255.0) {
            PackedFormat::U8
        } else if integral(lo, -32768.0, 32767.0) && integral(hi, -32768.0, 32767.0) {
            PackedFormat::I16
        } else {
            return Ok(None);
        };
        let n = volume.voxel_count() as u64;
        let bytes = match format {
            PackedFormat::I16 => n.div_ceil(2) * 4,
            PackedFormat::U8 => (n.div_ceil(4) + U8_PAD_WORDS) * 4,
        };
        let limits = device.limits();
        if bytes > limits.max_buffer_size {
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
                // Written in place rather than through a staging copy where the
                // device allows it (CPU adapters, see `required_features`).
                usage: wgpu::BufferUsages::STORAGE | direct_write(device),
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
            fill(view.slice(..), &volume.data, format)
        };
        buffer.unmap();
        Ok(complete.then_some(PackedImage {
            buffer,
            shape,
            format,
            max_chunk_bytes: limits.max_storage_buffer_binding_size,
        }))
    }

    /// Lowers the bytes one threshold dispatch binds (never above the binding
    /// limit): for tests of the chunked path on small images. A chunk must
    /// still hold one row plus a few hundred bytes of margin and alignment.
    pub fn with_max_chunk_bytes(mut self, bytes: u64) -> Self {
        self.max_chunk_bytes = self.max_chunk_bytes.min(bytes);
        self
    }

    /// The most bytes one threshold dispatch binds.
    pub fn max_chunk_bytes(&self) -> u64 {
        self.max_chunk_bytes
    }

    /// Voxels per u32 word.
    pub(crate) fn voxels_per_word(&self) -> u64 {
        match self.format {
            PackedFormat::I16 => 2,
            PackedFormat::U8 => 4,
        }
    }
}

/// `MAP_WRITE` when storage buffers may be mapped (`MAPPABLE_PRIMARY_BUFFERS`).
fn direct_write(device: &wgpu::Device) -> wgpu::BufferUsages {
    if device
        .features()
        .contains(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS)
    {
        wgpu::BufferUsages::MAP_WRITE
    } else {
        wgpu::BufferUsages::empty()
    }
}

/// Writes `data` in `format` into the mapped bytes `out` (zero after the data),
/// a cache-sized piece at a time; false when some value does not fit the format
/// (only possible for float data: the caller checked the range). Sequential:
/// `WriteOnly<[u8]>` is not `Send`. u8 data into u8 quads is one copy.
fn fill(mut out: wgpu::WriteOnly<'_, [u8]>, data: &VoxelData, format: PackedFormat) -> bool {
    if let (PackedFormat::U8, VoxelData::U8(v)) = (format, data)
        && v.len() <= out.len()
    {
        let (mut head, mut tail) = out.split_at(v.len());
        head.copy_from_slice(v);
        tail.fill(0);
        return true;
    }
    const CHUNK: usize = 1 << 16;
    let width = match format {
        PackedFormat::I16 => 2,
        PackedFormat::U8 => 1,
    };
    let mut values = vec![0i16; CHUNK];
    let mut narrow = vec![0u8; CHUNK];
    let mut ok = true;
    let mut start = 0;
    while !out.is_empty() {
        let len = (out.len() / width).clamp(1, CHUNK);
        let take = (width * len).min(out.len());
        let (mut piece, tail) = out.split_at(take);
        out = tail;
        let end = (start + len).min(data.len()).max(start);
        values[..len].fill(0);
        ok &= convert(&mut values[..end - start], data, start);
        match format {
            PackedFormat::I16 => piece.copy_from_slice(bytemuck::cast_slice(&values[..len])),
            PackedFormat::U8 => {
                for (b, &v) in narrow.iter_mut().zip(&values[..len]) {
                    match u8::try_from(v) {
                        Ok(x) => *b = x,
                        Err(_) => ok = false,
                    }
                }
                piece.copy_from_slice(&narrow[..len]);
            }
        }
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
