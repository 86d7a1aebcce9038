//! ms per frame of the raymarching pass: 256³ and 512³ synthetic CT phantoms,
//! 512² and 1920×1080, MIP and DVR (ct-bone), and MIP/DVR with empty-space skipping
//! and early termination off; and the ch2better MR brain (301×370×316, anterior view,
//! 512², MIP and shaded DVR with mr-default), skipped with a note when the file is
//! absent. Short measurements: lavapipe takes seconds per large frame.
//! Run: WGPU_BACKEND=vulkan cargo bench --bench raymarch
//! `RAYSEG_CH2BETTER=path` overrides the default
//! `../shared/data/nifti/mricron/ch2better.nii.gz`; `RAYSEG_BENCH_PHANTOMS=256` limits
//! the phantom sizes (comma list, default `256,512`; building 512³ takes a while).

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::{DMat4, DVec3};
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};
use rayseg::render::raymarch::{
    Camera, PreparedVolume, Raymarcher, RenderMode, RenderSettings, RenderTarget, TransferPreset,
};
use rayseg::volume::{LoadOptions, Modality, Volume, VoxelData, load};

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
    let slow = |s: &RenderSettings| RenderSettings {
        empty_space_skipping: false,
        early_termination: false,
        ..s.clone()
    };
    let dvr_slow = slow(&dvr);
    let mip_slow = slow(&mip);
    brain(c, &ctx, &rm);
    let sizes: Vec<usize> = std::env::var("RAYSEG_BENCH_PHANTOMS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![256, 512]);
    for n in sizes {
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
                let name = format!("mip no-skip no-early-stop {px}");
                frame_ms(c, &ctx, &rm, &prepared, &camera, &name, (w, h), &mip_slow);
                let name = format!("dvr no-skip no-early-stop {px}");
                frame_ms(c, &ctx, &rm, &prepared, &camera, &name, (w, h), &dvr_slow);
            }
        }
    }
}

/// ch2better, anterior view, 512²: MIP and shaded DVR (mr-default), each also with
/// skipping and early termination off.
fn brain(c: &mut Criterion, ctx: &GpuContext, rm: &Raymarcher) {
    let path = std::env::var_os("RAYSEG_CH2BETTER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/data/nifti/mricron/ch2better.nii.gz")
        });
    if !path.exists() {
        eprintln!(
            "{} not found: skipping the ch2better cases (set RAYSEG_CH2BETTER)",
            path.display()
        );
        return;
    }
    let volume = load(&path, &LoadOptions::default()).expect("ch2better loads");
    let prepared = rm
        .prepare_volume(&ctx.device, &ctx.queue, &volume, None)
        .expect("prepare");
    let camera = Camera::fit(&volume, 0.0, 0.0);
    let mip = RenderSettings::new(RenderMode::Mip);
    let mut dvr = RenderSettings::new(RenderMode::Dvr);
    dvr.transfer = TransferPreset::MrDefault.build(volume.value_range());
    for (name, settings) in [("mip", mip), ("dvr", dvr)] {
        let slow = RenderSettings {
            empty_space_skipping: false,
            early_termination: false,
            ..settings.clone()
        };
        let label = format!("ch2better {name} 512x512");
        frame_ms(
            c,
            ctx,
            rm,
            &prepared,
            &camera,
            &label,
            (512, 512),
            &settings,
        );
        let label = format!("ch2better {name} no-skip no-early-stop 512x512");
        frame_ms(c, ctx, rm, &prepared, &camera, &label, (512, 512), &slow);
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
