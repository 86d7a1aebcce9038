//! GPU side of the viewports. Compute (MPR slices, raymarching) and the label
//! surfaces' passes are recorded in `CallbackTrait::prepare` into one offscreen
//! texture per view; `paint` only draws that texture as a quad. Renderers, the
//! uploaded volume, the surface meshes and the targets live in egui-wgpu's
//! `callback_resources`, created once and reused.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::gpu_edits::{SharedEdits, record_strokes};
use super::gpu_grow::SharedImage;
use super::surfaces::LabelSurface;
use crate::annotate::brush::Brush;
use crate::annotate::undo::VoxelBox;
use crate::render::labels::LabelTexture;
use crate::render::mpr::{MprRenderer, SliceParams, create_output_texture};
use crate::render::raymarch::{PreparedVolume, RayFrame, Raymarcher, RenderSettings, RenderTarget};
use crate::render::surfaces::{
    GpuSurfaceMesh, SurfaceClip, SurfaceDraw, SurfaceRenderer, SurfaceTargets,
};
use crate::volume::Volume;

/// Which of the four viewports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewKind {
    Axial,
    Coronal,
    Sagittal,
    Volume3d,
}

impl ViewKind {
    pub const ALL: [ViewKind; 4] = [
        ViewKind::Axial,
        ViewKind::Coronal,
        ViewKind::Sagittal,
        ViewKind::Volume3d,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Axial => "Axial",
            ViewKind::Coronal => "Coronal",
            ViewKind::Sagittal => "Sagittal",
            ViewKind::Volume3d => "3-D",
        }
    }
}

/// What one view should show; compared with the last job to skip unchanged frames.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewJob {
    Mpr(Box<SliceParams>),
    Volume3d {
        frame: RayFrame,
        settings: Box<RenderSettings>,
        /// Labels version the brick grid (empty-space skipping) must include.
        bricks_labels_version: u64,
        /// Label surfaces drawn before the raymarch (none: labels as voxels).
        surfaces: Vec<SurfaceItem>,
    },
}

/// One label surface of the 3-D view: which mesh, and its straight RGB and opacity.
#[derive(Clone, Debug, PartialEq)]
pub struct SurfaceItem {
    pub label: u8,
    /// [`LabelSurface::id`] of the mesh to draw.
    pub mesh_id: u64,
    pub rgba: [f32; 4],
}

impl ViewJob {
    fn size(&self) -> [u32; 2] {
        match self {
            ViewJob::Mpr(p) => p.geometry.size,
            ViewJob::Volume3d { frame, .. } => [frame.width, frame.height],
        }
    }
}

/// Labels to upload, shared with the UI without copying per frame: a whole
/// map (for a new texture, or after a load) and the boxes the CPU changed
/// since (undo, grow, CPU brush, previews), each uploaded once. GPU brush
/// strokes are already in the texture.
#[derive(Clone)]
pub struct LabelsUpload {
    /// Version of the newest change.
    pub version: u64,
    /// The whole displayed map as of `base_version`.
    pub base: Arc<Vec<u8>>,
    pub base_version: u64,
    /// Boxes changed after the base, oldest first (shared, never copied).
    pub patches: Arc<Vec<Arc<LabelPatch>>>,
}

/// The displayed labels of one box at one version.
pub struct LabelPatch {
    pub version: u64,
    pub region: VoxelBox,
    pub labels: Vec<u8>,
}

impl LabelsUpload {
    /// Brings a texture holding version `have` up to date.
    fn apply(&self, queue: &wgpu::Queue, texture: &LabelTexture, have: u64) -> Result<(), String> {
        let from = if have < self.base_version {
            write_labels(queue, texture, &self.base)?;
            self.base_version
        } else {
            have
        };
        for p in self.patches.iter().filter(|p| p.version > from) {
            write_box(queue, texture, &p.region, &p.labels)?;
        }
        Ok(())
    }
}

/// Counters the UI reads (screenshot waits for real content; debug overlay).
#[derive(Default)]
pub struct GpuStats {
    pub frames_rendered: AtomicU64,
    pub last_error: std::sync::Mutex<Option<String>>,
}

pub struct ViewCallback {
    pub kind: ViewKind,
    pub volume_id: u64,
    pub volume: Arc<Volume>,
    pub labels: LabelsUpload,
    /// Brush strokes to record into the label texture (GPU brush), if any.
    pub edits: Option<SharedEdits>,
    /// Where the image texture is published for the app's region growing.
    pub image_slot: Option<SharedImage>,
    pub job: ViewJob,
    /// The meshes the job's surfaces name, by label (uploaded when their id changes).
    pub surface_meshes: BTreeMap<u8, LabelSurface>,
    pub target_format: wgpu::TextureFormat,
    pub stats: Arc<GpuStats>,
}

