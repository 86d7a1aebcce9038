//! Windowed MPR slices (axial, coronal, sagittal) resampled in world space on the GPU,
//! with slab MIP/MinIP/mean, label overlay and crosshair, plus a CPU reference.
//!
//! See [`geometry`] for the display convention.

mod cpu;
pub mod geometry;

use glam::DVec3;
use wgpu::util::DeviceExt;

pub use cpu::{render_cpu, render_cpu_overlay};
pub use geometry::{
    Convention, EdgeLetters, GeometryError, SliceGeometry, SlicePlane, SlicePosition,
    direction_letter,
};

use crate::gpu::readback::read_texture_3d;
use crate::gpu::shader::{FORMATS, Shader, Variant as ShaderVariant, format_def};
use crate::gpu::volume_texture::{VolumeFormat, VolumeTexture};
use crate::gpu::{GpuError, capture_errors};
use crate::render::image::RgbaImage;
use crate::render::labels::{LabelTexture, label_lut};
use crate::render::window::{Lut, Window};

const WORKGROUP: u32 = 8;
/// Most slab samples per pixel (bounds GPU time for absurd thicknesses).
pub const MAX_SLAB_SAMPLES: u32 = 1024;
/// Crosshair colour (RGB): orange, unlike any default label colour.
pub const CROSSHAIR_RGB: [u8; 3] = [255, 128, 0];

/// How samples across the slab combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SlabMode {
    #[default]
    Mip,
    MinIp,
    Mean,
}

impl SlabMode {
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "mip" | "max" => Some(SlabMode::Mip),
            "minip" | "min" => Some(SlabMode::MinIp),
            "mean" | "avg" | "average" => Some(SlabMode::Mean),
            _ => None,
        }
    }

    fn code(self) -> u32 {
        match self {
            SlabMode::Mip => 0,
            SlabMode::MinIp => 1,
            SlabMode::Mean => 2,
        }
    }
}

/// How labels are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LabelMode {
    #[default]
    Off,
    Fill,
    /// Only label pixels with a differently labelled 4-neighbour (on screen).
    Outline,
}

impl LabelMode {
    fn code(self) -> u32 {
        match self {
            LabelMode::Off => 0,
            LabelMode::Fill => 1,
            LabelMode::Outline => 2,
        }
    }
}

/// Everything that determines one slice image.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceParams {
    pub geometry: SliceGeometry,
    pub window: Window,
    pub lut: Lut,
    /// Slab thickness in mm; 0 = a single plane.
    pub slab_mm: f64,
    pub slab_mode: SlabMode,
    pub label_mode: LabelMode,
    /// Label opacity 0..=1 (alpha of [`label_lut`]).
    pub label_opacity: f32,
    /// Per-label colours and opacities (256 packed RGBA8, see
    /// [`crate::render::labels::label_lut_for`]); `None` uses the default
    /// colours at `label_opacity`.
    pub label_colors: Option<Vec<u32>>,
    /// RAS point (mm) whose projection gets a 1-pixel crosshair.
    pub crosshair_ras: Option<DVec3>,
}

impl SliceParams {
    pub fn new(geometry: SliceGeometry, window: Window) -> Self {
        SliceParams {
            geometry,
            window,
            lut: Lut::Grey,
            slab_mm: 0.0,
            slab_mode: SlabMode::Mip,
            label_mode: LabelMode::Off,
            label_opacity: 0.5,
            label_colors: None,
            crosshair_ras: None,
        }
    }

    /// Samples across the slab: thickness / normal voxel spacing, rounded, at least 1.
    /// They are spaced one normal voxel spacing apart, centred on the plane.
    pub fn slab_samples(&self) -> u32 {
        let step = self.geometry.normal_step_mm;
        if self.slab_mm.is_nan() || self.slab_mm <= 0.0 || step.is_nan() || step <= 0.0 {
            return 1;
        }
        ((self.slab_mm / step).round() as u32).clamp(1, MAX_SLAB_SAMPLES)
    }

