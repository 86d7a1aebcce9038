//! GPU region growing by connected-components labelling over runs.
//!
//! Passes (shaders/grow_*.wgsl), one invocation per row (j, k), run or seed:
//! 1. threshold (one invocation per mask word): bit-packed mask (bounds ∧ not
//!    locked ∧ within distance) and the run count of each row (atomic adds);
//!    locked voxels come as a bitmask of the same layout, built on the CPU only
//!    when some label is locked (the pipelines are specialised on that);
//! 2. CPU: read the counts back, exclusive prefix sum, allocate the run buffers;
//! 3. runs: extract runs (start, end) per row, parent[r] = r;
//! 4. union (one invocation per run): union-find with atomicMin against the
//!    touching runs of the previous row and slice (and their diagonal rows for
//!    26-connectivity), found by binary search;
//! 5. flatten: parent[r] = root;
//! 6. seeds: mark the roots of the seeds' runs;
//! 7. write: set the region bits of every run whose root is marked (its row
//!    stored by the runs pass, not searched for), counting voxels.
//!
//! The region comes back as a bitmask ([`VoxelBits`]) that the CPU applies to
//! the label map: an eighth of the bytes of a packed label map to read back, and
//! no label map on the GPU, so grids of 262 M voxels (512×512×1000) fit the
//! 128 MiB storage-binding limit.
//!
//! Memory: the mask and the region cost 1 bit per voxel each (rows padded to
//! 32), the locks 1 more when some label is locked, each row 8 bytes (count,
//! offset; with a distance limit 8 more per seed), each run 12 bytes plus 1 bit.
//!
//! The image comes either from the renderer's [`VolumeTexture`] (exact r16sint
//! or r32float, already on the GPU in the app, and free of the storage-binding
//! limit) or from a [`PackedImage`]: a storage buffer of u8 quads (1 byte per
//! voxel) or i16 pairs (2 bytes), for images whose values fit. The threshold
//! pass then reads four or two voxels per plain buffer load instead of one texel
//! fetch per voxel: on lavapipe (ch2better, 35 M voxels) several times faster.
//!
//! [`VolumeTexture`]: crate::gpu::volume_texture::VolumeTexture
//! [`PackedImage`]: super::PackedImage

use std::sync::OnceLock;
use std::time::Instant;

use bytemuck::{Pod, Zeroable};
use glam::DMat3;
use wgpu::util::DeviceExt;

use super::image::{GrowImage, PackedFormat};
use super::timer::Timer;
use super::{
    GrowError, GrowOutcome, GrowRequest, GrowTimings, VoxelBits, distance_spans, f32_bounds,
    integer_bounds, validate,
};
use crate::gpu::shader::{Shader, Variant as ShaderVariant, format_def};
use crate::gpu::volume_texture::VolumeFormat;
use crate::gpu::{GpuError, capture_errors, readback::read_buffer};

const WORKGROUP: u64 = 64;
/// The passes, in order, as GPU timings name them.
const PASS_NAMES: [&str; 6] = ["threshold", "runs", "union", "flatten", "seeds", "write"];
/// Runs are packed as start | end << 16, so rows may hold at most 65536 voxels.
const MAX_ROW_VOXELS: usize = 1 << 16;

/// Keep in sync with `GrowParams` in every shaders/grow_*.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct GrowParams {
    /// ni, nj, nk, u32 words per mask row.
    shape: [u32; 4],
    /// Inclusive bounds for integer images; zw unused.
    bounds_i: [i32; 4],
    /// Inclusive bounds for float images; zw unused.
    bounds_f: [f32; 4],
    /// Connectivity (6/26), distance limit (0/1), seed count, label value.
    flags: [u32; 4],
    /// Unused, rows, runs, any label locked (0/1).
    counts: [u32; 4],
    /// Unused by the shaders (they read the locked-voxel bitmask); kept so the
    /// uniform's layout stays as documented in every shader.
    locked: [u32; 8],
}
const _: () = assert!(std::mem::size_of::<GrowParams>() == 112);

