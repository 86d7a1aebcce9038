//! The brush compute pass (shaders/brush.wgsl).

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::{BrushError, BrushMode, BrushStroke, OverwritePolicy, StrokePiece, stroke_pieces};
use crate::annotate::label_volume::GpuLabelVolume;
use crate::gpu::shader::{FORMATS, Shader, Variant as ShaderVariant, format_def};
use crate::gpu::volume_texture::{VolumeFormat, VolumeTexture};
use crate::gpu::{GpuError, capture_errors, readback::read_buffer};
use crate::volume::Volume;

/// Invocations per workgroup (`@workgroup_size` in brush.wgsl).
pub const BRUSH_WORKGROUP: u64 = 64;
/// `mode.w` meaning "erase any unlocked label".
const ERASE_ANY: u32 = 256;

/// Keep in sync with `BrushParams` in shaders/brush.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub(super) struct BrushParams {
    grid: [u32; 4],
    box_min: [u32; 4],
    box_size: [u32; 4],
    mode: [u32; 4],
    range_i: [i32; 4],
    range_f: [f32; 4],
    locked: [u32; 8],
}
const _: () = assert!(std::mem::size_of::<BrushParams>() == 128);

/// Result of one stroke on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrushOutcome {
    pub changed_voxels: u64,
    /// Stroke pieces dispatched (one per segment no longer than the diameter).
    pub dispatches: usize,
}

/// Where the label map being edited lives on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LabelStore {
    /// [`GpuLabelVolume`]: u8 per voxel packed in a storage buffer.
    Packed,
    /// The renderer's `r8uint` 3-D texture as a read-write storage texture.
    Texture,
}

/// One pipeline per image texture format for one label store.
pub(super) struct Variant {
    pub(super) pipeline_i16: wgpu::ComputePipeline,
    pub(super) pipeline_f32: wgpu::ComputePipeline,
    pub(super) pipeline_u8_pair: wgpu::ComputePipeline,
    pub(super) main_layout: wgpu::BindGroupLayout,
}

/// The brush pipelines, created once per device: the packed-buffer variant
/// always, the storage-texture variant where the adapter can write `r8uint`.
pub struct Brush {
    packed: Variant,
    pub(super) texture: Option<Variant>,
    pub(super) image_layout_i16: wgpu::BindGroupLayout,
    pub(super) image_layout_f32: wgpu::BindGroupLayout,
    pub(super) image_layout_u8_pair: wgpu::BindGroupLayout,
}

/// brush.wgsl for an image format and a label store.
fn shader_variant(format: VolumeFormat, store: LabelStore) -> ShaderVariant {
    ShaderVariant::new(Shader::Brush)
        .with("FORMAT", format_def(format))
        .with("TEXTURE_LABELS", store == LabelStore::Texture)
}

/// Every variant of brush.wgsl the brush builds.
pub(crate) fn shader_variants() -> impl Iterator<Item = ShaderVariant> {
    [LabelStore::Packed, LabelStore::Texture]
        .into_iter()
        .flat_map(|store| FORMATS.map(|format| shader_variant(format, store)))
}

fn buffer_entry(binding: u32, ty: wgpu::BufferBindingType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn image_layout(
    device: &wgpu::Device,
    label: &str,
    sample_type: wgpu::TextureSampleType,
) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Texture {
                sample_type,
                view_dimension: wgpu::TextureViewDimension::D3,
                multisampled: false,
            },
            count: None,
        }],
    })
}

