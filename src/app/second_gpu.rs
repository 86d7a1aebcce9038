//! GPU side of the second image: its slices beside the first's (side by side)
//! and its fusion overlay on the first's slices. As in `gpu_callback`, the
//! compute passes are recorded in `prepare` into one offscreen texture per
//! pane; `paint` only draws that texture (the overlay alpha-blended over the
//! first image's slice, which its own callback drew just before).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::gpu_callback::{BLIT_WGSL, GpuStats, ViewKind};
use crate::gpu::volume_texture::VolumeTexture;
use crate::render::labels::LabelTexture;
use crate::render::mpr::{MprRenderer, SliceParams, create_output_texture};
use crate::volume::Volume;

/// What one pane of the second image shows.
#[derive(Clone, Debug, PartialEq)]
pub enum SecondJob {
    /// Its own slice (own window, LUT, labels and linked crosshair).
    Slice(Box<SliceParams>),
    /// The fusion overlay on a slice of the first image; the geometry samples
    /// the second volume through the transform.
    Overlay {
        params: Box<SliceParams>,
        opacity: f32,
    },
}

impl SecondJob {
    fn params(&self) -> &SliceParams {
        match self {
            SecondJob::Slice(p) => p,
            SecondJob::Overlay { params, .. } => params,
        }
    }

    fn overlay(&self) -> bool {
        matches!(self, SecondJob::Overlay { .. })
    }
}

pub struct SecondCallback {
    /// The pane: the view it is drawn in (the second image's own pane uses the
    /// kind of its plane) and whether it is an overlay.
    pub pane: (ViewKind, bool),
    pub volume_id: u64,
    pub volume: Arc<Volume>,
    /// The second image's label map on its grid, if any.
    pub labels: Option<Arc<Vec<u8>>>,
    pub job: SecondJob,
    pub target_format: wgpu::TextureFormat,
    pub stats: Arc<GpuStats>,
}

struct Target {
    view: wgpu::TextureView,
    bind_group: wgpu::BindGroup,
    size: [u32; 2],
    last: Option<SecondJob>,
}

struct GpuSecond {
    id: u64,
    image: VolumeTexture,
    labels: LabelTexture,
}

/// Created once per device in `callback_resources`.
pub struct SecondGpuResources {
    opaque: MprRenderer,
    overlay: MprRenderer,
    /// Fills the overlay's label slot (it draws none).
    empty_labels: LabelTexture,
    volume: Option<GpuSecond>,
    targets: HashMap<(ViewKind, bool), Target>,
    blit_opaque: wgpu::RenderPipeline,
    blit_alpha: wgpu::RenderPipeline,
    blit_layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
}