struct GpuVolume {
    id: u64,
    prepared: PreparedVolume,
    labels_version: u64,
    bricks_labels_version: u64,
    /// Strokes recorded into the label texture (slice views redraw when it moves).
    strokes: u64,
}

struct ViewTarget {
    texture: wgpu::Texture,
    storage_view: wgpu::TextureView,
    bind_group: wgpu::BindGroup,
    size: [u32; 2],
    last: Option<(ViewJob, u64, u64)>,
}

/// Everything created once per device, stored in `callback_resources`.
pub struct GpuResources {
    mpr: MprRenderer,
    raymarcher: Raymarcher,
    blit_pipeline: wgpu::RenderPipeline,
    blit_layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    volume: Option<GpuVolume>,
    targets: HashMap<ViewKind, ViewTarget>,
    surfaces: SurfaceRenderer,
    /// Uploaded label surfaces: (mesh id, mesh; `None` if it has no triangles).
    surface_meshes: HashMap<u8, (u64, Option<GpuSurfaceMesh>)>,
    /// The 3-D view's surface layer (resized with its target).
    surface_targets: Option<SurfaceTargets>,
    /// Built on the first stroke; `Err` says why the GPU brush is unavailable.
    brush: Option<Result<Brush, String>>,
}

/// Draws a view's image as one triangle; the `_alpha` entry points keep the
/// image's alpha for blending (the fusion overlay, `app::second_gpu`).
pub(super) const BLIT_WGSL: &str = r#"
@group(0) @binding(0) var img: texture_2d<f32>;
@group(0) @binding(1) var samp: sampler;
struct VsOut { @builtin(position) pos: vec4<f32>, @location(0) uv: vec2<f32> };
@vertex fn vs_main(@builtin(vertex_index) i: u32) -> VsOut {
    // One triangle covering the viewport (egui sets it to the callback rect).
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    var out: VsOut;
    out.pos = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.uv = uv;
    return out;
}
@fragment fn fs_linear(in: VsOut) -> @location(0) vec4<f32> {
    return vec4<f32>(textureSample(img, samp, in.uv).rgb, 1.0);
}
// For sRGB targets: the rgba8unorm images hold display (sRGB-encoded) values.
@fragment fn fs_srgb(in: VsOut) -> @location(0) vec4<f32> {
    let c = textureSample(img, samp, in.uv).rgb;
    return vec4<f32>(pow(c, vec3<f32>(2.2)), 1.0);
}
@fragment fn fs_linear_alpha(in: VsOut) -> @location(0) vec4<f32> {
    return textureSample(img, samp, in.uv);
}
@fragment fn fs_srgb_alpha(in: VsOut) -> @location(0) vec4<f32> {
    let c = textureSample(img, samp, in.uv);
    return vec4<f32>(pow(c.rgb, vec3<f32>(2.2)), c.a);
}
"#;