fn pipeline(
    device: &wgpu::Device,
    name: &str,
    source: &str,
    layouts: [&wgpu::BindGroupLayout; 2],
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(&format!("brush::{name}_shader")),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(&format!("brush::{name}_layout")),
        bind_group_layouts: &[Some(layouts[0]), Some(layouts[1])],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(&format!("brush::{name}_pipeline")),
        layout: Some(&layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// Exact integer bounds for integer-valued textures.
fn integer_bounds(lo: f64, hi: f64) -> [i32; 2] {
    let clamp = |x: f64| x.clamp(i32::MIN as f64, i32::MAX as f64) as i32;
    [clamp(lo.ceil()), clamp(hi.floor())]
}

/// The f32 bounds selecting the same f32 values as [lo, hi] in f64.
fn f32_bounds(lo: f64, hi: f64) -> [f32; 2] {
    let mut l = lo as f32;
    if f64::from(l) < lo {
        l = l.next_up();
    }
    let mut h = hi as f32;
    if f64::from(h) > hi {
        h = h.next_down();
    }
    [l, h]
}

fn to_u32(x: usize, what: &str) -> Result<u32, BrushError> {
    u32::try_from(x).map_err(|_| BrushError::TooLarge(format!("{what} = {x} exceeds u32")))
}

/// The WGSL of brush.wgsl for `store` and the i16, f32 and U8Pair images.
fn store_sources(store: LabelStore) -> Result<[String; 3], GpuError> {
    let [i16, f32, u8_pair] = [VolumeFormat::I16, VolumeFormat::F32, VolumeFormat::U8Pair]
        .map(|format| shader_variant(format, store).source());
    Ok([i16?, f32?, u8_pair?])
}

fn make_variant(
    device: &wgpu::Device,
    store: LabelStore,
    sources: &[String; 3],
    image_layouts: [&wgpu::BindGroupLayout; 3],
) -> Variant {
    use wgpu::BufferBindingType as B;
    let labels_entry = match store {
        LabelStore::Packed => buffer_entry(2, B::Storage { read_only: false }),
        LabelStore::Texture => wgpu::BindGroupLayoutEntry {
            binding: 2,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::StorageTexture {
                access: wgpu::StorageTextureAccess::ReadWrite,
                format: wgpu::TextureFormat::R8Uint,
                view_dimension: wgpu::TextureViewDimension::D3,
            },
            count: None,
        },
    };
    let name = match store {
        LabelStore::Packed => "packed",
        LabelStore::Texture => "texture",
    };
    let main_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(&format!("brush::{name}_main_bind_layout")),
        entries: &[
            buffer_entry(0, B::Uniform),
            buffer_entry(1, B::Storage { read_only: true }),
            labels_entry,
            buffer_entry(3, B::Storage { read_only: false }),
        ],
    });
    let [i16_layout, f32_layout, u8_pair_layout] = image_layouts;
    Variant {
        pipeline_i16: pipeline(
            device,
            &format!("{name}_i16"),
            &sources[0],
            [&main_layout, i16_layout],
        ),
        pipeline_f32: pipeline(
            device,
            &format!("{name}_f32"),
            &sources[1],
            [&main_layout, f32_layout],
        ),
        pipeline_u8_pair: pipeline(
            device,
            &format!("{name}_u8pair"),
            &sources[2],
            [&main_layout, u8_pair_layout],
        ),
        main_layout,
    }
}

/// Whether the adapter behind `device` can bind an `r8uint` 3-D texture as a
/// read-write storage texture (the app's brush then writes the rendered labels).
pub fn label_texture_writable(adapter: &wgpu::Adapter, device: &wgpu::Device) -> bool {
    let features = adapter.get_texture_format_features(wgpu::TextureFormat::R8Uint);
    device
        .features()
        .contains(wgpu::Features::TEXTURE_ADAPTER_SPECIFIC_FORMAT_FEATURES)
        && features
            .allowed_usages
            .contains(wgpu::TextureUsages::STORAGE_BINDING)
        && features
            .flags
            .contains(wgpu::TextureFormatFeatureFlags::STORAGE_READ_WRITE)
}

impl Brush {
    /// Compiles the packed-buffer pipelines; call once per device.
    pub fn new(device: &wgpu::Device) -> Result<Self, GpuError> {
        Self::build(device, false)
    }

