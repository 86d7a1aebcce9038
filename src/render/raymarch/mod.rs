//! Raymarched 3-D rendering: MIP, MinIP, average, shaded DVR and isosurface
//! (shaders/raymarch.wgsl), with a min/max brick grid for empty-space skipping
//! (shaders/brick_minmax.wgsl).
//!
//! Usage: [`Raymarcher::new`] once per device (creates every pipeline), then
//! [`Raymarcher::prepare_volume`] once per volume (uploads, brick grid), then
//! [`Raymarcher::encode`] per frame into the caller's encoder, or
//! [`Raymarcher::render_to_image`]. View conventions: see [`camera`].
//!
//! Output: an `rgba8unorm` image, RGB composited over black, alpha 255.
//! The clip box is given in voxel indices (inclusive voxel-centre ranges).
//!
//! With a [`SurfaceLayer`] (label surfaces drawn first by
//! [`crate::render::surfaces`]), each ray stops at its pixel's nearest surface,
//! composites the layer there and goes on behind it: the volume in front of a
//! surface is composited over it.

pub mod bricks;
pub mod camera;
mod params;
mod pipelines;
pub mod reference;
pub mod transfer;

use std::sync::OnceLock;

use glam::DMat4;

use crate::gpu::readback::read_texture_3d;
use crate::gpu::volume_texture::{VolumeFormat, VolumeTexture};
use crate::gpu::{GpuError, capture_errors};
use crate::render::image::RgbaImage;
use crate::render::labels::{LabelTexture, label_lut};
use crate::volume::Volume;

pub use bricks::BrickLayout;
pub use camera::{Camera, RayFrame, StandardView};
pub use params::RaymarchParams;
pub(crate) use pipelines::shader_variants;
use pipelines::{PipelineKey, Variant, make_variant};
pub use transfer::{TransferFunction, TransferPreset};

/// Pixels drawn by one workgroup of raymarch.wgsl's main (32 invocations): 4 × 8
/// blocks for DVR and isosurfaces, rows of 32 for projections (see `TILED` there).
fn raymarch_tile(mode: RenderMode) -> [u32; 2] {
    match mode {
        RenderMode::Dvr | RenderMode::Iso => [4, 8],
        RenderMode::Mip | RenderMode::MinIp | RenderMode::Average => [32, 1],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderMode {
    Mip,
    MinIp,
    Average,
    Dvr,
    Iso,
}

/// A clip box in voxel indices, inclusive (voxel centres `min..=max` are kept).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipBox {
    pub min: [f64; 3],
    pub max: [f64; 3],
}

/// Everything about a frame except the camera.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderSettings {
    pub mode: RenderMode,
    /// (centre, width) for MIP/MinIP/average; `None` = the volume's [min, max].
    pub window: Option<(f64, f64)>,
    pub transfer: TransferFunction,
    /// Isosurface value.
    pub threshold: f64,
    pub clip_vox: Option<ClipBox>,
    /// Label opacity per smallest-voxel-spacing step.
    pub label_opacity: f32,
    /// Per-label colours in the packing of [`label_lut`] (the app's label set:
    /// own colours, hidden labels transparent); `None` = default colours at
    /// `label_opacity`.
    pub label_colors: Option<Vec<u32>>,
    /// Samples per voxel along the ray for DVR and isosurface (1 makes axis-aligned
    /// samples hit voxel centres). MIP/MinIP/average always take one sample per voxel
    /// plane of the ray's major axis (see raymarch.wgsl) and ignore this and `jitter`.
    pub samples_per_voxel: f32,
    /// Per-pixel random ray start (against wood-grain) for DVR and isosurface; off for
    /// exact, repeatable images.
    pub jitter: bool,
    pub empty_space_skipping: bool,
    pub early_termination: bool,
    /// DVR of orthographic rays parallel to a voxel axis (standard views of
    /// axis-aligned volumes) by column rays: each voxel plane's value and gradient
    /// fetched once per ray. Off draws them like any ray (for comparisons).
    pub column_rays: bool,
    /// Draw the bound label texture. `false` (nothing labelled or every label
    /// hidden) draws the image alone, without a label fetch per sample, and lets
    /// standard-view DVR use column rays.
    pub draw_labels: bool,
}

impl RenderSettings {
    /// Defaults for `mode`: 1 sample per voxel for projections, 2 for DVR/iso.
    pub fn new(mode: RenderMode) -> Self {
        let dvr_like = matches!(mode, RenderMode::Dvr | RenderMode::Iso);
        RenderSettings {
            mode,
            window: None,
            transfer: TransferPreset::CtBone.build((0.0, 1.0)),
            threshold: 300.0,
            clip_vox: None,
            label_opacity: 0.5,
            label_colors: None,
            samples_per_voxel: if dvr_like { 2.0 } else { 1.0 },
            jitter: dvr_like,
            empty_space_skipping: true,
            early_termination: true,
            column_rays: true,
            draw_labels: true,
        }
    }
}

