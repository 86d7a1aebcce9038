//! The raymarch pipelines, per image format: one per variant of
//! shaders/raymarch.wgsl (defs FORMAT, MODE, LABELS, PAIR_X, COLUMN, SURFACES), each compiled
//! on first use, and the brick pass (brick_minmax.wgsl, def FORMAT).

use std::sync::OnceLock;

use crate::gpu::shader::{FORMATS, Shader, Variant as ShaderVariant, format_def};
use crate::gpu::volume_texture::VolumeFormat;
use crate::gpu::{GpuError, capture_errors};

use super::RenderMode;

/// Modes in the order of `MODE_*` in raymarch.wgsl.
const MODES: [RenderMode; 5] = [
    RenderMode::Mip,
    RenderMode::MinIp,
    RenderMode::Average,
    RenderMode::Dvr,
    RenderMode::Iso,
];

/// One specialisation of the raymarch shader. Built with [`PipelineKey::new`],
/// which drops what does not apply, so equal pipelines have equal keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PipelineKey {
    mode: RenderMode,
    labels: bool,
    /// i lies in the sampling plane of every ray (U8Pair images only): plane
    /// samples of projections and column DVR fetch two voxels at once.
    pair_x: bool,
    /// Column rays (DVR without labels or surfaces only): see `column_dvr` in the
    /// shader.
    column: bool,
    /// Rays stop at a surface layer drawn first (see `SURFACES` in the shader).
    surfaces: bool,
}

impl PipelineKey {
    pub(crate) fn new(
        format: VolumeFormat,
        mode: RenderMode,
        labels: bool,
        pair_x: bool,
        column: bool,
        surfaces: bool,
    ) -> Self {
        let column = column && mode == RenderMode::Dvr && !labels && !surfaces;
        let projection = matches!(
            mode,
            RenderMode::Mip | RenderMode::MinIp | RenderMode::Average
        );
        let pair_x = pair_x && format == VolumeFormat::U8Pair && (projection || column);
        PipelineKey {
            mode,
            labels,
            pair_x,
            column,
            surfaces,
        }
    }

    pub(crate) fn column(&self) -> bool {
        self.column
    }

    /// The mode's index in [`MODES`]: `MODE_*` in raymarch.wgsl.
    fn mode_index(&self) -> usize {
        MODES.iter().position(|&x| x == self.mode).unwrap_or(0)
    }

    fn index(&self) -> usize {
        let flags = [self.labels, self.pair_x, self.column, self.surfaces];
        flags
            .into_iter()
            .fold(self.mode_index(), |i, f| i * 2 + usize::from(f))
    }

    /// raymarch.wgsl specialised for this key and images of `format`.
    fn shader_variant(&self, format: VolumeFormat) -> ShaderVariant {
        ShaderVariant::new(Shader::Raymarch)
            .with("FORMAT", format_def(format))
            .with("MODE", self.mode_index() as u32)
            .with("LABELS", self.labels)
            .with("PAIR_X", self.pair_x)
            .with("COLUMN", self.column)
            .with("SURFACES", self.surfaces)
    }

    /// Every distinct key for images of `format`.
    fn all(format: VolumeFormat) -> Vec<PipelineKey> {
        let mut keys: Vec<PipelineKey> = Vec::new();
        for mode in MODES {
            for labels in [false, true] {
                for pair_x in [false, true] {
                    for column in [false, true] {
                        for surfaces in [false, true] {
                            let key =
                                PipelineKey::new(format, mode, labels, pair_x, column, surfaces);
                            if !keys.contains(&key) {
                                keys.push(key);
                            }
                        }
                    }
                }
            }
        }
        keys
    }
}

const SLOTS: usize = MODES.len() * 16;

/// brick_minmax.wgsl for images of `format`.
fn brick_variant(format: VolumeFormat) -> ShaderVariant {
    ShaderVariant::new(Shader::BrickMinmax).with("FORMAT", format_def(format))
}

/// Every shader variant the raymarcher builds, for every image format.
pub(crate) fn shader_variants() -> impl Iterator<Item = ShaderVariant> {
    FORMATS.into_iter().flat_map(|format| {
        std::iter::once(brick_variant(format)).chain(
            PipelineKey::all(format)
                .into_iter()
                .map(move |key| key.shader_variant(format)),
        )
    })
}

/// The pipelines of one image format.
pub(crate) struct Variant {
    suffix: &'static str,
    format: VolumeFormat,
    /// Per [`PipelineKey::index`], each built on first use: compiling all of them
    /// up front took a third of a second at start-up on lavapipe.
    raymarch: Vec<OnceLock<wgpu::ComputePipeline>>,
    pub(crate) raymarch_layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    pub(crate) bricks: wgpu::ComputePipeline,
}

