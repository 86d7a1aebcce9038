//! ms per frame of the raymarching pass: 256³ and 512³ synthetic CT phantoms,
//! 512² and 1920×1080, MIP and DVR (ct-bone), and DVR with empty-space skipping and
//! early termination off. Short measurements: lavapipe takes seconds per large frame.
//! Run: WGPU_BACKEND=vulkan cargo bench --bench raymarch

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::{DMat4, DVec3};
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};
use rayseg::render::raymarch::{
    Camera, PreparedVolume, Raymarcher, RenderMode, RenderSettings, RenderTarget, TransferPreset,
};
use rayseg::volume::{Modality, Volume, VoxelData};

/// Air, a soft-tissue ellipsoid, bone spheres and a contrast vessel; mostly empty
/// corners so skipping has something to skip, as in real CT.
fn phantom(n: usize) -> Volume {
    let mut data = vec![-1000i16; n * n * n];
    let c = (n as f64 - 1.0) / 2.0;
    let r = n as f64 / 2.0;
    for k in 0..n {
        for j in 0..n {
            for i in 0..n {
                let p = (DVec3::new(i as f64, j as f64, k as f64) - c) / r;
                let mut v = -1000;
                if (p / DVec3::new(0.9, 0.7, 0.95)).length() < 1.0 {
                    v = 40;
                }
                if (p - DVec3::new(0.3, 0.1, 0.2)).length() < 0.25 {
                    v = 1100;
                }
                if (p - DVec3::new(-0.35, -0.2, -0.1)).length() < 0.18 {
                    v = 700;
                }
                if (p.x + 0.1).hypot(p.y - 0.3) < 0.06 && p.z.abs() < 0.8 {
                    v = 350;
                }
                data[i + n * (j + n * k)] = v;
            }
        }
    }
    let m = DMat4::from_scale(DVec3::splat(0.8));
    Volume::new([n; 3], VoxelData::I16(data), m, Modality::Ct).expect("phantom")
}

#[allow(clippy::too_many_arguments)]
fn frame_ms(
    c: &mut Criterion,
    ctx: &GpuContext,
    rm: &Raymarcher,
    prepared: &PreparedVolume,
    camera: &Camera,
    name: &str,
    size: (u32, u32),
    settings: &RenderSettings,
) {
    let frame = camera.ray_frame(size.0, size.1, true);
    let target = RenderTarget::new(&ctx.device, size.0, size.1).expect("target");
    c.bench_function(name, |b| {
        b.iter(|| {
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("bench::encoder"),
                });
            rm.encode(
                &ctx.device,
                &ctx.queue,
                &mut encoder,
                prepared,
                &target,
                &frame,
                settings,
            )
            .expect("encode");
            let index = ctx.queue.submit([encoder.finish()]);
            ctx.device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(index),
                    timeout: Some(Duration::from_secs(600)),
                })
                .expect("poll");
        })
    });
}

fn bench(c: &mut Criterion) {
    let ctx = GpuContext::new(&GpuOptions::from_env()).expect("benchmark needs a GPU adapter");
    eprintln!("adapter: {}", adapter_summary(&ctx.adapter_info));
    let rm = Raymarcher::new(&ctx.device).expect("pipelines");
    let mip = RenderSettings::new(RenderMode::Mip);
    let mut dvr = RenderSettings::new(RenderMode::Dvr);
    dvr.transfer = TransferPreset::CtBone.build((-1000.0, 1100.0));
    let mut dvr_slow = dvr.clone();
    dvr_slow.empty_space_skipping = false;
    dvr_slow.early_termination = false;
    for n in [256usize, 512] {
        let volume = phantom(n);
        let prepared = rm
            .prepare_volume(&ctx.device, &ctx.queue, &volume, None)
            .expect("prepare");
        let camera = Camera::fit(&volume, 30.0, 20.0);
        for (w, h) in [(512u32, 512u32), (1920, 1080)] {
            let px = format!("{n}^3 {w}x{h}");
            frame_ms(
                c,
                &ctx,
                &rm,
                &prepared,
                &camera,
                &format!("mip {px}"),
                (w, h),
                &mip,
            );
            frame_ms(
                c,
                &ctx,
                &rm,
                &prepared,
                &camera,
                &format!("dvr {px}"),
                (w, h),
                &dvr,
            );
            if w == 512 {
                let name = format!("dvr no-skip no-early-stop {px}");
                frame_ms(c, &ctx, &rm, &prepared, &camera, &name, (w, h), &dvr_slow);
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