impl SecondGpuResources {
    fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        format: wgpu::TextureFormat,
    ) -> Result<Self, String> {
        let opaque = MprRenderer::new(device).map_err(|e| e.to_string())?;
        let overlay = MprRenderer::new_overlay(device).map_err(|e| e.to_string())?;
        let empty_labels = LabelTexture::empty(device, queue).map_err(|e| e.to_string())?;
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("app::second_blit_shader"),
            source: wgpu::ShaderSource::Wgsl(BLIT_WGSL.into()),
        });
        let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty,
            count: None,
        };
        let blit_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("app::second_blit_layout"),
            entries: &[
                entry(
                    0,
                    wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                ),
                entry(
                    1,
                    wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                ),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("app::second_blit_pipeline_layout"),
            bind_group_layouts: &[Some(&blit_layout)],
            immediate_size: 0,
        });
        let pipeline = |label: &str, entry: &str, blend: Option<wgpu::BlendState>| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some(label),
                layout: Some(&pipeline_layout),
                vertex: wgpu::VertexState {
                    module: &shader,
                    entry_point: Some("vs_main"),
                    compilation_options: Default::default(),
                    buffers: &[],
                },
                fragment: Some(wgpu::FragmentState {
                    module: &shader,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    targets: &[Some(wgpu::ColorTargetState {
                        format,
                        blend,
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                }),
                primitive: wgpu::PrimitiveState::default(),
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                multiview_mask: None,
                cache: None,
            })
        };
        let srgb = format.is_srgb();
        let blit_opaque = pipeline(
            "app::second_blit_opaque",
            if srgb { "fs_srgb" } else { "fs_linear" },
            None,
        );
        // Straight alpha over the first image's slice.
        let blit_alpha = pipeline(
            "app::second_blit_overlay",
            if srgb {
                "fs_srgb_alpha"
            } else {
                "fs_linear_alpha"
            },
            Some(wgpu::BlendState::ALPHA_BLENDING),
        );
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("app::second_blit_sampler"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        Ok(SecondGpuResources {
            opaque,
            overlay,
            empty_labels,
            volume: None,
            targets: HashMap::new(),
            blit_opaque,
            blit_alpha,
            blit_layout,
            sampler,
        })
    }

    fn ensure_volume(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        cb: &SecondCallback,
    ) -> Result<(), String> {
        if self.volume.as_ref().is_some_and(|v| v.id == cb.volume_id) {
            return Ok(());
        }
        // Drop the old textures first to bound peak memory.
        self.volume = None;
        let image = VolumeTexture::upload(device, queue, &cb.volume).map_err(|e| e.to_string())?;
        let labels = match &cb.labels {
            Some(l) => LabelTexture::upload(device, queue, l, cb.volume.shape),
            None => LabelTexture::empty(device, queue),
        }
        .map_err(|e| e.to_string())?;
        self.volume = Some(GpuSecond {
            id: cb.volume_id,
            image,
            labels,
        });
        for t in self.targets.values_mut() {
            t.last = None;
        }
        Ok(())
    }

    fn ensure_target(&mut self, device: &wgpu::Device, pane: (ViewKind, bool), size: [u32; 2]) {
        if self.targets.get(&pane).is_some_and(|t| t.size == size) {
            return;
        }
        let texture = create_output_texture(device, size[0], size[1]);
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            label: Some("app::second_target"),
            ..Default::default()
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("app::second_blit_bind_group"),
            layout: &self.blit_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
            ],
        });
        self.targets.insert(
            pane,
            Target {
                view,
                bind_group,
                size,
                last: None,
            },
        );
    }

    fn encode(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        cb: &SecondCallback,
    ) -> Result<Option<wgpu::CommandBuffer>, String> {
        self.ensure_volume(device, queue, cb)?;
        self.ensure_target(device, cb.pane, cb.job.params().geometry.size);
        let (Some(gv), Some(target)) = (self.volume.as_ref(), self.targets.get_mut(&cb.pane))
        else {
            return Ok(None);
        };
        if target.last.as_ref() == Some(&cb.job) {
            return Ok(None);
        }
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("app::second_encoder"),
        });
        match &cb.job {
            SecondJob::Slice(params) => self.opaque.encode(
                device,
                &mut encoder,
                &gv.image,
                &gv.labels,
                params,
                &target.view,
            ),
            SecondJob::Overlay { params, opacity } => self.overlay.encode_overlay(
                device,
                &mut encoder,
                &gv.image,
                &self.empty_labels,
                params,
                *opacity,
                &target.view,
            ),
        }
        .map_err(|e| e.to_string())?;
        target.last = Some(cb.job.clone());
        Ok(Some(encoder.finish()))
    }
}

impl egui_wgpu::CallbackTrait for SecondCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen_descriptor: &egui_wgpu::ScreenDescriptor,
        _egui_encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if !resources.contains::<SecondGpuResources>() {
            match SecondGpuResources::new(device, queue, self.target_format) {
                Ok(r) => {
                    resources.insert(r);
                }
                Err(e) => {
                    self.report(format!("GPU setup for the second image failed: {e}"));
                    return Vec::new();
                }
            }
        }
        let Some(res) = resources.get_mut::<SecondGpuResources>() else {
            return Vec::new();
        };
        match res.encode(device, queue, self) {
            Ok(Some(cmd)) => {
                self.stats.frames_rendered.fetch_add(1, Ordering::Relaxed);
                vec![cmd]
            }
            Ok(None) => Vec::new(),
            Err(e) => {
                self.report(format!("second image, {} view: {e}", self.pane.0.name()));
                Vec::new()
            }
        }
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(res) = resources.get::<SecondGpuResources>() else {
            return;
        };
        let Some(target) = res.targets.get(&self.pane).filter(|t| t.last.is_some()) else {
            return;
        };
        let pipeline = if self.job.overlay() {
            &res.blit_alpha
        } else {
            &res.blit_opaque
        };
        render_pass.set_pipeline(pipeline);
        render_pass.set_bind_group(0, &target.bind_group, &[]);
        render_pass.draw(0..3, 0..1);
    }
}

impl SecondCallback {
    fn report(&self, message: String) {
        log::error!("{message}");
        if let Ok(mut slot) = self.stats.last_error.lock() {
            *slot = Some(message);
        }
    }
}
