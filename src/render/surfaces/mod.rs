//! Label surfaces: triangle meshes ([`SurfaceMesh`], RAS mm) drawn with the
//! raymarcher's camera (shaders/mesh.wgsl), as the layer the raymarch composites
//! the volume over ([`SurfaceLayer`]).
//!
//! Usage: [`SurfaceRenderer::new`] once per device (builds every pipeline),
//! [`SurfaceRenderer::upload`] once per mesh, a [`SurfaceTargets`] per view size,
//! then [`SurfaceRenderer::encode`] per frame before
//! [`Raymarcher::encode_with_surfaces`](crate::render::raymarch::Raymarcher::encode_with_surfaces).
//!
//! Two render passes over the same meshes:
//! 1. the ray distance (mm, [`RayFrame::ray_t_mm`]) of each pixel's nearest
//!    surface (`r32float`, depth-tested), where the raymarch stops;
//! 2. the colour of the surfaces, premultiplied (`rgba16float`): opaque labels
//!    first, depth-tested and written, then translucent ones from the farthest to
//!    the nearest (by their boxes' nearest points: an inner surface before the one
//!    around it), back faces before front faces, blended over.
//!
//! Shading: a headlight Blinn-Phong, two-sided (a clip box opens the surfaces),
//! as raymarch.wgsl shades the volume. [`reference::render`] is the CPU
//! definition of both passes.

mod params;
pub mod reference;

use glam::DVec3;
use wgpu::util::DeviceExt;

use crate::annotate::mesh::SurfaceMesh;
use crate::gpu::shader::{Shader, Variant};
use crate::gpu::{GpuError, capture_errors};
use crate::render::raymarch::{RayFrame, SurfaceLayer};

pub use params::{SurfaceClip, SurfaceParams, depth_range};

/// The ray distance stored where no surface is (beyond any volume).
pub const NO_SURFACE_T_MM: f32 = 3.0e38;

/// Bytes per vertex: position (RAS mm) then normal, 3 × f32 each.
const VERTEX_BYTES: u64 = 24;
/// Bytes per instance: the label's straight RGB and opacity, 4 × f32.
const INSTANCE_BYTES: u64 = 16;
const COLOUR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;
const RAY_T_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R32Float;
const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// mesh.wgsl (no defs).
fn shader_variant() -> Variant {
    Variant::new(Shader::Mesh)
}

/// Every shader variant this pass builds.
pub(crate) fn shader_variants() -> impl Iterator<Item = Variant> {
    std::iter::once(shader_variant())
}

/// A mesh's per-vertex normals: its own when it has one per vertex, else
/// area-weighted face normals (unnormalised: the shader normalises).
pub fn vertex_normals(mesh: &SurfaceMesh) -> Vec<[f32; 3]> {
    if mesh.normals.len() == mesh.positions_ras_mm.len() {
        return mesh.normals.clone();
    }
    let p = |i: u32| {
        glam::Vec3::from(
            mesh.positions_ras_mm
                .get(i as usize)
                .copied()
                .unwrap_or_default(),
        )
    };
    let mut normals = vec![glam::Vec3::ZERO; mesh.positions_ras_mm.len()];
    for t in &mesh.triangles {
        let n = (p(t[1]) - p(t[0])).cross(p(t[2]) - p(t[0]));
        for &i in t {
            if let Some(v) = normals.get_mut(i as usize) {
                *v += n;
            }
        }
    }
    normals.into_iter().map(|n| n.to_array()).collect()
}

/// The box `[min, max]` (RAS mm) holding a mesh's vertices.
pub fn mesh_bounds(mesh: &SurfaceMesh) -> [DVec3; 2] {
    mesh.positions_ras_mm.iter().fold(
        [DVec3::splat(f64::MAX), DVec3::splat(f64::MIN)],
        |[lo, hi], p| {
            let p = DVec3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            [lo.min(p), hi.max(p)]
        },
    )
}

/// Whether a label of opacity `alpha` is drawn as opaque (writes depth, no blending).
pub fn is_opaque(alpha: f32) -> bool {
    alpha >= 1.0
}