    /// Also compiles the storage-texture variant (see [`label_texture_writable`]);
    /// fails when the device cannot build it.
    pub fn with_texture_labels(device: &wgpu::Device) -> Result<Self, GpuError> {
        Self::build(device, true)
    }

    fn build(device: &wgpu::Device, texture: bool) -> Result<Self, GpuError> {
        let packed_sources = store_sources(LabelStore::Packed)?;
        let texture_sources = if texture {
            Some(store_sources(LabelStore::Texture)?)
        } else {
            None
        };
        let (brush, err) = capture_errors(device, || {
            let image_layout_i16 = image_layout(
                device,
                "brush::image_i16_bind_layout",
                wgpu::TextureSampleType::Sint,
            );
            let image_layout_f32 = image_layout(
                device,
                "brush::image_f32_bind_layout",
                wgpu::TextureSampleType::Float { filterable: false },
            );
            let image_layout_u8_pair = image_layout(
                device,
                "brush::image_u8pair_bind_layout",
                wgpu::TextureSampleType::Uint,
            );
            let layouts = [&image_layout_i16, &image_layout_f32, &image_layout_u8_pair];
            Brush {
                packed: make_variant(device, LabelStore::Packed, &packed_sources, layouts),
                texture: texture_sources
                    .map(|sources| make_variant(device, LabelStore::Texture, &sources, layouts)),
                image_layout_i16,
                image_layout_f32,
                image_layout_u8_pair,
            }
        });
        match err {
            Some(e) => Err(GpuError::Upload(format!("brush pipelines: {e}"))),
            None => Ok(brush),
        }
    }

    pub(super) fn pipeline_for(
        &self,
        variant: &Variant,
        format: VolumeFormat,
    ) -> (wgpu::ComputePipeline, wgpu::BindGroupLayout) {
        match format {
            VolumeFormat::I16 => (variant.pipeline_i16.clone(), self.image_layout_i16.clone()),
            VolumeFormat::F32 => (variant.pipeline_f32.clone(), self.image_layout_f32.clone()),
            VolumeFormat::U8Pair => (
                variant.pipeline_u8_pair.clone(),
                self.image_layout_u8_pair.clone(),
            ),
        }
    }

