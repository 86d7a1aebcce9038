//! Seeded region growing as `rayseg grow` does it: on the GPU (one context
//! per process, made on first use) or the CPU reference, the region then
//! committed to the map as the CLI's document does (locked voxels kept).

use std::sync::{Arc, Mutex, OnceLock};

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use rayseg::annotate::document::{RegionPreview, SegDocument};
use rayseg::annotate::grow::{
    Connectivity, GrowImage, GrowOutcome, GrowRequest, PackedFormat, PackedImage, RegionGrower,
    VoxelBits, cpu::grow_region_cpu, seed_from_ras,
};
use rayseg::annotate::labels::LabelSet;
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};
use rayseg::volume::Volume;

use crate::arrays;
use crate::errors::{RaysegError, chain, document_error, grow_error, value_error};

type Affine = [[f64; 4]; 4];

struct Gpu {
    ctx: GpuContext,
    grower: RegionGrower,
}

/// The process's GPU, or why there is none; tried once. The mutex keeps
/// one grow at a time on it.
static GPU: OnceLock<Result<Mutex<Gpu>, String>> = OnceLock::new();

fn gpu() -> &'static Result<Mutex<Gpu>, String> {
    GPU.get_or_init(|| {
        let start = || -> Result<Gpu, Box<dyn std::error::Error>> {
            // Adapter choice as the CLI's: RAYSEG_ADAPTER and WGPU_BACKEND.
            let ctx = GpuContext::new(&GpuOptions::from_env())?;
            let grower = RegionGrower::new(&ctx.device)?;
            grower.warm_up(&ctx.device, &ctx.queue, &[PackedFormat::U8])?;
            Ok(Gpu { ctx, grower })
        };
        start().map(Mutex::new).map_err(|e| chain(e.as_ref()))
    })
}

/// Whether a GPU adapter passed the self-check (starts it on first call),
/// its description, or why there is none.
#[pyfunction]
pub fn gpu_info(py: Python<'_>) -> (bool, String) {
    py.detach(|| match gpu() {
        Ok(g) => match g.lock() {
            Ok(g) => (true, adapter_summary(&g.ctx.adapter_info)),
            Err(_) => (false, "the GPU context was poisoned by a panic".into()),
        },
        Err(e) => (false, e.clone()),
    })
}

fn grow_gpu(
    g: &Gpu,
    volume: &Volume,
    labels: &[u8],
    request: &GrowRequest,
) -> PyResult<(VoxelBits, GrowOutcome)> {
    let (device, queue) = (&g.ctx.device, &g.ctx.queue);
    let err = |e: &dyn std::error::Error| RaysegError::new_err(chain(e));
    // The packed buffer is faster to threshold; the texture takes the rest.
    let packed = PackedImage::upload(device, queue, volume).map_err(|e| err(&e))?;
    let texture = match packed {
        Some(_) => None,
        None => Some(VolumeTexture::upload(device, queue, volume).map_err(|e| err(&e))?),
    };
    let image = match (&packed, &texture) {
        (Some(p), _) => GrowImage::Packed(p),
        (None, Some(t)) => GrowImage::Texture(t),
        (None, None) => return Err(RaysegError::new_err("no GPU copy of the image")),
    };
    let locked = VoxelBits::locked(labels, volume.shape, &request.locked_bits)
        .map_err(|e| grow_error(&e))?;
    g.grower
        .grow_region(device, queue, image, locked.as_ref(), request)
        .map_err(|e| grow_error(&e))
}

/// `rayseg grow`: the region connected to the seeds whose values lie in
/// [lower, upper], written as `label` into `labels` (default: an empty map).
/// Returns the new labels and a JSON object: voxels, device, adapter,
/// seed_used, warnings.
#[pyfunction]
#[pyo3(signature = (values, shape, affine, seeds_ijk, seeds_mm, lower, upper,
    connectivity=6, max_distance_mm=None, label=1, labels=None, locked=Vec::new(),
    device="auto"))]