impl GpuResources {
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Result<Self, String> {
        let mpr = MprRenderer::new(device).map_err(|e| e.to_string())?;
        let raymarcher = Raymarcher::new(device).map_err(|e| e.to_string())?;
        let surfaces = SurfaceRenderer::new(device).map_err(|e| e.to_string())?;
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("app::blit_shader"),
            source: wgpu::ShaderSource::Wgsl(BLIT_WGSL.into()),
        });
        let blit_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("app::blit_layout"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("app::blit_pipeline_layout"),
            bind_group_layouts: &[Some(&blit_layout)],
            immediate_size: 0,
        });
        let blit_pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("app::blit_pipeline"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some(if target_format.is_srgb() {
                    "fs_srgb"
                } else {
                    "fs_linear"
                }),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: target_format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("app::blit_sampler"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        Ok(GpuResources {
            mpr,
            raymarcher,
            blit_pipeline,
            blit_layout,
            sampler,
            volume: None,
            targets: HashMap::new(),
            surfaces,
            surface_meshes: HashMap::new(),
            surface_targets: None,
            brush: None,
        })
    }

    /// Uploads the volume (once per document) and the labels when their version changed.
    fn ensure_volume(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        cb: &ViewCallback,
    ) -> Result<(), String> {
        if self.volume.as_ref().map(|v| v.id) != Some(cb.volume_id) {
            // Drop the old volume's textures first to bound peak memory.
            self.volume = None;
            if let Some(slot) = &cb.image_slot
                && let Ok(mut s) = slot.lock()
            {
                *s = None;
            }
            // The GPU brush writes the label texture in place.
            let label_usage = if cb.edits.is_some() {
                wgpu::TextureUsages::STORAGE_BINDING
            } else {
                wgpu::TextureUsages::empty()
            };
            let prepared = self
                .raymarcher
                .prepare_volume_with(
                    device,
                    queue,
                    &cb.volume,
                    Some(&cb.labels.base),
                    label_usage,
                )
                .map_err(|e| e.to_string())?;
            if let Some(slot) = &cb.image_slot
                && let Ok(mut s) = slot.lock()
            {
                *s = Some((cb.volume_id, prepared.image.clone()));
            }
            cb.labels
                .apply(queue, &prepared.labels, cb.labels.base_version)?;
            self.volume = Some(GpuVolume {
                id: cb.volume_id,
                prepared,
                labels_version: cb.labels.version,
                bricks_labels_version: 0,
                strokes: 0,
            });
            for t in self.targets.values_mut() {
                t.last = None;
            }
        }
        let Some(gv) = self.volume.as_mut() else {
            return Ok(());
        };
        if gv.labels_version != cb.labels.version {
            cb.labels
                .apply(queue, &gv.prepared.labels, gv.labels_version)?;
            gv.labels_version = cb.labels.version;
        }
        // The brick grid (empty-space skipping) includes labels; it follows them
        // once edits pause, from the textures on the GPU (nothing re-uploaded).
        // Not in a frame that records strokes: those are submitted after it.
        let strokes_queued = cb
            .edits
            .as_ref()
            .and_then(|e| e.lock().ok().map(|q| q.has_queued()))
            .unwrap_or(false);
        if let ViewJob::Volume3d {
            bricks_labels_version,
            ..
        } = &cb.job
            && *bricks_labels_version != gv.bricks_labels_version
            && !strokes_queued
        {
            self.raymarcher
                .refresh_bricks(device, queue, &mut gv.prepared)
                .map_err(|e| e.to_string())?;
            gv.bricks_labels_version = *bricks_labels_version;
        }
        Ok(())
    }

    fn ensure_target(&mut self, device: &wgpu::Device, kind: ViewKind, size: [u32; 2]) {
        if self.targets.get(&kind).is_some_and(|t| t.size == size) {
            return;
        }
        let texture = create_output_texture(device, size[0], size[1]);
        let storage_view = texture.create_view(&wgpu::TextureViewDescriptor {
            label: Some("app::view_target"),
            ..Default::default()
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("app::blit_bind_group"),
            layout: &self.blit_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&storage_view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
            ],
        });
        self.targets.insert(
            kind,
            ViewTarget {
                texture,
                storage_view,
                bind_group,
                size,
                last: None,
            },
        );
    }

    /// Uploads the job's surface meshes whose id changed, drops those of labels
    /// without a mesh, and sizes the surface layer.
    fn ensure_surfaces(&mut self, device: &wgpu::Device, cb: &ViewCallback) -> Result<(), String> {
        let ViewJob::Volume3d { surfaces, .. } = &cb.job else {
            return Ok(());
        };
        if surfaces.is_empty() {
            return Ok(());
        }
        self.surface_meshes
            .retain(|label, _| cb.surface_meshes.contains_key(label));
        for item in surfaces {
            if self
                .surface_meshes
                .get(&item.label)
                .is_some_and(|(id, _)| *id == item.mesh_id)
            {
                continue;
            }
            let Some(surface) = cb
                .surface_meshes
                .get(&item.label)
                .filter(|s| s.id == item.mesh_id)
            else {
                return Err(format!("no mesh {} for label {}", item.mesh_id, item.label));
            };
            let name = format!("label_{}", item.label);
            let gpu = self
                .surfaces
                .upload(device, &surface.mesh, &name)
                .map_err(|e| e.to_string())?;
            self.surface_meshes.insert(item.label, (item.mesh_id, gpu));
        }
        let size = cb.job.size();
        if self.surface_targets.as_ref().is_none_or(|t| t.size != size) {
            self.surface_targets = None;
            self.surface_targets = Some(
                self.surfaces
                    .targets(device, size[0], size[1])
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }

    fn encode_view(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        cb: &ViewCallback,
    ) -> Result<Option<wgpu::CommandBuffer>, String> {
        self.ensure_volume(device, queue, cb)?;
        let size = cb.job.size();
        self.ensure_target(device, cb.kind, size);
        self.ensure_surfaces(device, cb)?;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("app::view_encoder"),
        });
        let recorded = self.record_strokes(device, &mut encoder, cb);
        let (Some(gv), Some(target)) = (self.volume.as_ref(), self.targets.get_mut(&cb.kind))
        else {
            return Ok(None);
        };
        // Slice views follow every stroke; the 3-D view follows the brick refresh.
        let strokes = match cb.job {
            ViewJob::Mpr(_) => gv.strokes,
            ViewJob::Volume3d { .. } => 0,
        };
        let key = (cb.job.clone(), gv.labels_version, strokes);
        if target.last.as_ref() == Some(&key) {
            return Ok((recorded > 0).then(|| encoder.finish()));
        }
        match &cb.job {
            ViewJob::Mpr(params) => self
                .mpr
                .encode(
                    device,
                    &mut encoder,
                    &gv.prepared.image,
                    &gv.prepared.labels,
                    params,
                    &target.storage_view,
                )
                .map_err(|e| e.to_string())?,
            ViewJob::Volume3d {
                frame,
                settings,
                surfaces,
                ..
            } => {
                // RenderTarget is the engine's wrapper; it borrows our texture's view.
                let rt = RenderTarget {
                    texture: target.texture.clone(),
                    view: target.storage_view.clone(),
                    width: size[0],
                    height: size[1],
                };
                let draws: Vec<SurfaceDraw> = surfaces
                    .iter()
                    .filter_map(|item| {
                        let (_, mesh) = self.surface_meshes.get(&item.label)?;
                        Some(SurfaceDraw {
                            mesh: mesh.as_ref()?,
                            rgba: item.rgba,
                        })
                    })
                    .collect();
                let layer = match self.surface_targets.as_mut() {
                    Some(targets) if !draws.is_empty() => {
                        let clip = settings
                            .clip_vox
                            .map(|c| SurfaceClip::new(&c, gv.prepared.ras_from_voxel));
                        self.surfaces
                            .encode(
                                device,
                                queue,
                                &mut encoder,
                                targets,
                                frame,
                                clip.as_ref(),
                                &draws,
                            )
                            .map_err(|e| e.to_string())?;
                        Some(targets.layer())
                    }
                    _ => None,
                };
                self.raymarcher
                    .encode_with_surfaces(
                        device,
                        queue,
                        &mut encoder,
                        &gv.prepared,
                        &rt,
                        frame,
                        settings,
                        layer.as_ref(),
                    )
                    .map_err(|e| e.to_string())?;
            }
        }
        target.last = Some(key);
        Ok(Some(encoder.finish()))
    }
}