/// Where the threshold pass reads the image; indexes `RegionGrower::threshold`.
/// The value is the def `IMAGE` of grow_threshold.wgsl: a texture's is its
/// format's `FORMAT` (see [`format_def`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ImageKind {
    TextureI16 = 0,
    TextureF32 = 1,
    TextureU8Pair = 2,
    PackedI16 = 3,
    PackedU8 = 4,
}
const _: () = assert!(
    ImageKind::TextureI16 as u32 == format_def(VolumeFormat::I16)
        && ImageKind::TextureF32 as u32 == format_def(VolumeFormat::F32)
        && ImageKind::TextureU8Pair as u32 == format_def(VolumeFormat::U8Pair)
);

impl ImageKind {
    /// In the order of their values.
    const ALL: [ImageKind; 5] = [
        ImageKind::TextureI16,
        ImageKind::TextureF32,
        ImageKind::TextureU8Pair,
        ImageKind::PackedI16,
        ImageKind::PackedU8,
    ];

    /// grow_threshold.wgsl reading this kind of image, with or without locks.
    fn threshold_variant(self, locks: bool) -> ShaderVariant {
        ShaderVariant::new(Shader::GrowThreshold)
            .with("IMAGE", self as u32)
            .with("LOCKS", locks)
    }
}

/// The passes after the threshold one, which have no defs.
const PASS_SHADERS: [Shader; 5] = [
    Shader::GrowRuns,
    Shader::GrowUnion,
    Shader::GrowFlatten,
    Shader::GrowSeeds,
    Shader::GrowWrite,
];

/// Every shader variant the region grower builds.
pub(crate) fn shader_variants() -> impl Iterator<Item = ShaderVariant> {
    ImageKind::ALL
        .into_iter()
        .flat_map(|kind| [false, true].map(|locks| kind.threshold_variant(locks)))
        .chain(PASS_SHADERS.map(ShaderVariant::new))
}

/// A threshold pipeline compiled on first use: ten variants (five image
/// kinds, with and without locks) would double the start-up compilation, and
/// a run needs one.
struct Lazy {
    variant: ShaderVariant,
    layout: wgpu::PipelineLayout,
    pipeline: OnceLock<wgpu::ComputePipeline>,
}

/// The region-growing pipelines, created once per device.
pub struct RegionGrower {
    /// Per image kind, without and with locks.
    threshold: [[Lazy; 2]; 5],
    image_layout_packed: wgpu::BindGroupLayout,
    threshold_layout: wgpu::BindGroupLayout,
    image_layout_i16: wgpu::BindGroupLayout,
    image_layout_f32: wgpu::BindGroupLayout,
    image_layout_u8_pair: wgpu::BindGroupLayout,
    main_layout: wgpu::BindGroupLayout,
    runs: wgpu::ComputePipeline,
    union: wgpu::ComputePipeline,
    flatten: wgpu::ComputePipeline,
    seeds: wgpu::ComputePipeline,
    write: wgpu::ComputePipeline,
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

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    buffer_entry(binding, wgpu::BufferBindingType::Storage { read_only })
}

fn bind_layout(
    device: &wgpu::Device,
    name: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(&format!("grow::{name}_bind_layout")),
        entries,
    })
}

fn image_layout(
    device: &wgpu::Device,
    name: &str,
    sample_type: wgpu::TextureSampleType,
) -> wgpu::BindGroupLayout {
    bind_layout(
        device,
        name,
        &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Texture {
                sample_type,
                view_dimension: wgpu::TextureViewDimension::D3,
                multisampled: false,
            },
            count: None,
        }],
    )
}

fn pipeline_layout(
    device: &wgpu::Device,
    name: &str,
    layouts: &[&wgpu::BindGroupLayout],
) -> wgpu::PipelineLayout {
    let groups: Vec<Option<&wgpu::BindGroupLayout>> = layouts.iter().map(|l| Some(*l)).collect();
    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(&format!("grow::{name}_layout")),
        bind_group_layouts: &groups,
        immediate_size: 0,
    })
}

