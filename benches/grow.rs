//! Region growing on ch2better (35 M voxels; seed (120,185,170), bounds [95,130],
//! a 6.2 M-voxel region), or on a synthetic 301×370×316 volume when the file is
//! absent: the GPU grow alone (image and label map already on the GPU; includes
//! the run-count readback and the final stats readback) for 6 and 26 neighbours,
//! and the CPU reference.
//! `WGPU_BACKEND=vulkan cargo bench --bench grow`; `RAYSEG_CH2BETTER=path` overrides
//! the default `../shared/data/nifti/mricron/ch2better.nii.gz`.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DMat4;
use rayseg::annotate::grow::{
    Connectivity, GrowImage, GrowRequest, PackedImage, RegionGrower, cpu::grow_cpu,
};
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load};

/// ch2better with its seed and bounds, or a synthetic stand-in of the same size.
fn input() -> (String, Volume, [u32; 3], f64, f64) {
    let path = std::env::var_os("RAYSEG_CH2BETTER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/data/nifti/mricron/ch2better.nii.gz")
        });
    if path.exists() {
        let volume = load(&path, &LoadOptions::default()).expect("ch2better loads");
        return ("ch2better".into(), volume, [120, 185, 170], 95.0, 130.0);
    }
    eprintln!("{} not found: using a synthetic volume", path.display());
    let shape = [301usize, 370, 316];
    let mut data = Vec::with_capacity(shape.iter().product());
    let mut state = 0x1234_5678u32;
    for k in 0..shape[2] {
        for j in 0..shape[1] {
            for i in 0..shape[0] {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let d = |a: usize, n: usize| (a as f64 - n as f64 / 2.0) / (n as f64 / 2.0);
                let r2 = d(i, shape[0]).powi(2) + d(j, shape[1]).powi(2) + d(k, shape[2]).powi(2);
                // A noisy ball in [95, 130] with holes, background outside.
                let noise = (state % 50) as f64;
                data.push(if r2 < 0.6 { (90.0 + noise) as u8 } else { 20 });
            }
        }
    }
    let volume = Volume::new(shape, VoxelData::U8(data), DMat4::IDENTITY, Modality::Mr)
        .expect("synthetic volume");
    ("synthetic".into(), volume, [150, 185, 158], 95.0, 130.0)
}

fn bench(c: &mut Criterion) {
    let ctx = GpuContext::new(&GpuOptions::from_env()).expect("GPU context (benches need one)");
    eprintln!("adapter: {}", adapter_summary(&ctx.adapter_info));
    let (device, queue) = (&ctx.device, &ctx.queue);
    let (name, volume, seed, lower, upper) = input();
    let texture = VolumeTexture::upload(device, queue, &volume).expect("upload");
    let packed = PackedImage::upload(device, queue, &volume)
        .expect("packed upload")
        .expect("the benchmark image fits u8 or i16");
    let grower = RegionGrower::new(device).expect("pipelines");

    let mut group = c.benchmark_group(format!("grow_{name}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for connectivity in [Connectivity::Face, Connectivity::Full] {
        let request = GrowRequest::new(&volume, vec![seed], lower, upper, connectivity, 1);
        let n = connectivity.neighbours();
        for (source, image) in [
            ("packed", GrowImage::Packed(&packed)),
            ("texture", GrowImage::Texture(&texture)),
        ] {
            let mut gpu_ms = Vec::new();
            group.bench_function(format!("gpu_{source}_{n}"), |b| {
                b.iter(|| {
                    let (_, out) = grower
                        .grow_region(device, queue, image, None, &request)
                        .expect("grow");
                    gpu_ms.extend(out.timings.kernel_gpu_ms());
                    out.voxel_count
                })
            });
            if !gpu_ms.is_empty() {
                gpu_ms.sort_by(f64::total_cmp);
                eprintln!(
                    "gpu_{source}_{n}: GPU timestamps, median {:.1} ms over {} runs",
                    gpu_ms[gpu_ms.len() / 2],
                    gpu_ms.len()
                );
            }
        }
        group.bench_function(format!("cpu_reference_{n}"), |b| {
            let mut cpu_labels = vec![0u8; volume.voxel_count()];
            b.iter(|| {
                grow_cpu(&volume, &mut cpu_labels, &request)
                    .expect("cpu grow")
                    .voxel_count
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