impl GpuResources {
    /// Records the queued brush strokes (before this view's pass, so it shows them).
    fn record_strokes(
        &mut self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        cb: &ViewCallback,
    ) -> usize {
        let (Some(edits), Some(gv)) = (cb.edits.as_ref(), self.volume.as_mut()) else {
            return 0;
        };
        let queued = edits.lock().map(|q| q.has_queued()).unwrap_or(false);
        if !queued {
            return 0;
        }
        let brush = self
            .brush
            .get_or_insert_with(|| Brush::with_texture_labels(device).map_err(|e| e.to_string()));
        let n = record_strokes(
            edits,
            brush.as_ref().map_err(String::as_str),
            device,
            encoder,
            (cb.volume_id, &cb.volume),
            &gv.prepared.image,
            &gv.prepared.labels,
        );
        gv.strokes += n as u64;
        n
    }
}

/// Writes the labels of one box into the texture (COPY_DST).
fn write_box(
    queue: &wgpu::Queue,
    texture: &LabelTexture,
    region: &VoxelBox,
    labels: &[u8],
) -> Result<(), String> {
    let [w, h, d] = region.size().map(|n| n as u32);
    let fits = (0..3).all(|a| region.max[a] < texture.shape[a] as usize);
    if !fits || labels.len() != (w as usize) * (h as usize) * (d as usize) {
        return Err(format!(
            "label box {region:?} ({} voxels) does not fit the {:?} texture",
            labels.len(),
            texture.shape
        ));
    }
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture: &texture.texture,
            mip_level: 0,
            origin: wgpu::Origin3d {
                x: region.min[0] as u32,
                y: region.min[1] as u32,
                z: region.min[2] as u32,
            },
            aspect: wgpu::TextureAspect::All,
        },
        labels,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(w),
            rows_per_image: Some(h),
        },
        wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: d,
        },
    );
    Ok(())
}