/// The order the colour pass draws surfaces in, given each one's box and opacity:
/// opaque ones as given, then translucent ones from the farthest nearest point
/// to the nearest (ties as given).
pub fn draw_order(frame: &RayFrame, items: &[([DVec3; 2], f32)]) -> Vec<usize> {
    let nearest = |[a, b]: [DVec3; 2]| {
        (0..8)
            .map(|c| {
                let corner = DVec3::new(
                    if c & 1 == 0 { a.x } else { b.x },
                    if c & 2 == 0 { a.y } else { b.y },
                    if c & 4 == 0 { a.z } else { b.z },
                );
                (corner - frame.eye_ras).dot(frame.forward_ras)
            })
            .fold(f64::MAX, f64::min)
    };
    let mut opaque: Vec<usize> = Vec::new();
    let mut translucent: Vec<(f64, usize)> = Vec::new();
    for (i, &(bounds, alpha)) in items.iter().enumerate() {
        if is_opaque(alpha) {
            opaque.push(i);
        } else {
            translucent.push((nearest(bounds), i));
        }
    }
    translucent.sort_by(|a, b| b.0.total_cmp(&a.0));
    opaque.extend(translucent.into_iter().map(|(_, i)| i));
    opaque
}

/// A mesh on the GPU.
pub struct GpuSurfaceMesh {
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    index_count: u32,
    /// The box holding its vertices (RAS mm).
    pub bounds_ras: [DVec3; 2],
}

impl GpuSurfaceMesh {
    pub fn gpu_bytes(&self) -> u64 {
        self.vertices.size() + self.indices.size()
    }
}

/// One surface to draw: a mesh and its label's straight RGB and opacity.
#[derive(Clone, Copy)]
pub struct SurfaceDraw<'a> {
    pub mesh: &'a GpuSurfaceMesh,
    pub rgba: [f32; 4],
}

/// The layer textures of one view size, and the pass's per-frame buffers.
pub struct SurfaceTargets {
    pub rgba: wgpu::Texture,
    rgba_view: wgpu::TextureView,
    pub ray_t_mm: wgpu::Texture,
    ray_t_view: wgpu::TextureView,
    depth_ray_t: wgpu::TextureView,
    depth_colour: wgpu::TextureView,
    params_buf: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    instances: Option<wgpu::Buffer>,
    pub size: [u32; 2],
}

impl SurfaceTargets {
    /// The layer as the raymarch reads it.
    pub fn layer(&self) -> SurfaceLayer<'_> {
        SurfaceLayer {
            rgba: &self.rgba_view,
            ray_t_mm: &self.ray_t_view,
            size: self.size,
        }
    }
}

/// The surface pipelines, built once per device.
pub struct SurfaceRenderer {
    bind_layout: wgpu::BindGroupLayout,
    /// Pass 1: nearest ray distance, every face, depth written.
    ray_t: wgpu::RenderPipeline,
    /// Pass 2: opaque labels, every face, depth written.
    opaque: wgpu::RenderPipeline,
    /// Pass 2: translucent labels' back faces, then front faces, blended.
    back: wgpu::RenderPipeline,
    front: wgpu::RenderPipeline,
}

impl SurfaceRenderer {
    pub fn new(device: &wgpu::Device) -> Result<Self, GpuError> {
        let source = shader_variant().source()?;
        let (renderer, err) = capture_errors(device, || build(device, &source));
        match err {
            Some(e) => Err(GpuError::Upload(format!("surface pipelines: {e}"))),
            None => Ok(renderer),
        }
    }