    /// Crosshair column and row (nearest pixel), -1 when absent or off screen.
    pub fn crosshair_pixel(&self) -> [i32; 2] {
        let Some(p) = self.crosshair_ras else {
            return [-1, -1];
        };
        let (x, y) = self.geometry.ras_to_pixel(p);
        let to_px = |v: f64, n: u32| {
            let r = v.round();
            if r >= 0.0 && r < n as f64 {
                r as i32
            } else {
                -1
            }
        };
        [
            to_px(x, self.geometry.size[0]),
            to_px(y, self.geometry.size[1]),
        ]
    }

    /// The label colour table the pass uses (256 packed RGBA8).
    pub fn label_table(&self) -> Vec<u32> {
        match &self.label_colors {
            Some(t) if t.len() == 256 => t.clone(),
            _ => label_lut(self.label_opacity),
        }
    }

    /// The 512-entry LUT buffer: colour LUT then label colours.
    fn luts(&self) -> Vec<u32> {
        let mut v = self.lut.table();
        v.extend(self.label_table());
        v
    }

    /// `overlay_alpha`: the fusion overlay's opacity 0..=255 (opaque passes ignore it).
    fn uniforms(&self, overlay_alpha: u32) -> MprUniforms {
        let m = self.geometry.voxel_from_pixel().as_mat4();
        let (window_lo, window_scale) = self.window.gpu_params();
        let [r, g, b] = CROSSHAIR_RGB;
        let s = self.geometry.volume_shape;
        MprUniforms {
            voxel_from_pixel: m.to_cols_array_2d(),
            shape: [s[0] as i32, s[1] as i32, s[2] as i32, 0],
            out_size: self.geometry.size,
            slab_samples: self.slab_samples(),
            slab_mode: self.slab_mode.code(),
            slab_step_mm: self.geometry.normal_step_mm as f32,
            window_lo,
            window_scale,
            label_mode: self.label_mode.code(),
            crosshair: self.crosshair_pixel(),
            crosshair_rgba: u32::from_le_bytes([r, g, b, 255]),
            overlay_alpha,
        }
    }
}

/// Keep in sync with `Params` in shaders/mpr.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct MprUniforms {
    voxel_from_pixel: [[f32; 4]; 4],
    shape: [i32; 4],
    out_size: [u32; 2],
    slab_samples: u32,
    slab_mode: u32,
    slab_step_mm: f32,
    window_lo: f32,
    window_scale: f32,
    label_mode: u32,
    crosshair: [i32; 2],
    crosshair_rgba: u32,
    overlay_alpha: u32,
}
const _: () = assert!(std::mem::size_of::<MprUniforms>() == 128);

/// Output texture format of the pass.
pub const OUTPUT_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// The MPR compute pass: pipelines and layout built once, reused every frame.
pub struct MprRenderer {
    i16: Variant,
    f32: Variant,
    u8_pair: Variant,
    /// Built from the OVERLAY variants: writes a fusion overlay (straight RGB
    /// and alpha) instead of an opaque slice.
    overlay: bool,
}

/// Fusion overlay opacity 0..=1 as the shader's 0..=255 (round to nearest).
pub fn overlay_alpha(opacity: f32) -> u32 {
    (opacity.clamp(0.0, 1.0) * 255.0).round() as u32
}

/// One pipeline per volume texture format (the sample type is part of the layout).
struct Variant {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

/// mpr.wgsl for volume textures of `format`; `overlay` for the fusion overlay.
pub(crate) fn shader_variant(format: VolumeFormat, overlay: bool) -> ShaderVariant {
    ShaderVariant::new(Shader::Mpr)
        .with("FORMAT", format_def(format))
        .with("OVERLAY", overlay)
}

/// Every variant of mpr.wgsl the renderers build.
pub(crate) fn shader_variants() -> impl Iterator<Item = ShaderVariant> {
    [false, true]
        .into_iter()
        .flat_map(|overlay| FORMATS.into_iter().map(move |f| shader_variant(f, overlay)))
}

impl MprRenderer {
    /// The opaque slice pass (grey image, labels, crosshair).
    pub fn new(device: &wgpu::Device) -> Result<Self, GpuError> {
        Self::build(device, false)
    }

    /// The fusion overlay pass: a second image's slice through a plane of the
    /// first, coloured by its LUT, with alpha (see [`render_cpu_overlay`]).
    pub fn new_overlay(device: &wgpu::Device) -> Result<Self, GpuError> {
        Self::build(device, true)
    }