/// An `rgba8unorm` image the pass writes (storage) and others may sample or copy.
pub struct RenderTarget {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    pub width: u32,
    pub height: u32,
}

impl RenderTarget {
    pub fn new(device: &wgpu::Device, width: u32, height: u32) -> Result<Self, GpuError> {
        let (texture, err) = capture_errors(device, || {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some("raymarch::target"),
                size: wgpu::Extent3d {
                    width: width.max(1),
                    height: height.max(1),
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba8Unorm,
                usage: wgpu::TextureUsages::STORAGE_BINDING
                    | wgpu::TextureUsages::TEXTURE_BINDING
                    | wgpu::TextureUsages::COPY_SRC,
                view_formats: &[],
            })
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!(
                "render target {width}x{height}: {e}"
            )));
        }
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            label: Some("raymarch::target_view"),
            ..Default::default()
        });
        Ok(RenderTarget {
            texture,
            view,
            width: width.max(1),
            height: height.max(1),
        })
    }
}

/// Label surfaces drawn before the raymarch, on the frame's pixel grid: the
/// premultiplied colour of the surfaces (`rgba16float`) and the ray distance (mm,
/// as [`RayFrame::ray_t_mm`]) of each pixel's nearest surface (`r32float`, far
/// beyond the volume where there is none).
pub struct SurfaceLayer<'a> {
    pub rgba: &'a wgpu::TextureView,
    pub ray_t_mm: &'a wgpu::TextureView,
    pub size: [u32; 2],
}

/// Per-volume GPU resources: image and label textures, brick grid, frame buffers.
pub struct PreparedVolume {
    pub image: VolumeTexture,
    pub labels: LabelTexture,
    pub has_labels: bool,
    /// The brick grid per [`BrickLayout`], each built when first drawn.
    bricks: [OnceLock<bricks::BrickTexture>; BrickLayout::COUNT],
    pub shape: [u32; 3],
    pub ras_from_voxel: DMat4,
    pub spacing_mm: [f64; 3],
    pub value_range: (f64, f64),
    params_buf: wgpu::Buffer,
    tf_buf: wgpu::Buffer,
    label_lut_buf: wgpu::Buffer,
}

/// Raymarching pipelines, one set per volume texture format, each created once
/// on first use.
pub struct Raymarcher {
    i16: OnceLock<Variant>,
    f32: OnceLock<Variant>,
    u8_pair: OnceLock<Variant>,
    /// 1x1 stand-ins bound as the surface layer of frames without one.
    no_surface_rgba: wgpu::TextureView,
    no_surface_t: wgpu::TextureView,
}

/// Whether every orthographic ray of `frame` has j or k as its major voxel axis,
/// with a margin so that the shader's own per-ray choice could not differ.
fn i_axis_in_plane(volume: &PreparedVolume, frame: &RayFrame) -> bool {
    let d = voxel_direction(volume, frame);
    !frame.perspective && d.x < 0.999 * d.y.max(d.z)
}

/// The brick grid for `frame`: columns along the voxel axis its rays run along
/// (no ray drifts a tenth of a voxel across the volume), else cubes.
pub fn brick_layout(volume: &PreparedVolume, frame: &RayFrame) -> BrickLayout {
    let d = voxel_direction(volume, frame);
    let axis = if d.x >= d.y && d.x >= d.z {
        0
    } else if d.y >= d.z {
        1
    } else {
        2
    };
    let depth = f64::from(volume.shape.iter().copied().max().unwrap_or(1));
    let drift = (d.x + d.y + d.z - d.max_element()) / d.max_element().max(1e-12) * depth;
    if !frame.perspective && drift < 0.1 {
        BrickLayout::Column(axis)
    } else {
        BrickLayout::Cube
    }
}

/// |view direction| in voxel index space.
fn voxel_direction(volume: &PreparedVolume, frame: &RayFrame) -> glam::DVec3 {
    volume
        .ras_from_voxel
        .inverse()
        .transform_vector3(frame.forward_ras)
        .abs()
}

/// Whether `frame`'s rays are orthographic and parallel to a voxel axis (to 1e-9
/// of the major component: the shader takes the in-plane position as constant).
fn column_rays(volume: &PreparedVolume, frame: &RayFrame) -> bool {
    let d = voxel_direction(volume, frame);
    let major = d.max_element();
    let minor = d.x + d.y + d.z - major;
    !frame.perspective && major > 0.0 && minor <= 1e-9 * major
}

