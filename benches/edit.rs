//! One edit through the segmentation document, journal on disk included
//! (delta, label-map hash, fsync): a 10 mm brush stroke (radius 5 mm,
//! 10 mm long, 1 mm voxels), alternately painted and erased so every
//! iteration changes the same voxels, on a 256³ grid and a 512×512×1000 grid.
//! The cost should follow the stroke, not the grid: compare the two lines.
//! Also an undo/redo pair of that stroke, and the same stroke through the
//! app's `Document::apply_stroke` (no journal there yet). `cargo bench --bench edit`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::{DMat4, DVec3};
use rayseg::annotate::document::{EditOp, Recovery, SegDocument};
use rayseg::annotate::labels::LabelSet;
use rayseg::app::state::{BrushSettings, Document};
use rayseg::volume::{Modality, Volume, VoxelData};

fn volume(shape: [usize; 3]) -> Volume {
    let n: usize = shape.iter().product();
    let data = (0..n).map(|x| (x % 2000) as i16 - 1000).collect();
    let m = DMat4::from_translation(-DVec3::new(
        shape[0] as f64 / 2.0,
        shape[1] as f64 / 2.0,
        shape[2] as f64 / 2.0,
    ));
    Volume::new(shape, VoxelData::I16(data), m, Modality::Ct).expect("bench volume")
}

fn stroke(erase: bool) -> EditOp {
    EditOp::Brush {
        label: 1,
        points_mm: vec![[-5.0, 0.0, 0.0], [5.0, 0.0, 0.0]],
        radius_mm: 5.0,
        erase,
        plane: None,
        lower: None,
        upper: None,
        overwrite: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("edit");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for shape in [[256, 256, 256], [512, 512, 1000]] {
        let name = format!("{}x{}x{}", shape[0], shape[1], shape[2]);
        let image = Arc::new(volume(shape));
        let dir = tempfile::tempdir().expect("temp dir");
        let n = image.voxel_count();
        let (mut doc, _) = SegDocument::open(
            image,
            vec![0; n],
            LabelSet::default(),
            "empty",
            &dir.path().join("bench.journal.jsonl"),
            "bench",
            Recovery::Discard,
        )
        .expect("document");
        let first = doc.apply(&stroke(false)).expect("stroke");
        eprintln!("{name}: a stroke changes {} voxels", first.voxels_changed);
        let mut erase = true;
        group.bench_function(format!("brush_10mm_{name}"), |b| {
            b.iter(|| {
                let out = doc.apply(&stroke(erase)).expect("stroke");
                erase = !erase;
                out.voxels_changed
            })
        });
        group.bench_function(format!("undo_redo_{name}"), |b| {
            b.iter(|| {
                doc.apply(&EditOp::Undo).expect("undo");
                doc.apply(&EditOp::Redo).expect("redo").voxels_changed
            })
        });
        // The app's path (the one the issue measured: 10 ms vs 424 ms before).
        let mut app_doc = Document::new(doc.image().as_ref().clone(), None);
        drop(doc);
        let settings = BrushSettings {
            radius_mm: 5.0,
            disk_2d: false,
            ..Default::default()
        };
        let points = || vec![DVec3::new(-5.0, 0.0, 0.0), DVec3::new(5.0, 0.0, 0.0)];
        let mut erase = false;
        group.bench_function(format!("app_apply_stroke_10mm_{name}"), |b| {
            b.iter(|| {
                let n = app_doc
                    .apply_stroke(points(), &settings, erase, None)
                    .expect("stroke");
                erase = !erase;
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
