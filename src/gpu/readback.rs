//! Copying GPU buffers and textures back to the CPU (tests, self-checks, exports).
//!
//! Blocking: each call submits a copy, waits for it and maps a staging buffer.

use std::sync::mpsc;
use std::time::Duration;

use crate::gpu::error::{GpuError, capture_errors};

/// How long we wait for the GPU before calling a readback failed; lavapipe on a busy
/// 2-core CI runner is slow, but never this slow.
const MAP_TIMEOUT: Duration = Duration::from_secs(120);

/// Row pitch of a texture-to-buffer copy: rows must start on 256-byte boundaries.
pub fn padded_bytes_per_row(unpadded: u32) -> u32 {
    let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    unpadded.div_ceil(align) * align
}

/// Reads `size` bytes starting at `offset` of `src` (which needs `COPY_SRC`).
/// `offset` and `size` must be multiples of 4 (`COPY_BUFFER_ALIGNMENT`).
pub fn read_buffer(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    src: &wgpu::Buffer,
    offset: u64,
    size: u64,
) -> Result<Vec<u8>, GpuError> {
    let align = wgpu::COPY_BUFFER_ALIGNMENT;
    if !offset.is_multiple_of(align) || !size.is_multiple_of(align) || size == 0 {
        return Err(GpuError::Readback(format!(
            "buffer range {offset}+{size} must be non-empty and {align}-byte aligned"
        )));
    }
    if !src.usage().contains(wgpu::BufferUsages::COPY_SRC) {
        return Err(GpuError::Readback(
            "source buffer lacks COPY_SRC usage".into(),
        ));
    }
    if offset.checked_add(size).is_none_or(|end| end > src.size()) {
        return Err(GpuError::Readback(format!(
            "buffer range {offset}+{size} exceeds buffer size {}",
            src.size()
        )));
    }
    let staging = staging_buffer(device, size);
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("readback::buffer_encoder"),
    });
    encoder.copy_buffer_to_buffer(src, offset, &staging, 0, size);
    submit_and_map(device, queue, encoder, &staging)
}

/// Reads mip level 0 of a 3-D (or 2-D) texture with an uncompressed, single-aspect
/// format into tightly packed bytes (x fastest, then y, then z). Needs `COPY_SRC`.
pub fn read_texture_3d(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
) -> Result<Vec<u8>, GpuError> {
    let format = texture.format();
    let texel = match (format.block_dimensions(), format.block_copy_size(None)) {
        ((1, 1), Some(bytes)) => bytes,
        _ => {
            return Err(GpuError::Readback(format!(
                "cannot read back texture format {format:?} (compressed or multi-aspect)"
            )));
        }
    };
    if !texture.usage().contains(wgpu::TextureUsages::COPY_SRC) {
        return Err(GpuError::Readback(
            "source texture lacks COPY_SRC usage".into(),
        ));
    }
    let size = texture.size();
    let (w, h, d) = (size.width, size.height, size.depth_or_array_layers);
    let row = w * texel;
    let padded_row = padded_bytes_per_row(row);
    let staging_size = u64::from(padded_row) * u64::from(h) * u64::from(d);
    let staging = staging_buffer(device, staging_size);

    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("readback::texture_encoder"),
    });
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer: &staging,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row),
                rows_per_image: Some(h),
            },
        },
        size,
    );
    let padded = submit_and_map(device, queue, encoder, &staging)?;

    // Strip the per-row padding.
    let row = row as usize;
    let mut out = Vec::with_capacity(row * h as usize * d as usize);
    for chunk in padded.chunks_exact(padded_row as usize) {
        out.extend_from_slice(&chunk[..row]);
    }
    Ok(out)
}

/// [`read_texture_3d`] for 4-byte formats (`R32Uint`, …), as native-endian `u32`s.
pub fn read_texture_3d_u32(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
) -> Result<Vec<u32>, GpuError> {
    if texture.format().block_copy_size(None) != Some(4) {
        return Err(GpuError::Readback(format!(
            "read_texture_3d_u32 needs a 4-byte texel format, got {:?}",
            texture.format()
        )));
    }
    let bytes = read_texture_3d(device, queue, texture)?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}

fn staging_buffer(device: &wgpu::Device, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback::staging"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

fn submit_and_map(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    encoder: wgpu::CommandEncoder,
    staging: &wgpu::Buffer,
) -> Result<Vec<u8>, GpuError> {
    let (tx, rx) = mpsc::channel();
    let (poll, error) = capture_errors(device, || {
        let index = queue.submit([encoder.finish()]);
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            // The receiver only disappears if we already returned with an error.
            let _ = tx.send(result);
        });
        device.poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(MAP_TIMEOUT),
        })
    });
    if let Some(error) = error {
        return Err(GpuError::Readback(format!(
            "wgpu error during copy: {error}"
        )));
    }
    poll.map_err(|e| GpuError::Readback(format!("waiting for the GPU failed: {e}")))?;
    // With several threads sharing the device, another thread's poll can be the
    // one that runs our map callback, a little after our own poll returned:
    // keep polling (without blocking) until the callback has arrived.
    let deadline = std::time::Instant::now() + MAP_TIMEOUT;
    let mapped = loop {
        match rx.recv_timeout(std::time::Duration::from_millis(1)) {
            Ok(result) => break result,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(GpuError::Readback("map callback was dropped".into()));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if std::time::Instant::now() > deadline => {
                return Err(GpuError::Readback(
                    "buffer was not mapped after the GPU finished".into(),
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = device.poll(wgpu::PollType::Poll);
            }
        }
    };
    if let Err(e) = mapped {
        return Err(GpuError::Readback(format!("mapping failed: {e}")));
    }
    let data = staging
        .get_mapped_range(..)
        .map_err(|e| GpuError::Readback(format!("get_mapped_range failed: {e:?}")))?
        .to_vec();
    staging.unmap();
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::padded_bytes_per_row;

    #[test]
    fn row_padding() {
        assert_eq!(padded_bytes_per_row(0), 0);
        assert_eq!(padded_bytes_per_row(1), 256);
        assert_eq!(padded_bytes_per_row(32), 256);
        assert_eq!(padded_bytes_per_row(256), 256);
        assert_eq!(padded_bytes_per_row(257), 512);
    }
}