    /// Uploads `mesh` (`None` when it has no triangles). `name` labels its buffers.
    pub fn upload(
        &self,
        device: &wgpu::Device,
        mesh: &SurfaceMesh,
        name: &str,
    ) -> Result<Option<GpuSurfaceMesh>, GpuError> {
        let n = mesh.positions_ras_mm.len();
        if mesh.triangles.is_empty() || n == 0 {
            return Ok(None);
        }
        if let Some(t) = mesh
            .triangles
            .iter()
            .find(|t| t.iter().any(|&i| i as usize >= n))
        {
            return Err(GpuError::Upload(format!(
                "surface {name}: triangle {t:?} indexes past {n} vertices"
            )));
        }
        let normals = vertex_normals(mesh);
        let mut vertices: Vec<f32> = Vec::with_capacity(n * 6);
        for (p, q) in mesh.positions_ras_mm.iter().zip(&normals) {
            vertices.extend_from_slice(p);
            vertices.extend_from_slice(q);
        }
        let ((vertex_buf, index_buf), err) = capture_errors(device, || {
            (
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(&format!("surfaces::vertices_{name}")),
                    contents: bytemuck::cast_slice(&vertices),
                    usage: wgpu::BufferUsages::VERTEX,
                }),
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(&format!("surfaces::indices_{name}")),
                    contents: bytemuck::cast_slice(&mesh.triangles),
                    usage: wgpu::BufferUsages::INDEX,
                }),
            )
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("surface {name}: {e}")));
        }
        Ok(Some(GpuSurfaceMesh {
            vertices: vertex_buf,
            indices: index_buf,
            index_count: (mesh.triangles.len() * 3) as u32,
            bounds_ras: mesh_bounds(mesh),
        }))
    }

    /// The layer textures for `width` × `height` frames.
    pub fn targets(
        &self,
        device: &wgpu::Device,
        width: u32,
        height: u32,
    ) -> Result<SurfaceTargets, GpuError> {
        let size = wgpu::Extent3d {
            width: width.max(1),
            height: height.max(1),
            depth_or_array_layers: 1,
        };
        let texture = |label: &'static str, format, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage: usage | wgpu::TextureUsages::RENDER_ATTACHMENT,
                view_formats: &[],
            })
        };
        let view = |t: &wgpu::Texture, label: &'static str| {
            t.create_view(&wgpu::TextureViewDescriptor {
                label: Some(label),
                ..Default::default()
            })
        };
        let read = wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_SRC;
        let (targets, err) = capture_errors(device, || {
            let rgba = texture("surfaces::rgba", COLOUR_FORMAT, read);
            let ray_t_mm = texture("surfaces::ray_t_mm", RAY_T_FORMAT, read);
            let depth_ray_t = texture(
                "surfaces::depth_ray_t",
                DEPTH_FORMAT,
                wgpu::TextureUsages::empty(),
            );
            let depth_colour = texture(
                "surfaces::depth_colour",
                DEPTH_FORMAT,
                wgpu::TextureUsages::empty(),
            );
            let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("surfaces::params"),
                size: std::mem::size_of::<SurfaceParams>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("surfaces::bind_group"),
                layout: &self.bind_layout,
                entries: &[wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params_buf.as_entire_binding(),
                }],
            });
            SurfaceTargets {
                rgba_view: view(&rgba, "surfaces::rgba_view"),
                ray_t_view: view(&ray_t_mm, "surfaces::ray_t_mm_view"),
                depth_ray_t: view(&depth_ray_t, "surfaces::depth_ray_t_view"),
                depth_colour: view(&depth_colour, "surfaces::depth_colour_view"),
                rgba,
                ray_t_mm,
                params_buf,
                bind_group,
                instances: None,
                size: [size.width, size.height],
            }
        });
        match err {
            Some(e) => Err(GpuError::Upload(format!(
                "surface targets {width}x{height}: {e}"
            ))),
            None => Ok(targets),
        }
    }

    /// Records both passes into `encoder`, drawing `draws` into `targets` (whose
    /// size must match `frame`'s). The uniforms are written through `queue` and
    /// take effect at the next submit: one frame per `targets` per submit.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        targets: &mut SurfaceTargets,
        frame: &RayFrame,
        clip: Option<&SurfaceClip>,
        draws: &[SurfaceDraw],
    ) -> Result<(), GpuError> {
        if targets.size != [frame.width, frame.height] {
            return Err(GpuError::Upload(format!(
                "surface targets {:?} do not match the ray frame {}x{}",
                targets.size, frame.width, frame.height
            )));
        }
        let bounds: Vec<[DVec3; 2]> = draws.iter().map(|d| d.mesh.bounds_ras).collect();
        let params = SurfaceParams::new(frame, depth_range(frame, &bounds), clip);
        queue.write_buffer(&targets.params_buf, 0, bytemuck::bytes_of(&params));
        let order = draw_order(
            frame,
            &draws
                .iter()
                .map(|d| (d.mesh.bounds_ras, d.rgba[3]))
                .collect::<Vec<_>>(),
        );
        let instance_bytes = (draws.len().max(1) as u64) * INSTANCE_BYTES;
        let ((), err) = capture_errors(device, || {
            if targets
                .instances
                .as_ref()
                .is_none_or(|b| b.size() < instance_bytes)
            {
                targets.instances = Some(device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("surfaces::instances"),
                    size: instance_bytes.next_power_of_two(),
                    usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }));
            }
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("surface instances: {e}")));
        }
        let Some(instances) = targets.instances.as_ref() else {
            return Err(GpuError::Upload("surface instances not kept".into()));
        };
        if !draws.is_empty() {
            let colours: Vec<[f32; 4]> = draws.iter().map(|d| d.rgba).collect();
            queue.write_buffer(instances, 0, bytemuck::cast_slice(&colours));
        }
        let draw = |pass: &mut wgpu::RenderPass, i: usize| {
            let mesh = draws[i].mesh;
            pass.set_vertex_buffer(0, mesh.vertices.slice(..));
            pass.set_index_buffer(mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
            pass.draw_indexed(0..mesh.index_count, 0, i as u32..i as u32 + 1);
        };
        let ((), err) = capture_errors(device, || {
            {
                let mut pass = begin(
                    encoder,
                    "surfaces::ray_t_pass",
                    &targets.ray_t_view,
                    wgpu::Color {
                        r: f64::from(NO_SURFACE_T_MM),
                        g: 0.0,
                        b: 0.0,
                        a: 0.0,
                    },
                    &targets.depth_ray_t,
                );
                pass.set_pipeline(&self.ray_t);
                pass.set_bind_group(0, &targets.bind_group, &[]);
                pass.set_vertex_buffer(1, instances.slice(..));
                for i in 0..draws.len() {
                    draw(&mut pass, i);
                }
            }
            let mut pass = begin(
                encoder,
                "surfaces::colour_pass",
                &targets.rgba_view,
                wgpu::Color::TRANSPARENT,
                &targets.depth_colour,
            );
            pass.set_bind_group(0, &targets.bind_group, &[]);
            pass.set_vertex_buffer(1, instances.slice(..));
            for &i in &order {
                if is_opaque(draws[i].rgba[3]) {
                    pass.set_pipeline(&self.opaque);
                    draw(&mut pass, i);
                } else {
                    pass.set_pipeline(&self.back);
                    draw(&mut pass, i);
                    pass.set_pipeline(&self.front);
                    draw(&mut pass, i);
                }
            }
        });
        match err {
            Some(e) => Err(GpuError::Upload(format!("surface passes: {e}"))),
            None => Ok(()),
        }
    }
}