/// The pipeline that draws `frame` with `settings`.
fn pipeline_key(
    volume: &PreparedVolume,
    frame: &RayFrame,
    settings: &RenderSettings,
    surfaces: bool,
) -> PipelineKey {
    PipelineKey::new(
        volume.image.format,
        settings.mode,
        volume.has_labels && settings.draw_labels,
        i_axis_in_plane(volume, frame),
        settings.column_rays && column_rays(volume, frame),
        surfaces,
    )
}

/// Whether `frame` is drawn by the column-ray DVR pipeline with `settings`.
pub fn draws_column_rays(
    volume: &PreparedVolume,
    frame: &RayFrame,
    settings: &RenderSettings,
) -> bool {
    pipeline_key(volume, frame, settings, false).column()
}

impl PreparedVolume {
    /// The brick grid of `layout`, if a view has needed it.
    pub fn brick_grid(&self, layout: BrickLayout) -> Option<&bricks::BrickTexture> {
        self.bricks.get(layout.index())?.get()
    }

    /// GPU bytes of the brick grids built so far.
    pub fn brick_bytes(&self) -> u64 {
        self.bricks
            .iter()
            .filter_map(|b| b.get())
            .map(|b| b.gpu_bytes())
            .sum()
    }
}

impl Raymarcher {
    /// The pipeline sets; call once per device.
    pub fn new(device: &wgpu::Device) -> Result<Self, GpuError> {
        let placeholder = |label: &'static str, format: wgpu::TextureFormat| {
            device
                .create_texture(&wgpu::TextureDescriptor {
                    label: Some(label),
                    size: wgpu::Extent3d {
                        width: 1,
                        height: 1,
                        depth_or_array_layers: 1,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format,
                    usage: wgpu::TextureUsages::TEXTURE_BINDING,
                    view_formats: &[],
                })
                .create_view(&wgpu::TextureViewDescriptor {
                    label: Some(label),
                    ..Default::default()
                })
        };
        let ((no_surface_rgba, no_surface_t), err) = capture_errors(device, || {
            (
                placeholder(
                    "raymarch::no_surface_rgba",
                    wgpu::TextureFormat::Rgba16Float,
                ),
                placeholder("raymarch::no_surface_t", wgpu::TextureFormat::R32Float),
            )
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("raymarch placeholders: {e}")));
        }
        let raymarcher = Raymarcher {
            i16: OnceLock::new(),
            f32: OnceLock::new(),
            u8_pair: OnceLock::new(),
            no_surface_rgba,
            no_surface_t,
        };
        // The i16 layouts now (cheap, and a broken shader marker fails here); every
        // raymarch pipeline when first drawn with.
        raymarcher.variant(device, VolumeFormat::I16)?;
        Ok(raymarcher)
    }

    fn variant(&self, device: &wgpu::Device, format: VolumeFormat) -> Result<&Variant, GpuError> {
        let cell = match format {
            VolumeFormat::I16 => &self.i16,
            VolumeFormat::F32 => &self.f32,
            VolumeFormat::U8Pair => &self.u8_pair,
        };
        if let Some(v) = cell.get() {
            return Ok(v);
        }
        let _ = cell.set(make_variant(device, format)?);
        cell.get()
            .ok_or_else(|| GpuError::Upload(format!("raymarch {format:?} pipelines not kept")))
    }

    /// Builds every pipeline of every format now (tests: each specialisation must
    /// compile, not only those a test draws with).
    pub fn compile_all(&self, device: &wgpu::Device) -> Result<usize, GpuError> {
        let mut count = 0;
        for format in [VolumeFormat::I16, VolumeFormat::F32, VolumeFormat::U8Pair] {
            let variant = self.variant(device, format)?;
            count += variant.compile_all(device, format)?;
        }
        Ok(count)
    }

    /// Uploads `volume` (and `labels`, one u8 per voxel on the same grid, as from
    /// [`labels_on_grid`](crate::annotate::label_formats::labels_on_grid)) and computes the
    /// brick grid. Run again after editing labels.
    pub fn prepare_volume(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &Volume,
        labels: Option<&[u8]>,
    ) -> Result<PreparedVolume, GpuError> {
        self.prepare_volume_with(device, queue, volume, labels, wgpu::TextureUsages::empty())
    }

    /// As [`Self::prepare_volume`], giving the label texture `label_usage` too
    /// (`STORAGE_BINDING` when a brush writes it in place).
    pub fn prepare_volume_with(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &Volume,
        labels: Option<&[u8]>,
        label_usage: wgpu::TextureUsages,
    ) -> Result<PreparedVolume, GpuError> {
        let image = VolumeTexture::upload(device, queue, volume)?;
        let (labels_tex, has_labels) = match labels {
            Some(l) => (
                LabelTexture::upload_with_usage(device, queue, l, volume.shape, label_usage)?,
                true,
            ),
            None => (LabelTexture::empty(device, queue)?, false),
        };
        // Fail now, not at the first frame, if the brick pipeline does not build.
        self.variant(device, image.format)?;
        let buffer = |label: &'static str, size: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: usage | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let uniform = wgpu::BufferUsages::UNIFORM;
        let ((params_buf, tf_buf, label_lut_buf), err) = capture_errors(device, || {
            (
                buffer(
                    "raymarch::params",
                    std::mem::size_of::<RaymarchParams>() as u64,
                    uniform,
                ),
                // Uniform, not storage: llvmpipe gathers uniform reads across lanes
                // but reads storage buffers lane by lane.
                buffer("raymarch::transfer_function", TF_BUFFER_BYTES, uniform),
                buffer("raymarch::label_lut", 256 * 4, uniform),
            )
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("raymarch buffers: {e}")));
        }
        Ok(PreparedVolume {
            shape: image.shape,
            image,
            labels: labels_tex,
            has_labels,
            bricks: Default::default(),
            ras_from_voxel: volume.ras_from_voxel,
            spacing_mm: volume.spacing_mm,
            value_range: volume.value_range(),
            params_buf,
            tf_buf,
            label_lut_buf,
        })
    }

    /// Recomputes the brick grids built so far from the textures as they are now
    /// (after labels were edited on the GPU); nothing is uploaded.
    pub fn refresh_bricks(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        prepared: &mut PreparedVolume,
    ) -> Result<(), GpuError> {
        for layout in [0, 1, 2]
            .map(BrickLayout::Column)
            .into_iter()
            .chain([BrickLayout::Cube])
        {
            if prepared.bricks[layout.index()].take().is_some() {
                self.bricks(device, queue, prepared, layout)?;
            }
        }
        Ok(())
    }

    /// The brick grid of `layout`, built on first use.
    fn bricks<'a>(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        prepared: &'a PreparedVolume,
        layout: BrickLayout,
    ) -> Result<&'a bricks::BrickTexture, GpuError> {
        let cell = &prepared.bricks[layout.index()];
        if let Some(b) = cell.get() {
            return Ok(b);
        }
        let built = bricks::compute_bricks(
            device,
            queue,
            &self.variant(device, prepared.image.format)?.bricks,
            prepared,
            layout,
        )?;
        let _ = cell.set(built);
        cell.get()
            .ok_or_else(|| GpuError::Upload("brick grid not kept".into()))
    }

    /// Records the raymarching pass into `encoder`, writing `target` (whose size must
    /// match `frame`'s). Uniforms are written through `queue` and take effect at the
    /// next submit, so record one frame per `PreparedVolume` per submit.
    // Device, queue and encoder come from the caller (the egui app has its own).
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        volume: &PreparedVolume,
        target: &RenderTarget,
        frame: &RayFrame,
        settings: &RenderSettings,
    ) -> Result<(), GpuError> {
        self.encode_with_surfaces(
            device, queue, encoder, volume, target, frame, settings, None,
        )
    }

    /// [`Self::encode`] with the label surfaces of this frame drawn first (their
    /// layer's size must match `frame`'s).
    #[allow(clippy::too_many_arguments)]
    pub fn encode_with_surfaces(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        volume: &PreparedVolume,
        target: &RenderTarget,
        frame: &RayFrame,
        settings: &RenderSettings,
        surfaces: Option<&SurfaceLayer>,
    ) -> Result<(), GpuError> {
        if (frame.width, frame.height) != (target.width, target.height) {
            return Err(GpuError::Upload(format!(
                "ray frame {}x{} does not match the target {}x{}",
                frame.width, frame.height, target.width, target.height
            )));
        }
        if let Some(layer) = surfaces
            && layer.size != [frame.width, frame.height]
        {
            return Err(GpuError::Upload(format!(
                "surface layer {:?} does not match the ray frame {}x{}",
                layer.size, frame.width, frame.height
            )));
        }
        let (surface_rgba, surface_t) = match surfaces {
            Some(layer) => (layer.rgba, layer.ray_t_mm),
            None => (&self.no_surface_rgba, &self.no_surface_t),
        };
        let params = RaymarchParams::new(volume, frame, settings);
        let bricks = self.bricks(device, queue, volume, brick_layout(volume, frame))?;
        queue.write_buffer(&volume.params_buf, 0, bytemuck::bytes_of(&params));
        let alpha_exponent = f64::from(params.dvr_step_mm / params.ref_step_mm);
        queue.write_buffer(
            &volume.tf_buf,
            0,
            &tf_bytes(&settings.transfer, alpha_exponent),
        );
        let lut = match &settings.label_colors {
            Some(colors) if colors.len() == 256 => colors.clone(),
            _ => label_lut(settings.label_opacity),
        };
        queue.write_buffer(&volume.label_lut_buf, 0, bytemuck::cast_slice(&lut));
        let variant = self.variant(device, volume.image.format)?;
        let key = pipeline_key(volume, frame, settings, surfaces.is_some());
        let pipeline = variant.raymarch(device, key)?;
        let ((), err) = capture_errors(device, || {
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("raymarch::bind_group"),
                layout: &variant.raymarch_layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: volume.params_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&volume.image.view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(&volume.labels.view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: wgpu::BindingResource::TextureView(&bricks.view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 4,
                        resource: volume.tf_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 5,
                        resource: volume.label_lut_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 6,
                        resource: wgpu::BindingResource::TextureView(&target.view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 7,
                        resource: wgpu::BindingResource::TextureView(surface_rgba),
                    },
                    wgpu::BindGroupEntry {
                        binding: 8,
                        resource: wgpu::BindingResource::TextureView(surface_t),
                    },
                ],
            });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("raymarch::pass"),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            let tile = raymarch_tile(settings.mode);
            pass.dispatch_workgroups(
                frame.width.div_ceil(tile[0]),
                frame.height.div_ceil(tile[1]),
                1,
            );
        });
        match err {
            Some(e) => Err(GpuError::Upload(format!("raymarch pass: {e}"))),
            None => Ok(()),
        }
    }

    /// Renders one frame and reads it back (blocking).
    pub fn render_to_image(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &PreparedVolume,
        frame: &RayFrame,
        settings: &RenderSettings,
    ) -> Result<RgbaImage, GpuError> {
        self.render_to_image_with_surfaces(device, queue, volume, frame, settings, None)
    }

    /// [`Self::render_to_image`] over a surface layer already drawn.
    pub fn render_to_image_with_surfaces(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &PreparedVolume,
        frame: &RayFrame,
        settings: &RenderSettings,
        surfaces: Option<&SurfaceLayer>,
    ) -> Result<RgbaImage, GpuError> {
        let target = RenderTarget::new(device, frame.width, frame.height)?;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("raymarch::encoder"),
        });
        self.encode_with_surfaces(
            device,
            queue,
            &mut encoder,
            volume,
            &target,
            frame,
            settings,
            surfaces,
        )?;
        queue.submit([encoder.finish()]);
        let bytes = read_texture_3d(device, queue, &target.texture)?;
        RgbaImage::from_rgba_bytes(target.width, target.height, &bytes)
            .ok_or_else(|| GpuError::Readback("render target size mismatch".into()))
    }
}

