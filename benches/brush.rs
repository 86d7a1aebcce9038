//! One 3-D brush stroke segment (radius 20 mm, 20 mm long, intensity range on,
//! 1 mm voxels) into a 512³ and a 256³ label map: the GPU time per stroke
//! (submit, wait, 4-byte changed-count readback; row spans computed on the CPU
//! included) should not depend on the image size, only on the brush's volume.
//! The CPU reference on 256³ for comparison.
//! `WGPU_BACKEND=vulkan cargo bench --bench brush`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::{DMat4, DVec3};
use rayseg::annotate::brush::{Brush, BrushStroke, cpu::apply_stroke};
use rayseg::annotate::label_volume::GpuLabelVolume;
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions, adapter_summary};
use rayseg::volume::{Modality, Volume, VoxelData};

fn volume(n: usize) -> Volume {
    // Integer values (r16sint texture), a ramp so the range check does work.
    let data = (0..n * n * n).map(|x| (x % 2000) as i16 - 1000).collect();
    let m = DMat4::from_translation(DVec3::splat(-(n as f64) / 2.0));
    Volume::new([n; 3], VoxelData::I16(data), m, Modality::Ct).expect("bench volume")
}

fn stroke() -> BrushStroke {
    let mut s = BrushStroke::paint(
        vec![DVec3::new(-10.0, 0.0, 0.0), DVec3::new(10.0, 0.0, 0.0)],
        20.0,
        1,
    );
    s.intensity_range = Some((-900.0, 900.0));
    s
}

fn bench(c: &mut Criterion) {
    let ctx = GpuContext::new(&GpuOptions::from_env()).expect("GPU context (benches need one)");
    eprintln!("adapter: {}", adapter_summary(&ctx.adapter_info));
    let (device, queue) = (&ctx.device, &ctx.queue);
    let brush = Brush::new(device).expect("brush pipelines");
    let mut group = c.benchmark_group("brush");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [512usize, 256] {
        let image = volume(n);
        let texture = VolumeTexture::upload(device, queue, &image).expect("upload");
        let labels = GpuLabelVolume::new(device, [n as u32; 3]).expect("label map");
        labels.write(queue, &vec![0; n * n * n]).expect("labels");
        let s = stroke();
        let outcome = brush
            .apply(device, queue, &image, &texture, &labels, &s)
            .expect("stroke");
        eprintln!(
            "{n}³: first stroke changed {} voxels in {} dispatch(es)",
            outcome.changed_voxels, outcome.dispatches
        );
        group.bench_function(format!("gpu_stroke_r20mm_{n}"), |b| {
            b.iter(|| {
                brush
                    .apply(device, queue, &image, &texture, &labels, &s)
                    .expect("stroke")
            })
        });
        if n == 256 {
            let mut cpu_labels = vec![0u8; n * n * n];
            group.bench_function(format!("cpu_stroke_r20mm_{n}"), |b| {
                b.iter(|| apply_stroke(&image, &mut cpu_labels, &s).expect("stroke"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