fn pipeline(
    device: &wgpu::Device,
    name: &str,
    source: &str,
    layouts: &[&wgpu::BindGroupLayout],
) -> wgpu::ComputePipeline {
    let layout = pipeline_layout(device, name, layouts);
    pipeline_with(device, name, source, &layout)
}

fn pipeline_with(
    device: &wgpu::Device,
    name: &str,
    source: &str,
    layout: &wgpu::PipelineLayout,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(&format!("grow::{name}_shader")),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(&format!("grow::{name}_pipeline")),
        layout: Some(layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// Workgroups for `items` invocations of 64, split over x and y when x would
/// exceed the per-dimension limit (shaders rebuild the index from num_workgroups).
fn workgroups(items: u64, limit: u32) -> Result<(u32, u32), GrowError> {
    let groups = items.div_ceil(WORKGROUP);
    let x = groups.min(u64::from(limit)).max(1);
    let y = groups.div_ceil(x);
    if y > u64::from(limit) {
        return Err(GrowError::TooLarge(format!(
            "{items} invocations need {groups} workgroups, over {limit}²"
        )));
    }
    Ok((x as u32, y as u32))
}

fn to_u32(x: u64, what: &str) -> Result<u32, GrowError> {
    u32::try_from(x).map_err(|_| GrowError::TooLarge(format!("{what} = {x} exceeds u32")))
}

impl RegionGrower {
    /// Compiles the labelling pipelines (the threshold ones on first use, or
    /// in [`RegionGrower::warm_up`]); call once per device.
    pub fn new(device: &wgpu::Device) -> Result<Self, GpuError> {
        let [runs_src, union_src, flatten_src, seeds_src, write_src] =
            PASS_SHADERS.map(|shader| ShaderVariant::new(shader).source());
        let (runs_src, union_src, flatten_src, seeds_src, write_src) =
            (runs_src?, union_src?, flatten_src?, seeds_src?, write_src?);
        let (grower, err) = capture_errors(device, || {
            let uniform = buffer_entry(0, wgpu::BufferBindingType::Uniform);
            let threshold_layout = bind_layout(
                device,
                "threshold",
                &[
                    uniform,
                    storage(1, true),
                    storage(2, false),
                    storage(3, false),
                    storage(4, true),
                ],
            );
            let image_layout_i16 = image_layout(device, "image_i16", wgpu::TextureSampleType::Sint);
            let image_layout_f32 = image_layout(
                device,
                "image_f32",
                wgpu::TextureSampleType::Float { filterable: false },
            );
            let image_layout_u8_pair =
                image_layout(device, "image_u8pair", wgpu::TextureSampleType::Uint);
            let image_layout_packed = bind_layout(
                device,
                "image_packed",
                &[
                    storage(0, true),
                    buffer_entry(1, wgpu::BufferBindingType::Uniform),
                ],
            );
            let mut main_entries = vec![uniform];
            main_entries.extend((1..=9).map(|b| storage(b, false)));
            let main_layout = bind_layout(device, "main", &main_entries);
            let main = [&main_layout];
            let variants = |kind: ImageKind| {
                let image = match kind {
                    ImageKind::TextureI16 => &image_layout_i16,
                    ImageKind::TextureF32 => &image_layout_f32,
                    ImageKind::TextureU8Pair => &image_layout_u8_pair,
                    ImageKind::PackedI16 | ImageKind::PackedU8 => &image_layout_packed,
                };
                let name = format!("threshold_{kind:?}");
                let layout = pipeline_layout(device, &name, &[&threshold_layout, image]);
                [false, true].map(|locks| Lazy {
                    variant: kind.threshold_variant(locks),
                    layout: layout.clone(),
                    pipeline: OnceLock::new(),
                })
            };
            RegionGrower {
                threshold: ImageKind::ALL.map(variants),
                image_layout_packed,
                runs: pipeline(device, "runs", &runs_src, &main),
                union: pipeline(device, "union", &union_src, &main),
                flatten: pipeline(device, "flatten", &flatten_src, &main),
                seeds: pipeline(device, "seeds", &seeds_src, &main),
                write: pipeline(device, "write", &write_src, &main),
                threshold_layout,
                image_layout_i16,
                image_layout_f32,
                image_layout_u8_pair,
                main_layout,
            }
        });
        match err {
            Some(e) => Err(GpuError::Upload(format!("grow pipelines: {e}"))),
            None => Ok(grower),
        }
    }

    /// The threshold pipeline for `kind`, with or without locks, compiled now
    /// if it has not been yet.
    fn threshold_pipeline(
        &self,
        device: &wgpu::Device,
        kind: ImageKind,
        locks: bool,
    ) -> Result<&wgpu::ComputePipeline, GpuError> {
        let lazy = &self.threshold[kind as usize][usize::from(locks)];
        if let Some(p) = lazy.pipeline.get() {
            return Ok(p);
        }
        let name = format!("threshold_{kind:?}_{locks}");
        let source = lazy.variant.source()?;
        let (pipeline, err) = capture_errors(device, || {
            pipeline_with(device, &name, &source, &lazy.layout)
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("grow pipeline {name}: {e}")));
        }
        // Another thread may have won the race; either pipeline does.
        Ok(lazy.pipeline.get_or_init(|| pipeline))
    }

    /// Compiles the threshold pipeline (without locks) for each packed format
    /// and runs one tiny grow with it, so that a later grow pays for neither
    /// the compilation nor lavapipe's JIT, which happens at the first dispatch
    /// of each pipeline. For start-up threads that overlap other work.
    pub fn warm_up(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        formats: &[PackedFormat],
    ) -> Result<(), GrowError> {
        use crate::volume::{Modality, Volume, VoxelData};
        for &format in formats {
            let shape = [40, 2, 2];
            let data = match format {
                PackedFormat::U8 => VoxelData::U8(vec![1; 160]),
                PackedFormat::I16 => VoxelData::I16(vec![-1; 160]),
            };
            let volume = Volume::new(shape, data, glam::DMat4::IDENTITY, Modality::Unknown)
                .map_err(|e| GpuError::Upload(format!("warm-up volume: {e}")))?;
            let Some(image) = super::PackedImage::upload(device, queue, &volume)? else {
                continue;
            };
            let (lower, upper) = match format {
                PackedFormat::U8 => (1.0, 1.0),
                PackedFormat::I16 => (-1.0, -1.0),
            };
            let request = GrowRequest::new(
                &volume,
                vec![[1, 1, 1]],
                lower,
                upper,
                super::Connectivity::Full,
                1,
            );
            self.grow_region(device, queue, GrowImage::Packed(&image), None, &request)?;
        }
        Ok(())
    }

    /// Grows the region of `request` on `image` and writes its label into
    /// `labels` (one u8 per voxel on the image's grid, i fastest) in place:
    /// voxels outside the region keep their labels, and locked ones are never
    /// part of it.
    pub fn grow(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        image: GrowImage<'_>,
        labels: &mut [u8],
        request: &GrowRequest,
    ) -> Result<GrowOutcome, GrowError> {
        let shape = image.shape().map(|n| n as usize);
        let locked = VoxelBits::locked(labels, shape, &request.locked_bits)?;
        let (region, outcome) = self.grow_region(device, queue, image, locked.as_ref(), request)?;
        region.apply(labels, request.label)?;
        Ok(outcome)
    }

    /// The region of `request` on `image` as a bitmask; `locked` holds the
    /// voxels that may not be grown into (`None`: none; `request.locked_bits`
    /// is then ignored, see [`VoxelBits::locked`]).
    pub fn grow_region(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        image: GrowImage<'_>,
        locked: Option<&VoxelBits>,
        request: &GrowRequest,
    ) -> Result<(VoxelBits, GrowOutcome), GrowError> {
        let started = Instant::now();
        let image_shape = image.shape();
        let shape = image_shape.map(|n| n as usize);
        validate(request, shape)?;
        if let Some(l) = locked
            && (l.shape != shape || l.words.len() != VoxelBits::empty(shape).words.len())
        {
            return Err(GrowError::ShapeMismatch(format!(
                "image grid {shape:?} but locked-voxel grid {:?}",
                l.shape
            )));
        }
        if shape[0] > MAX_ROW_VOXELS {
            return Err(GrowError::TooLarge(format!(
                "rows of {} voxels; at most {MAX_ROW_VOXELS}",
                shape[0]
            )));
        }
        let limits = device.limits();
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let check = |what: &str, bytes: u64| -> Result<u64, GrowError> {
            if bytes > max_binding {
                return Err(GrowError::TooLarge(format!(
                    "{what} needs {bytes} bytes, over this adapter's storage buffer limit of \
                     {max_binding}"
                )));
            }
            Ok(bytes.max(4))
        };
        let [ni, nj, nk] = image_shape;
        let words_per_row = ni.div_ceil(32);
        let rows = u64::from(nj) * u64::from(nk);
        let seeds = request.seeds_ijk.len() as u64;
        let mask_bytes = check("threshold mask", rows * u64::from(words_per_row) * 4)?;
        let counts_bytes = check("run counts", rows * 4)?;
        let offsets_bytes = check("run offsets", (rows + 1) * 4)?;
        let spans: Vec<[i32; 2]> = match request.max_distance_mm {
            Some(d) => {
                check("distance spans", rows * seeds * 8)?;
                let linear = DMat3::from_mat4(request.ras_from_voxel);
                distance_spans(shape, &linear, d, &request.seeds_ijk)
            }
            None => vec![super::EMPTY_SPAN],
        };

        let [lo_i, hi_i] = integer_bounds(request.lower, request.upper);
        let [lo_f, hi_f] = f32_bounds(request.lower, request.upper);
        // For u8 quads: lo and hi - lo clamped to 0..=255, lo = 256 when empty.
        let (lo_u8, hi_u8) = (lo_i.max(0), hi_i.min(255));
        let u8_bounds = if lo_u8 <= hi_u8 {
            [lo_u8, hi_u8 - lo_u8]
        } else {
            [256, 0]
        };
        let any_locked = locked.is_some();
        let mut params = GrowParams {
            shape: [ni, nj, nk, words_per_row],
            bounds_i: [lo_i, hi_i, u8_bounds[0], u8_bounds[1]],
            bounds_f: [lo_f, hi_f, 0.0, 0.0],
            flags: [
                request.connectivity.neighbours(),
                u32::from(request.max_distance_mm.is_some()),
                to_u32(seeds, "seed count")?,
                u32::from(request.label),
            ],
            counts: [0, to_u32(rows, "rows")?, 0, u32::from(any_locked)],
            locked: request.locked_bits,
        };
        let limit = limits.max_compute_workgroups_per_dimension;
        let row_groups = workgroups(rows, limit)?;
        let word_groups = workgroups(rows * u64::from(words_per_row), limit)?;
        let timer = Timer::new(device, 6);
        let kind = match image {
            GrowImage::Texture(t) => match t.format {
                VolumeFormat::I16 => ImageKind::TextureI16,
                VolumeFormat::F32 => ImageKind::TextureF32,
                VolumeFormat::U8Pair => ImageKind::TextureU8Pair,
            },
            GrowImage::Packed(p) => match p.format {
                PackedFormat::I16 => ImageKind::PackedI16,
                PackedFormat::U8 => ImageKind::PackedU8,
            },
        };
        let pipeline = self.threshold_pipeline(device, kind, any_locked)?;
        let packed_chunks = match image {
            GrowImage::Packed(p) => Some(chunk_rows(
                p,
                u64::from(ni),
                rows,
                words_per_row,
                u64::from(limits.min_storage_buffer_offset_alignment),
                limit,
            )?),
            GrowImage::Texture(_) => None,
        };

        // Phase 1: threshold mask and run counts.
        let (phase1, err) = capture_errors(device, || {
            let params_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("grow::params"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            });
            let mask = storage_buffer(device, "grow::mask", mask_bytes, false);
            let counts = storage_buffer(device, "grow::run_counts", counts_bytes, true);
            let spans_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("grow::distance_spans"),
                contents: bytemuck::cast_slice(&spans),
                usage: wgpu::BufferUsages::STORAGE,
            });
            // Without locks the (specialised) shader never reads it: one word.
            let locked_words: &[u32] = match locked {
                Some(l) if !l.words.is_empty() => &l.words,
                _ => &[0],
            };
            let locked_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("grow::locked_voxels"),
                contents: bytemuck::cast_slice(locked_words),
                usage: wgpu::BufferUsages::STORAGE,
            });
            let group0 = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("grow::threshold_bind_group"),
                layout: &self.threshold_layout,
                entries: &[
                    entry(0, &params_buf),
                    entry(1, &locked_buf),
                    entry(2, &mask),
                    entry(3, &counts),
                    entry(4, &spans_buf),
                ],
            });
            // Per dispatch: the image bind group (for packed images, a chunk of
            // rows) and the invocations (mask words) it covers.
            let mut dispatches = Vec::new();
            match image {
                GrowImage::Texture(t) => {
                    let layout = match t.format {
                        VolumeFormat::I16 => &self.image_layout_i16,
                        VolumeFormat::F32 => &self.image_layout_f32,
                        VolumeFormat::U8Pair => &self.image_layout_u8_pair,
                    };
                    let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("grow::image_bind_group"),
                        layout,
                        entries: &[wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::TextureView(&t.view),
                        }],
                    });
                    dispatches.push((group, word_groups));
                }
                GrowImage::Packed(p) => {
                    let chunks = packed_chunks.as_deref().unwrap_or_default();
                    let stride = u64::from(limits.min_uniform_buffer_offset_alignment).max(16);
                    let mut uniforms = vec![0u8; (stride as usize) * chunks.len().max(1)];
                    for (c, chunk) in chunks.iter().enumerate() {
                        let at = c * stride as usize;
                        uniforms[at..at + 16].copy_from_slice(bytemuck::bytes_of(&[
                            chunk.first_word,
                            chunk.words,
                            chunk.image_word,
                            0u32,
                        ]));
                    }
                    let chunk_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("grow::image_chunks"),
                        contents: &uniforms,
                        usage: wgpu::BufferUsages::UNIFORM,
                    });
                    for (c, chunk) in chunks.iter().enumerate() {
                        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                            label: Some("grow::image_chunk_bind_group"),
                            layout: &self.image_layout_packed,
                            entries: &[
                                wgpu::BindGroupEntry {
                                    binding: 0,
                                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                        buffer: &p.buffer,
                                        offset: chunk.offset,
                                        size: wgpu::BufferSize::new(chunk.size),
                                    }),
                                },
                                wgpu::BindGroupEntry {
                                    binding: 1,
                                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                        buffer: &chunk_buf,
                                        offset: c as u64 * stride,
                                        size: wgpu::BufferSize::new(16),
                                    }),
                                },
                            ],
                        });
                        dispatches.push((group, chunk.groups));
                    }
                }
            }
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("grow::threshold_encoder"),
            });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("grow::threshold_pass"),
                    timestamp_writes: timer.writes(0),
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &group0, &[]);
                // One invocation per mask word; the run counts start at zero.
                // Chunks write disjoint mask words and only add to run counts.
                for (group, groups) in &dispatches {
                    pass.set_bind_group(1, group, &[]);
                    pass.dispatch_workgroups(groups.0, groups.1, 1);
                }
            }
            queue.submit([encoder.finish()]);
            (params_buf, mask, counts)
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("grow threshold pass: {e}")).into());
        }
        let (params_buf, mask, counts) = phase1;

        // Phase 2 (CPU): exclusive prefix sum of the run counts. Wait for phase 1
        // first so the scan time below is the readback and scan alone.
        device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| GpuError::Readback(format!("waiting for the threshold pass: {e}")))?;
        let scan_started = Instant::now();
        let count_bytes = read_buffer(device, queue, &counts, 0, rows * 4)?;
        let mut offsets = Vec::with_capacity(rows as usize + 1);
        let mut total = 0u64;
        for c in count_bytes.chunks_exact(4) {
            offsets.push(total as u32);
            total += u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            if total > u64::from(u32::MAX) {
                return Err(GrowError::TooLarge(format!("over {} runs", u32::MAX)));
            }
        }
        offsets.push(total as u32);
        let mut outcome = GrowOutcome {
            seed_used: vec![false; request.seeds_ijk.len()],
            run_count: total,
            ..Default::default()
        };
        let runs_bytes = check("runs", total * 4)?;
        let roots_bytes = check("seed roots", total.div_ceil(32) * 4)?;
        let run_groups = workgroups(total, limit)?;
        params.counts[2] = total as u32;
        let mut timings = GrowTimings {
            scan_wall_ms: ms(scan_started),
            ..Default::default()
        };
        if total == 0 {
            // Nothing passes the conditions, not even a seed.
            timings.set_passes(&PASS_NAMES[..1], timer.read(device, queue, 1)?);
            timings.total_wall_ms = ms(started);
            outcome.timings = timings;
            outcome.warn_unused_seeds(&request.seeds_ijk);
            return Ok((VoxelBits::empty(shape), outcome));
        }

        // Phase 3: runs, union-find, seeds, write.
        let seeds_gpu: Vec<[u32; 4]> = request
            .seeds_ijk
            .iter()
            .map(|s| [s[0], s[1], s[2], 0])
            .collect();
        let (stats, err) = capture_errors(device, || {
            queue.write_buffer(&params_buf, 0, bytemuck::bytes_of(&params));
            let offsets_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("grow::run_offsets"),
                contents: bytemuck::cast_slice(&offsets),
                usage: wgpu::BufferUsages::STORAGE,
            });
            debug_assert_eq!(offsets_buf.size(), offsets_bytes);
            let runs = storage_buffer(device, "grow::runs", runs_bytes, false);
            let parent = storage_buffer(device, "grow::parent", runs_bytes, false);
            let roots = storage_buffer(device, "grow::seed_roots", roots_bytes, false);
            let seeds_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("grow::seeds"),
                contents: bytemuck::cast_slice(&seeds_gpu),
                usage: wgpu::BufferUsages::STORAGE,
            });
            let run_rows = storage_buffer(device, "grow::run_rows", runs_bytes, false);
            let stats = storage_buffer(device, "grow::stats", (1 + seeds) * 4, true);
            let region = storage_buffer(device, "grow::region", mask_bytes, true);
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("grow::main_bind_group"),
                layout: &self.main_layout,
                entries: &[
                    entry(0, &params_buf),
                    entry(1, &mask),
                    entry(2, &offsets_buf),
                    entry(3, &runs),
                    entry(4, &parent),
                    entry(5, &roots),
                    entry(6, &seeds_buf),
                    entry(7, &region),
                    entry(8, &stats),
                    entry(9, &run_rows),
                ],
            });
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("grow::label_encoder"),
            });
            let seed_groups = (seeds.div_ceil(WORKGROUP) as u32, 1);
            let steps = [
                ("grow::runs_pass", &self.runs, row_groups),
                ("grow::union_pass", &self.union, run_groups),
                ("grow::flatten_pass", &self.flatten, run_groups),
                ("grow::seeds_pass", &self.seeds, seed_groups),
                ("grow::write_pass", &self.write, run_groups),
            ];
            // One pass per step: each must see the previous one's writes.
            for (index, (label, pipeline, groups)) in steps.into_iter().enumerate() {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(label),
                    timestamp_writes: timer.writes(1 + index as u32),
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &group, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, 1);
            }
            queue.submit([encoder.finish()]);
            (stats, region)
        });
        if let Some(e) = err {
            return Err(GpuError::Upload(format!("grow labelling passes: {e}")).into());
        }
        let (stats, region) = stats;
        let stats = read_buffer(device, queue, &stats, 0, (1 + seeds) * 4)?;
        let region_bytes = read_buffer(device, queue, &region, 0, mask_bytes)?;
        let mut region = VoxelBits::empty(shape);
        let words = region.words.len();
        // Cast the (aligned) words, not the bytes, which may be unaligned.
        bytemuck::cast_slice_mut::<u32, u8>(&mut region.words)
            .copy_from_slice(&region_bytes[..4 * words]);
        let word = |n: usize| {
            u32::from_le_bytes([
                stats[4 * n],
                stats[4 * n + 1],
                stats[4 * n + 2],
                stats[4 * n + 3],
            ])
        };
        outcome.voxel_count = u64::from(word(0));
        for (s, used) in outcome.seed_used.iter_mut().enumerate() {
            *used = word(1 + s) != 0;
        }
        timings.set_passes(&PASS_NAMES, timer.read(device, queue, 6)?);
        timings.total_wall_ms = ms(started);
        outcome.timings = timings;
        outcome.warn_unused_seeds(&request.seeds_ijk);
        Ok((region, outcome))
    }
}