    /// True for a renderer made by [`MprRenderer::new_overlay`].
    pub fn is_overlay(&self) -> bool {
        self.overlay
    }

    fn build(device: &wgpu::Device, overlay: bool) -> Result<Self, GpuError> {
        let [i16_src, f32_src, u8_pair_src] =
            [VolumeFormat::I16, VolumeFormat::F32, VolumeFormat::U8Pair]
                .map(|format| shader_variant(format, overlay).source());
        let kind = if overlay { "overlay_" } else { "" };
        let (i16_src, f32_src, u8_pair_src) = (i16_src?, f32_src?, u8_pair_src?);
        let (made, err) = capture_errors(device, || {
            let variant = |name: &str, sample_type, source: String| {
                let layout =
                    bind_group_layout(device, &format!("mpr::{kind}{name}_layout"), sample_type);
                let pipeline_layout =
                    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(&format!("mpr::{kind}{name}_pipeline_layout")),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
                let label = format!("mpr::pipeline_{kind}{name}");
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&label),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                });
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&label),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                });
                Variant { layout, pipeline }
            };
            MprRenderer {
                i16: variant("i16", wgpu::TextureSampleType::Sint, i16_src),
                f32: variant(
                    "f32",
                    wgpu::TextureSampleType::Float { filterable: false },
                    f32_src,
                ),
                // U8Pair: the voxel itself is x, as for the others.
                u8_pair: variant("u8pair", wgpu::TextureSampleType::Uint, u8_pair_src),
                overlay,
            }
        });
        match err {
            Some(e) => Err(GpuError::Upload(format!(
                "creating the MPR pipelines failed: {e}"
            ))),
            None => Ok(made),
        }
    }

    /// Records the slice into `encoder`, writing `target` (an `rgba8unorm` 2-D texture
    /// with STORAGE_BINDING, at least `params.geometry.size`). Pass
    /// [`LabelTexture::empty`] when there is no mask. An overlay renderer draws
    /// at full opacity; see [`MprRenderer::encode_overlay`].
    pub fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        volume: &VolumeTexture,
        labels: &LabelTexture,
        params: &SliceParams,
        target: &wgpu::TextureView,
    ) -> Result<(), GpuError> {
        self.encode_with_alpha(device, encoder, volume, labels, params, 255, target)
    }

    /// Records a fusion overlay at `opacity` (0..=1) with an overlay renderer.
    /// `params.geometry` maps the first image's plane into this volume's voxels
    /// (its `ras_from_voxel` is first-image RAS from this volume's voxel; see
    /// [`SliceGeometry::through_transform`]). The overlay draws no labels:
    /// `labels` only fills the layout's slot ([`LabelTexture::empty`]).
    #[allow(clippy::too_many_arguments)]
    pub fn encode_overlay(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        volume: &VolumeTexture,
        labels: &LabelTexture,
        params: &SliceParams,
        opacity: f32,
        target: &wgpu::TextureView,
    ) -> Result<(), GpuError> {
        if !self.overlay {
            return Err(GpuError::Upload(
                "encode_overlay needs a renderer made by MprRenderer::new_overlay".into(),
            ));
        }
        let params = SliceParams {
            label_mode: LabelMode::Off,
            ..params.clone()
        };
        let alpha = overlay_alpha(opacity);
        self.encode_with_alpha(device, encoder, volume, labels, &params, alpha, target)
    }

    #[allow(clippy::too_many_arguments)]
    fn encode_with_alpha(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        volume: &VolumeTexture,
        labels: &LabelTexture,
        params: &SliceParams,
        overlay_alpha: u32,
        target: &wgpu::TextureView,
    ) -> Result<(), GpuError> {
        let shape = params.geometry.volume_shape.map(|n| n as u32);
        if shape != volume.shape {
            return Err(GpuError::Upload(format!(
                "slice geometry is for a {shape:?} grid but the volume texture is {:?}",
                volume.shape
            )));
        }
        if params.label_mode != LabelMode::Off && labels.shape != volume.shape {
            return Err(GpuError::Upload(format!(
                "label texture {:?} is not on the volume grid {:?}",
                labels.shape, volume.shape
            )));
        }
        let uniforms = params.uniforms(overlay_alpha);
        let uniform_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mpr::uniforms"),
            contents: bytemuck::bytes_of(&uniforms),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let lut_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mpr::luts"),
            contents: bytemuck::cast_slice(&params.luts()),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let variant = match volume.format {
            VolumeFormat::I16 => &self.i16,
            VolumeFormat::F32 => &self.f32,
            VolumeFormat::U8Pair => &self.u8_pair,
        };
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mpr::bind_group"),
            layout: &variant.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&volume.view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&labels.view),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: lut_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: wgpu::BindingResource::TextureView(target),
                },
            ],
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("mpr::pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&variant.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let [w, h] = params.geometry.size;
        pass.dispatch_workgroups(w.div_ceil(WORKGROUP), h.div_ceil(WORKGROUP), 1);
        Ok(())
    }

    /// Allocates the output texture, renders the slice, waits and reads it back.
    pub fn render_to_image(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &VolumeTexture,
        labels: &LabelTexture,
        params: &SliceParams,
    ) -> Result<RgbaImage, GpuError> {
        self.render_image(device, queue, volume, labels, params, None)
    }

    /// [`MprRenderer::encode_overlay`] into a new texture, read back (tests):
    /// straight RGB with the overlay's alpha.
    pub fn render_overlay_to_image(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &VolumeTexture,
        params: &SliceParams,
        opacity: f32,
    ) -> Result<RgbaImage, GpuError> {
        let labels = LabelTexture::empty(device, queue)?;
        self.render_image(device, queue, volume, &labels, params, Some(opacity))
    }

    fn render_image(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &VolumeTexture,
        labels: &LabelTexture,
        params: &SliceParams,
        overlay_opacity: Option<f32>,
    ) -> Result<RgbaImage, GpuError> {
        let [w, h] = params.geometry.size;
        let (target, err) = capture_errors(device, || {
            let texture = create_output_texture(device, w, h);
            let view = texture.create_view(&wgpu::TextureViewDescriptor {
                label: Some("mpr::output_view"),
                ..Default::default()
            });
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("mpr::encoder"),
            });
            let recorded = match overlay_opacity {
                None => self.encode(device, &mut encoder, volume, labels, params, &view),
                Some(opacity) => self.encode_overlay(
                    device,
                    &mut encoder,
                    volume,
                    labels,
                    params,
                    opacity,
                    &view,
                ),
            };
            recorded.map(|()| {
                queue.submit([encoder.finish()]);
                texture
            })
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("MPR slice {w}x{h} failed: {e}")));
        }
        let texture = target?;
        let bytes = read_texture_3d(device, queue, &texture)?;
        RgbaImage::from_rgba_bytes(w, h, &bytes).ok_or_else(|| {
            GpuError::Readback(format!(
                "slice readback has {} bytes for {w}x{h}",
                bytes.len()
            ))
        })
    }
}