impl Variant {
    pub(crate) fn raymarch(
        &self,
        device: &wgpu::Device,
        key: PipelineKey,
    ) -> Result<&wgpu::ComputePipeline, GpuError> {
        let index = key.index();
        let Some(cell) = self.raymarch.get(index) else {
            return Err(GpuError::Upload(format!("no raymarch pipeline {key:?}")));
        };
        if let Some(p) = cell.get() {
            return Ok(p);
        }
        let src = key.shader_variant(self.format).source()?;
        let name = format!("{}_{index}", self.suffix);
        let (pipeline, err) = capture_errors(device, || {
            make_pipeline(device, &name, &src, &self.pipeline_layout)
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("raymarch pipeline {name}: {e}")));
        }
        // Another thread may have set it meanwhile; either pipeline is the same.
        let _ = cell.set(pipeline);
        cell.get()
            .ok_or_else(|| GpuError::Upload(format!("raymarch pipeline {name} not kept")))
    }

    /// Builds every distinct pipeline of this format; returns how many.
    pub(crate) fn compile_all(
        &self,
        device: &wgpu::Device,
        format: VolumeFormat,
    ) -> Result<usize, GpuError> {
        let keys = PipelineKey::all(format);
        for &key in &keys {
            self.raymarch(device, key)?;
        }
        Ok(keys.len())
    }
}

fn texture_entry(binding: u32, sample_type: wgpu::TextureSampleType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension: wgpu::TextureViewDimension::D3,
            multisampled: false,
        },
        count: None,
    }
}

fn texture_2d_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A bind group layout and a pipeline layout holding just it.
fn make_layouts(
    device: &wgpu::Device,
    name: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    let bind_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(&format!("raymarch::{name}_bind_layout")),
        entries,
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(&format!("raymarch::{name}_layout")),
        bind_group_layouts: &[Some(&bind_layout)],
        immediate_size: 0,
    });
    (bind_layout, layout)
}

fn make_pipeline(
    device: &wgpu::Device,
    name: &str,
    source: &str,
    layout: &wgpu::PipelineLayout,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(&format!("raymarch::{name}_shader")),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(&format!("raymarch::pipeline_{name}")),
        layout: Some(layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

pub(crate) fn make_variant(
    device: &wgpu::Device,
    format: VolumeFormat,
) -> Result<Variant, GpuError> {
    let (suffix, sample_type) = match format {
        VolumeFormat::I16 => ("i16", wgpu::TextureSampleType::Sint),
        VolumeFormat::F32 => ("f32", wgpu::TextureSampleType::Float { filterable: false }),
        VolumeFormat::U8Pair => ("u8pair", wgpu::TextureSampleType::Uint),
    };
    let label_type = wgpu::TextureSampleType::Uint;
    let raymarch_entries = [
        uniform_entry(0),
        texture_entry(1, sample_type),
        texture_entry(2, label_type),
        texture_entry(3, wgpu::TextureSampleType::Float { filterable: false }),
        uniform_entry(4),
        uniform_entry(5),
        wgpu::BindGroupLayoutEntry {
            binding: 6,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::StorageTexture {
                access: wgpu::StorageTextureAccess::WriteOnly,
                format: wgpu::TextureFormat::Rgba8Unorm,
                view_dimension: wgpu::TextureViewDimension::D2,
            },
            count: None,
        },
        // The surface layer (read by the SURFACES variants only).
        texture_2d_entry(7),
        texture_2d_entry(8),
    ];
    let brick_entries = [
        uniform_entry(0),
        texture_entry(1, sample_type),
        texture_entry(2, label_type),
        wgpu::BindGroupLayoutEntry {
            binding: 3,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::StorageTexture {
                access: wgpu::StorageTextureAccess::WriteOnly,
                format: wgpu::TextureFormat::Rgba16Float,
                view_dimension: wgpu::TextureViewDimension::D3,
            },
            count: None,
        },
    ];

    let brick_src = brick_variant(format).source()?;
    let (variant, err) = capture_errors(device, || {
        let (raymarch_layout, pipeline_layout) = make_layouts(device, suffix, &raymarch_entries);
        let brick_name = format!("bricks_{suffix}");
        let (_, brick_layout) = make_layouts(device, &brick_name, &brick_entries);
        let bricks = make_pipeline(device, &brick_name, &brick_src, &brick_layout);
        Variant {
            suffix,
            format,
            raymarch: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            raymarch_layout,
            pipeline_layout,
            bricks,
        }
    });
    match err {
        Some(e) => Err(GpuError::Upload(format!(
            "raymarch pipelines ({suffix}): {e}"
        ))),
        None => Ok(variant),
    }
}
