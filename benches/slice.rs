//! Axial MPR slice at native size: GPU work + readback, and GPU work only (submit and
//! wait on the queue), for a 256³ and a 512×512×300 i16 phantom.
//! `WGPU_BACKEND=vulkan cargo bench --bench slice`; prints the adapter first.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DMat4;
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};
use rayseg::render::labels::LabelTexture;
use rayseg::render::mpr::{
    Convention, MprRenderer, SliceGeometry, SliceParams, SlicePlane, SlicePosition,
    create_output_texture,
};
use rayseg::render::window::CtPreset;
use rayseg::volume::{Modality, Volume, VoxelData};

/// A CT-like phantom: a ball of "tissue" with a gradient, air outside.
fn phantom(shape: [usize; 3]) -> Volume {
    let [ni, nj, nk] = shape;
    let mut data = Vec::with_capacity(ni * nj * nk);
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let d = |a: usize, n: usize| (a as f64 - n as f64 / 2.0) / (n as f64 / 2.0);
                let r2 = d(i, ni).powi(2) + d(j, nj).powi(2) + d(k, nk).powi(2);
                data.push(if r2 < 0.8 { (i % 200) as i16 } else { -1000 });
            }
        }
    }
    Volume::new(shape, VoxelData::I16(data), DMat4::IDENTITY, Modality::Ct).expect("phantom")
}

fn bench(c: &mut Criterion) {
    let ctx = GpuContext::new(&GpuOptions::from_env()).expect("GPU context (benches need one)");
    eprintln!("adapter: {}", adapter_summary(&ctx.adapter_info));
    let (device, queue) = (&ctx.device, &ctx.queue);
    let mpr = MprRenderer::new(device).expect("pipelines");
    let labels = LabelTexture::empty(device, queue).expect("labels");
    let mut group = c.benchmark_group("slice_axial");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for shape in [[256, 256, 256], [512, 512, 300]] {
        let volume = phantom(shape);
        let tex = VolumeTexture::upload(device, queue, &volume).expect("upload");
        let geometry = SliceGeometry::new(
            volume.shape,
            volume.ras_from_voxel,
            SlicePlane::Axial,
            SlicePosition::Middle,
            Convention::Radiological,
        )
        .expect("geometry");
        let params = SliceParams::new(geometry, CtPreset::SoftTissue.window());
        let name = format!("{}x{}x{}", shape[0], shape[1], shape[2]);
        group.bench_function(format!("{name}/render+readback"), |b| {
            b.iter(|| {
                mpr.render_to_image(device, queue, &tex, &labels, &params)
                    .expect("render")
            })
        });
        let [w, h] = params.geometry.size;
        let target = create_output_texture(device, w, h);
        let view = target.create_view(&Default::default());
        group.bench_function(format!("{name}/gpu_only"), |b| {
            b.iter(|| {
                let mut encoder = device.create_command_encoder(&Default::default());
                mpr.encode(device, &mut encoder, &tex, &labels, &params, &view)
                    .expect("encode");
                let index = queue.submit([encoder.finish()]);
                device
                    .poll(wgpu::PollType::Wait {
                        submission_index: Some(index),
                        timeout: None,
                    })
                    .expect("poll");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