/// An output texture usable by [`MprRenderer::encode`] and for display/readback.
pub fn create_output_texture(device: &wgpu::Device, width: u32, height: u32) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some("mpr::output"),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: OUTPUT_FORMAT,
        usage: wgpu::TextureUsages::STORAGE_BINDING
            | wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    })
}

fn bind_group_layout(
    device: &wgpu::Device,
    label: &str,
    volume_sample_type: wgpu::TextureSampleType,
) -> wgpu::BindGroupLayout {
    let compute = wgpu::ShaderStages::COMPUTE;
    let texture = |binding, sample_type| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: compute,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension: wgpu::TextureViewDimension::D3,
            multisampled: false,
        },
        count: None,
    };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: compute,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: wgpu::BufferSize::new(
                        std::mem::size_of::<MprUniforms>() as u64
                    ),
                },
                count: None,
            },
            texture(1, volume_sample_type),
            texture(2, wgpu::TextureSampleType::Uint),
            wgpu::BindGroupLayoutEntry {
                binding: 3,
                visibility: compute,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only: true },
                    has_dynamic_offset: false,
                    min_binding_size: wgpu::BufferSize::new(512 * 4),
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 4,
                visibility: compute,
                ty: wgpu::BindingType::StorageTexture {
                    access: wgpu::StorageTextureAccess::WriteOnly,
                    format: OUTPUT_FORMAT,
                    view_dimension: wgpu::TextureViewDimension::D2,
                },
                count: None,
            },
        ],
    })
}