/// One threshold dispatch over a packed image: rows from `first_word /
/// words_per_row`, bound as bytes `offset..offset + size` of the image buffer.
struct Chunk {
    /// The first mask word (global) and how many.
    first_word: u32,
    words: u32,
    /// The image word at `offset`, the start of the bound range.
    image_word: u32,
    offset: u64,
    size: u64,
    groups: (u32, u32),
}

/// Splits the threshold pass over `image` into chunks of whole rows whose
/// bound ranges fit its `max_chunk_bytes`: each from the word before its first
/// voxel (aligned down to `align` bytes) to 17 words past its last voxel (the
/// shaders read up to 16 (i16) or 8 (u8) words past a mask word's first word),
/// clamped to the buffer. An image within one binding is one chunk.
fn chunk_rows(
    image: &super::PackedImage,
    ni: u64,
    rows: u64,
    words_per_row: u32,
    align: u64,
    limit: u32,
) -> Result<Vec<Chunk>, GrowError> {
    const AFTER: u64 = 18;
    let per_word = image.voxels_per_word();
    let buffer_words = image.buffer.size() / 4;
    let align_words = (align / 4).max(1);
    let max_words = image.max_chunk_bytes() / 4;
    // Words one chunk of r rows binds, at most: r ni / per_word + 1 (rounding)
    // + 1 (margin before) + AFTER + align_words - 1 (alignment).
    let rows_per_chunk = if buffer_words <= max_words {
        rows
    } else {
        max_words.saturating_sub(align_words + AFTER + 2) * per_word / ni
    };
    if rows_per_chunk == 0 {
        return Err(GrowError::TooLarge(format!(
            "rows of {ni} voxels do not fit a threshold chunk of {} bytes",
            image.max_chunk_bytes()
        )));
    }
    let mut chunks = Vec::new();
    let mut r0 = 0;
    while r0 < rows {
        let r1 = (r0 + rows_per_chunk).min(rows);
        let lo = ((r0 * ni) / per_word).saturating_sub(1);
        let lo = lo - lo % align_words;
        let hi = ((r1 * ni) / per_word + AFTER).min(buffer_words);
        let size = (hi - lo) * 4;
        if size > image.max_chunk_bytes() && rows_per_chunk != rows {
            return Err(GrowError::TooLarge(format!(
                "threshold chunk of {size} bytes over {}",
                image.max_chunk_bytes()
            )));
        }
        let words = (r1 - r0) * u64::from(words_per_row);
        chunks.push(Chunk {
            first_word: to_u32(r0 * u64::from(words_per_row), "mask words")?,
            words: to_u32(words, "mask words")?,
            image_word: to_u32(lo, "image words")?,
            offset: lo * 4,
            size,
            groups: workgroups(words, limit)?,
        });
        r0 = r1;
    }
    Ok(chunks)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// A zeroed storage buffer (wgpu zero-initialises new buffers).
fn storage_buffer(device: &wgpu::Device, label: &str, bytes: u64, readable: bool) -> wgpu::Buffer {
    let mut usage = wgpu::BufferUsages::STORAGE;
    if readable {
        usage |= wgpu::BufferUsages::COPY_SRC;
    }
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4).next_multiple_of(4),
        usage,
        mapped_at_creation: false,
    })
}