    /// Applies `stroke` to the GPU label map and waits for it, returning the
    /// number of voxels changed (a 4-byte readback). `image` supplies the
    /// geometry and `texture` (its upload) the values for the intensity range.
    /// The caller's CPU copy of the labels is not touched: read back the
    /// stroke's [`super::stroke_bounds`] or the whole map when needed.
    pub fn apply(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        image: &Volume,
        texture: &VolumeTexture,
        labels: &GpuLabelVolume,
        stroke: &BrushStroke,
    ) -> Result<BrushOutcome, BrushError> {
        let shape = image.shape.map(|n| n as u32);
        if texture.shape != shape || labels.shape != shape {
            return Err(BrushError::GridMismatch {
                got: labels.voxel_count() as usize,
                want: image.voxel_count(),
                shape: image.shape,
            });
        }
        let pieces = stroke_pieces(stroke, image.shape, &image.ras_from_voxel)?;
        let (pipeline, image_layout) = self.pipeline_for(&self.packed, texture.format);
        let base = base_params(shape, stroke, texture.format);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("brush::encoder"),
        });
        let (result, err) = capture_errors(device, || {
            self.encode_pieces(
                device,
                &mut encoder,
                (&pipeline, &self.packed.main_layout, &image_layout),
                texture,
                labels.buffer.as_entire_binding(),
                &pieces,
                base,
            )
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("brush stroke: {e}")).into());
        }
        let counter = result?;
        queue.submit([encoder.finish()]);
        let changed = match counter {
            Some(buffer) => {
                let bytes = read_buffer(device, queue, &buffer, 0, 4)?;
                u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            }
            None => 0,
        };
        Ok(BrushOutcome {
            changed_voxels: changed,
            dispatches: pieces.len(),
        })
    }

    /// Records one dispatch per piece in one compute pass into `encoder`;
    /// returns the changed-voxel counter (None when there is nothing to do).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn encode_pieces(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        (pipeline, main_layout, image_layout): (
            &wgpu::ComputePipeline,
            &wgpu::BindGroupLayout,
            &wgpu::BindGroupLayout,
        ),
        texture: &VolumeTexture,
        labels: wgpu::BindingResource<'_>,
        pieces: &[StrokePiece],
        base: BrushParams,
    ) -> Result<Option<wgpu::Buffer>, BrushError> {
        if pieces.is_empty() {
            return Ok(None);
        }
        let limit = device.limits().max_compute_workgroups_per_dimension;
        let spans: Vec<[i32; 2]> = pieces
            .iter()
            .flat_map(|p| p.spans.iter().copied())
            .collect();
        let spans_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("brush::row_spans"),
            contents: bytemuck::cast_slice(&spans),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let counter = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("brush::changed_counter"),
            contents: &[0u8; 4],
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        });
        let image_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("brush::image_bind_group"),
            layout: image_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(&texture.view),
            }],
        });
        let mut groups = Vec::with_capacity(pieces.len());
        let mut offset = 0usize;
        for piece in pieces {
            let size = piece.size();
            let total = size.iter().product::<usize>();
            let wg = (total as u64).div_ceil(BRUSH_WORKGROUP);
            let x = wg.min(u64::from(limit)).max(1);
            let y = wg.div_ceil(x);
            if y > u64::from(limit) {
                return Err(BrushError::TooLarge(format!(
                    "{total} voxels need {wg} workgroups, over {limit}²"
                )));
            }
            let mut params = base;
            params.grid[3] = to_u32(offset, "span offset")?;
            params.box_min = [
                to_u32(piece.bounds.min[0], "i0")?,
                to_u32(piece.bounds.min[1], "j0")?,
                to_u32(piece.bounds.min[2], "k0")?,
                0,
            ];
            params.box_size = [
                to_u32(size[0], "di")?,
                to_u32(size[1], "dj")?,
                to_u32(size[2], "dk")?,
                to_u32(total, "box voxels")?,
            ];
            offset += piece.spans.len();
            let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("brush::params"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("brush::main_bind_group"),
                layout: main_layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: spans_buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: labels.clone(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: counter.as_entire_binding(),
                    },
                ],
            });
            groups.push((group, x as u32, y as u32));
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("brush::pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(1, &image_group, &[]);
        for (group, x, y) in &groups {
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(*x, *y, 1);
        }
        Ok(Some(counter))
    }
}

pub(super) fn base_params(
    shape: [u32; 3],
    stroke: &BrushStroke,
    format: VolumeFormat,
) -> BrushParams {
    let (kind, policy, target, label) = match stroke.mode {
        BrushMode::Paint { label } => {
            let policy = match stroke.policy {
                OverwritePolicy::All => 0,
                OverwritePolicy::BackgroundOnly => 1,
            };
            (0, policy, ERASE_ANY, u32::from(label))
        }
        BrushMode::Erase { only_label } => (1, 0, only_label.map_or(ERASE_ANY, u32::from), 0),
    };
    let (mut range_i, mut range_f) = ([0i32; 4], [0f32; 4]);
    if let Some((lo, hi)) = stroke.intensity_range {
        match format {
            VolumeFormat::I16 | VolumeFormat::U8Pair => {
                let [l, h] = integer_bounds(lo, hi);
                range_i = [l, h, 1, 0];
            }
            VolumeFormat::F32 => {
                let [l, h] = f32_bounds(lo, hi);
                range_i[2] = 1;
                range_f = [l, h, 0.0, 0.0];
            }
        }
    }
    BrushParams {
        grid: [shape[0], shape[1], shape[2], 0],
        box_min: [0; 4],
        box_size: [0; 4],
        mode: [label, kind, policy, target],
        range_i,
        range_f,
        locked: stroke.locked_bits,
    }
}