#[allow(clippy::too_many_arguments)]
pub fn grow<'py>(
    py: Python<'py>,
    values: Bound<'py, PyAny>,
    shape: [usize; 3],
    affine: Affine,
    seeds_ijk: Vec<[i64; 3]>,
    seeds_mm: Vec<[f64; 3]>,
    lower: f64,
    upper: f64,
    connectivity: u32,
    max_distance_mm: Option<f64>,
    label: u8,
    labels: Option<Bound<'py, PyArray1<u8>>>,
    locked: Vec<u8>,
    device: &str,
) -> PyResult<(Bound<'py, PyArray1<u8>>, String)> {
    if !["auto", "gpu", "cpu"].contains(&device) {
        return Err(value_error(format!(
            "device {device:?}: one of \"auto\", \"gpu\", \"cpu\""
        )));
    }
    if seeds_ijk.is_empty() && seeds_mm.is_empty() {
        return Err(value_error("give at least one seed (seeds or seeds_mm)"));
    }
    let volume = arrays::volume(&values, shape, affine)?;
    let labels = match labels {
        Some(l) => arrays::labels(&l, shape)?,
        None => vec![0u8; volume.voxel_count()],
    };
    let mut seeds = Vec::new();
    for s in &seeds_ijk {
        if (0..3).any(|a| s[a] < 0 || s[a] >= shape[a] as i64) {
            return Err(value_error(format!(
                "seed voxel {s:?} lies outside the {}x{}x{} grid",
                shape[0], shape[1], shape[2]
            )));
        }
        seeds.push(s.map(|x| x as u32));
    }
    for s in &seeds_mm {
        seeds.push(seed_from_ras(&volume, *s).map_err(|e| grow_error(&e))?);
    }
    let connectivity = Connectivity::from_neighbours(connectivity)
        .ok_or_else(|| value_error(format!("connectivity must be 6 or 26, not {connectivity}")))?;
    let mut request = GrowRequest::new(&volume, seeds, lower, upper, connectivity, label);
    request.max_distance_mm = max_distance_mm;
    for &l in &locked {
        request.locked_bits[l as usize / 32] |= 1 << (l % 32);
    }
    let device = device.to_owned();
    let (out, report) = py.detach(move || -> PyResult<(Vec<u8>, String)> {
        let gpu = match device.as_str() {
            "cpu" => None,
            "gpu" => match gpu() {
                Ok(g) => Some(g),
                Err(e) => return Err(RaysegError::new_err(format!("no usable GPU: {e}"))),
            },
            _ => gpu().as_ref().ok(),
        };
        let (region, outcome, used, adapter) = match gpu {
            Some(g) => {
                let g = g
                    .lock()
                    .map_err(|_| RaysegError::new_err("the GPU context was poisoned by a panic"))?;
                let (region, outcome) = grow_gpu(&g, &volume, &labels, &request)?;
                (
                    region,
                    outcome,
                    "gpu",
                    Some(adapter_summary(&g.ctx.adapter_info)),
                )
            }
            None => {
                let (region, outcome) =
                    grow_region_cpu(&volume, &labels, &request).map_err(|e| grow_error(&e))?;
                (region, outcome, "cpu", None)
            }
        };
        // Committed as the CLI commits it: one document edit.
        let mut doc = SegDocument::new(Arc::new(volume), labels, LabelSet::default(), "python")
            .map_err(|e| document_error(&e))?;
        let params = serde_json::json!({ "label": label, "lower": lower, "upper": upper });
        doc.set_preview(RegionPreview::from_bits(&region, label, "grow", params));
        doc.accept_preview().map_err(|e| document_error(&e))?;
        let report = serde_json::json!({
            "voxels": outcome.voxel_count,
            "device": used,
            "adapter": adapter,
            "seed_used": outcome.seed_used,
            "warnings": outcome.warnings,
        });
        Ok((doc.labels().to_vec(), report.to_string()))
    })?;
    Ok((out.into_pyarray(py), report))
}
