//! The image on the GPU: a 3-D texture in a format that keeps the values.
//!
//! Integer images whose values fit in i16 (CT in HU, 8/16-bit MR) are stored as
//! `r16sint`, 2 bytes per voxel, exactly. Anything else (float data, wide
//! integers) is stored as `r32float`. Integer textures are not filterable, so
//! shaders do their own trilinear interpolation with `textureLoad`; that keeps
//! one code path for both formats and exact values at voxel centres.

use crate::gpu::GpuError;
use crate::gpu::error::capture_errors;
use crate::volume::{Volume, VoxelData, each_variant};

/// How voxel values are stored in the texture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumeFormat {
    /// `r16sint`: exact for integer values in [-32768, 32767].
    I16,
    /// `r32float`: exact for f32 values, rounds wider types.
    F32,
    /// `rg8uint` for u8 images: texel (i, j, k) holds voxel i in `x` and its
    /// neighbour i + 1 (clamped at the edge) in `y`, so one fetch gives both voxels
    /// a trilinear sample needs along i. Same 2 bytes per voxel as `I16`; shaders
    /// that want one voxel read `x`.
    U8Pair,
}

impl VolumeFormat {
    pub fn texture_format(self) -> wgpu::TextureFormat {
        match self {
            VolumeFormat::I16 => wgpu::TextureFormat::R16Sint,
            VolumeFormat::F32 => wgpu::TextureFormat::R32Float,
            VolumeFormat::U8Pair => wgpu::TextureFormat::Rg8Uint,
        }
    }

    pub fn bytes_per_voxel(self) -> u32 {
        match self {
            VolumeFormat::I16 | VolumeFormat::U8Pair => 2,
            VolumeFormat::F32 => 4,
        }
    }

    /// The narrowest exact format for these values.
    pub fn for_data(data: &VoxelData, range: (f64, f64)) -> Self {
        let fits_i16 = range.0 >= i16::MIN as f64 && range.1 <= i16::MAX as f64;
        match data {
            VoxelData::U8(_) => VolumeFormat::U8Pair,
            VoxelData::I8(_) | VoxelData::I16(_) => VolumeFormat::I16,
            VoxelData::U16(_) | VoxelData::U32(_) | VoxelData::I32(_) if fits_i16 => {
                VolumeFormat::I16
            }
            // Float data that happens to be integral (rescaled int16, say) also fits.
            VoxelData::F32(v) if fits_i16 && v.iter().all(|x| x.fract() == 0.0) => {
                VolumeFormat::I16
            }
            VoxelData::F64(v) if fits_i16 && v.iter().all(|x| x.fract() == 0.0) => {
                VolumeFormat::I16
            }
            _ => VolumeFormat::F32,
        }
    }
}

/// A volume uploaded as one 3-D texture (clones share the GPU texture).
#[derive(Clone)]
pub struct VolumeTexture {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    pub format: VolumeFormat,
    /// Grid size (i, j, k) = texture (width, height, depth).
    pub shape: [u32; 3],
}

/// Slices uploaded per `write_texture` call, to bound the staging copy.
const SLICES_PER_UPLOAD: usize = 32;

impl VolumeTexture {
    /// Uploads `volume`, refusing grids larger than the adapter allows with both numbers.
    pub fn upload(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &Volume,
    ) -> Result<Self, GpuError> {
        let max_dim = device.limits().max_texture_dimension_3d;
        let shape = volume.shape;
        if shape.iter().any(|&n| n > max_dim as usize) {
            return Err(GpuError::VolumeTooLarge {
                shape,
                max_texture_dimension_3d: max_dim,
            });
        }
        let shape = shape.map(|n| n as u32);
        let format = VolumeFormat::for_data(&volume.data, volume.value_range());
        let size = wgpu::Extent3d {
            width: shape[0],
            height: shape[1],
            depth_or_array_layers: shape[2],
        };
        let (texture, err) = capture_errors(device, || {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some("volume::image_texture"),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D3,
                format: format.texture_format(),
                usage: wgpu::TextureUsages::TEXTURE_BINDING
                    | wgpu::TextureUsages::COPY_DST
                    | wgpu::TextureUsages::COPY_SRC,
                view_formats: &[],
            })
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!(
                "cannot allocate a {}x{}x{} {:?} texture: {e}",
                shape[0], shape[1], shape[2], format
            )));
        }
        let slice_voxels = shape[0] as usize * shape[1] as usize;
        let depth = shape[2] as usize;
        for z0 in (0..depth).step_by(SLICES_PER_UPLOAD) {
            let z1 = (z0 + SLICES_PER_UPLOAD).min(depth);
            let range = z0 * slice_voxels..z1 * slice_voxels;
            let bytes = texel_bytes(&volume.data, range, format, shape[0] as usize);
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d {
                        x: 0,
                        y: 0,
                        z: z0 as u32,
                    },
                    aspect: wgpu::TextureAspect::All,
                },
                &bytes,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(shape[0] * format.bytes_per_voxel()),
                    rows_per_image: Some(shape[1]),
                },
                wgpu::Extent3d {
                    depth_or_array_layers: (z1 - z0) as u32,
                    ..size
                },
            );
        }
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            label: Some("volume::image_view"),
            ..Default::default()
        });
        Ok(VolumeTexture {
            texture,
            view,
            format,
            shape,
        })
    }

    /// Bytes this texture holds on the GPU.
    pub fn gpu_bytes(&self) -> u64 {
        self.shape.iter().map(|&n| n as u64).product::<u64>() * self.format.bytes_per_voxel() as u64
    }
}

/// Converts a run of voxels to the texture's texel bytes.
#[allow(clippy::unnecessary_cast)] // the macro covers the i16 and f32 arms too
fn texel_bytes(
    data: &VoxelData,
    range: std::ops::Range<usize>,
    format: VolumeFormat,
    row_len: usize,
) -> Vec<u8> {
    match format {
        // Whole rows (the range is whole slices): each voxel with its right neighbour.
        VolumeFormat::U8Pair => match data {
            VoxelData::U8(v) => v[range]
                .chunks(row_len)
                .flat_map(|row| {
                    row.iter()
                        .zip(row.iter().skip(1).chain(row.last()))
                        .flat_map(|(&a, &b)| [a, b])
                })
                .collect(),
            // for_data picks U8Pair for u8 data only.
            _ => Vec::new(),
        },
        VolumeFormat::I16 => each_variant!(data, v => v[range]
            .iter()
            .flat_map(|&x| (x as i16).to_le_bytes())
            .collect()),
        VolumeFormat::F32 => each_variant!(data, v => v[range]
            .iter()
            .flat_map(|&x| (x as f32).to_le_bytes())
            .collect()),
    }
}