/// Bytes of `TransferFunction` in raymarch.wgsl: 256 segments (vec4<u32>) + 260 u32.
const TF_BUFFER_BYTES: u64 = 256 * 16 + 260 * 4;

/// The TF uniform block, opacities corrected from the reference step to one
/// `alpha_exponent` times as long (the same opacity per mm). Segment i holds
/// entries i and i + 1, each as RGB8 and alpha (f32 bits), so that a lookup
/// reads one vec4 (llvmpipe gathers each component of a per-lane uniform read).
fn tf_bytes(tf: &TransferFunction, alpha_exponent: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(TF_BUFFER_BYTES as usize);
    let entry = |i: usize| {
        let c = tf.rgba.get(i).copied().unwrap_or([0.0; 4]);
        let a = transfer::corrected_alpha(c[3], alpha_exponent);
        [transfer::pack_rgb8([c[0], c[1], c[2]]), a.to_bits()]
    };
    for i in 0..transfer::TF_ENTRIES {
        let next = (i + 1).min(transfer::TF_ENTRIES - 1);
        let [rgb0, a0] = entry(i);
        let [rgb1, a1] = entry(next);
        out.extend_from_slice(bytemuck::cast_slice(&[rgb0, a0, rgb1, a1]));
    }
    let mut prefix = tf.nonzero_prefix();
    prefix.resize(260, *prefix.last().unwrap_or(&0));
    out.extend_from_slice(bytemuck::cast_slice(&prefix));
    out
}
