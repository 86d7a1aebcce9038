//! Loading ch2better.nii.gz (35 M voxels, uint8, 7 MB gzip) in-process, and
//! saving a label map of the same grid as .nii.gz (what `rayseg grow` ends with).
//! `cargo bench --bench load`; `RAYSEG_CH2BETTER=path` overrides the default
//! `../shared/data/nifti/mricron/ch2better.nii.gz`. Skips when the file is absent.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rayseg::volume::{LoadOptions, load, nifti::save_label_map};

fn bench(c: &mut Criterion) {
    let path = std::env::var_os("RAYSEG_CH2BETTER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/data/nifti/mricron/ch2better.nii.gz")
        });
    if !path.exists() {
        eprintln!("{} not found: nothing to measure", path.display());
        return;
    }
    let mut group = c.benchmark_group("nifti");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("load_ch2better", |b| {
        b.iter(|| {
            load(&path, &LoadOptions::default())
                .expect("loads")
                .voxel_count()
        })
    });
    let volume = load(&path, &LoadOptions::default()).expect("loads");
    // A grow-like label map: one blob of label 1 (values 95..=130), the rest 0.
    let labels: Vec<u8> = (0..volume.voxel_count())
        .map(|n| {
            let v = volume.data.get_f64(n).unwrap_or(0.0);
            u8::from((95.0..=130.0).contains(&v))
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("labels.nii.gz");
    group.bench_function("save_labels_gz", |b| {
        b.iter(|| save_label_map(&out, &labels, &volume).expect("saves"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