/// Uploads the whole label map into the existing texture (COPY_DST): on a
/// load, or when the box uploads were folded into a new base.
fn write_labels(queue: &wgpu::Queue, texture: &LabelTexture, labels: &[u8]) -> Result<(), String> {
    let [w, h, d] = texture.shape;
    if labels.len() != (w as usize) * (h as usize) * (d as usize) {
        return Err(format!(
            "label map of {} voxels does not fit the {w}x{h}x{d} texture",
            labels.len()
        ));
    }
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture: &texture.texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        labels,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(w),
            rows_per_image: Some(h),
        },
        wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: d,
        },
    );
    Ok(())
}

impl egui_wgpu::CallbackTrait for ViewCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen_descriptor: &egui_wgpu::ScreenDescriptor,
        _egui_encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if !resources.contains::<GpuResources>() {
            match GpuResources::new(device, self.target_format) {
                Ok(r) => {
                    resources.insert(r);
                }
                Err(e) => {
                    self.report(format!("GPU setup failed: {e}"));
                    return Vec::new();
                }
            }
        }
        let Some(res) = resources.get_mut::<GpuResources>() else {
            return Vec::new();
        };
        match res.encode_view(device, queue, self) {
            Ok(Some(cmd)) => {
                self.stats.frames_rendered.fetch_add(1, Ordering::Relaxed);
                vec![cmd]
            }
            Ok(None) => Vec::new(),
            Err(e) => {
                self.report(format!("{} view: {e}", self.kind.name()));
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
        let Some(res) = resources.get::<GpuResources>() else {
            return;
        };
        let Some(target) = res.targets.get(&self.kind) else {
            return;
        };
        if target.last.is_none() {
            return;
        }
        render_pass.set_pipeline(&res.blit_pipeline);
        render_pass.set_bind_group(0, &target.bind_group, &[]);
        render_pass.draw(0..3, 0..1);
    }
}

impl ViewCallback {
    fn report(&self, message: String) {
        log::error!("{message}");
        if let Ok(mut slot) = self.stats.last_error.lock() {
            *slot = Some(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::readback::read_texture_3d;
    use crate::gpu::{GpuContext, GpuOptions};

    /// Box uploads bring a texture at any earlier version to exactly the
    /// displayed map (the expected map is written voxel by voxel here).
    #[test]
    fn box_uploads_bring_the_label_texture_up_to_date() {
        let ctx = GpuContext::new(&GpuOptions::from_env()).expect("a GPU adapter (lavapipe in CI)");
        let (device, queue) = (&ctx.device, &ctx.queue);
        let shape = [37usize, 21, 9];
        let n: usize = shape.iter().product();
        let base: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        let texture = LabelTexture::upload(device, queue, &base, shape).expect("texture");
        let mut expected = base.clone();
        let mut patches = Vec::new();
        let boxes = [
            VoxelBox {
                min: [3, 4, 1],
                max: [20, 10, 5],
            },
            VoxelBox {
                min: [0, 0, 0],
                max: [0, 0, 0],
            },
            VoxelBox {
                min: [30, 15, 6],
                max: [36, 20, 8],
            },
            VoxelBox {
                min: [10, 5, 2],
                max: [25, 12, 3],
            },
        ];
        for (v, region) in boxes.iter().enumerate() {
            let size = region.size();
            let labels: Vec<u8> = (0..size.iter().product::<usize>())
                .map(|i| 10 + v as u8 + (i % 5) as u8)
                .collect();
            let mut at = 0;
            for k in region.min[2]..=region.max[2] {
                for j in region.min[1]..=region.max[1] {
                    for i in region.min[0]..=region.max[0] {
                        expected[i + shape[0] * (j + shape[1] * k)] = labels[at];
                        at += 1;
                    }
                }
            }
            patches.push(Arc::new(LabelPatch {
                version: 2 + v as u64,
                region: *region,
                labels,
            }));
        }
        let up = LabelsUpload {
            version: 5,
            base: Arc::new(base),
            base_version: 1,
            patches: Arc::new(patches),
        };
        // A texture at the base version takes every box, in order (they overlap).
        up.apply(queue, &texture, 1).expect("patches");
        let read = read_texture_3d(device, queue, &texture.texture).expect("readback");
        assert_eq!(read, expected);
        // One that is older than the base takes the base, then every box.
        let stale = LabelTexture::upload(device, queue, &vec![7; n], shape).expect("texture");
        up.apply(queue, &stale, 0).expect("base and patches");
        let read = read_texture_3d(device, queue, &stale.texture).expect("readback");
        assert_eq!(read, expected);
        // A box outside the texture is refused, not written.
        let bad = VoxelBox {
            min: [0, 0, 0],
            max: [37, 0, 0],
        };
        assert!(write_box(queue, &texture, &bad, &[0; 38]).is_err());
    }
}