/// A render pass clearing `colour` to `clear` and `depth` to the far plane.
fn begin<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    label: &'static str,
    colour: &wgpu::TextureView,
    clear: wgpu::Color,
    depth: &wgpu::TextureView,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: colour,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load: wgpu::LoadOp::Clear(clear),
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
            view: depth,
            depth_ops: Some(wgpu::Operations {
                load: wgpu::LoadOp::Clear(1.0),
                store: wgpu::StoreOp::Discard,
            }),
            stencil_ops: None,
        }),
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

fn build(device: &wgpu::Device, source: &str) -> SurfaceRenderer {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("surfaces::shader"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let bind_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("surfaces::bind_layout"),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }],
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("surfaces::pipeline_layout"),
        bind_group_layouts: &[Some(&bind_layout)],
        immediate_size: 0,
    });
    let vertex_attributes = wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3];
    let instance_attributes = wgpu::vertex_attr_array![2 => Float32x4];
    let buffers = [
        Some(wgpu::VertexBufferLayout {
            array_stride: VERTEX_BYTES,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &vertex_attributes,
        }),
        Some(wgpu::VertexBufferLayout {
            array_stride: INSTANCE_BYTES,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &instance_attributes,
        }),
    ];
    let pipeline = |name: &str,
                    fragment: &str,
                    format: wgpu::TextureFormat,
                    blend: Option<wgpu::BlendState>,
                    cull_mode: Option<wgpu::Face>,
                    depth_write: bool| {
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(&format!("surfaces::pipeline_{name}")),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &buffers,
            },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some(fragment),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            // Meshes are counter-clockwise seen from outside.
            primitive: wgpu::PrimitiveState {
                front_face: wgpu::FrontFace::Ccw,
                cull_mode,
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(depth_write),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        })
    };
    let over = Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING);
    SurfaceRenderer {
        ray_t: pipeline("ray_t", "fs_ray_t", RAY_T_FORMAT, None, None, true),
        opaque: pipeline("opaque", "fs_colour", COLOUR_FORMAT, None, None, true),
        back: pipeline(
            "back",
            "fs_colour",
            COLOUR_FORMAT,
            over,
            Some(wgpu::Face::Front),
            false,
        ),
        front: pipeline(
            "front",
            "fs_colour",
            COLOUR_FORMAT,
            over,
            Some(wgpu::Face::Back),
            false,
        ),
        bind_layout,
    }
}
