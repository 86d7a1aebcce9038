//! `rayseg compare`'s library call on a CT-sized pair (512×512×134, 0.7×0.7×2.5
//! mm, 35 M voxels): a ~100 mm lesion segmented twice (two ellipsoids with
//! different wobble, shifted by a voxel), alone and with three more labels.
//! Reading the files is not timed (`benches/peers/surface_metrics.py` times
//! the whole process against DeepMind's surface-distance and MedPy).
//! `cargo bench --bench compare`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::{DMat4, DVec3};
use rayseg::annotate::metrics::{Grid, Options, compare};

const SHAPE: [usize; 3] = [512, 512, 134];
const SPACING_MM: [f64; 3] = [0.7, 0.7, 2.5];

/// An ellipsoid (centre and semi-axes in voxels) whose radius wobbles with
/// direction, labelled `value`.
fn ellipsoid(map: &mut [u8], value: u8, centre: [f64; 3], radii: [f64; 3], wobble: f64) {
    let lo = [0, 1, 2].map(|x| (centre[x] - 1.3 * radii[x]).max(0.0) as usize);
    let hi = [0, 1, 2].map(|x| ((centre[x] + 1.3 * radii[x]) as usize).min(SHAPE[x] - 1));
    for k in lo[2]..=hi[2] {
        for j in lo[1]..=hi[1] {
            for i in lo[0]..=hi[0] {
                let p = [i, j, k].map(|v| v as f64);
                let d = [0, 1, 2].map(|x| (p[x] - centre[x]) / radii[x]);
                let r2: f64 = d.iter().map(|v| v * v).sum();
                let angle = d[1].atan2(d[0]);
                let bump = 1.0 + wobble * (3.0 * angle).sin() * (2.0 * d[2]).cos();
                if r2 < bump * bump {
                    map[i + SHAPE[0] * (j + SHAPE[1] * k)] = value;
                }
            }
        }
    }
}

fn pair(extra_labels: bool) -> (Vec<u8>, Vec<u8>) {
    let n = SHAPE.iter().product();
    let (mut a, mut b) = (vec![0u8; n], vec![0u8; n]);
    ellipsoid(&mut a, 1, [250.0, 262.0, 66.0], [70.0, 55.0, 16.0], 0.06);
    ellipsoid(&mut b, 1, [251.0, 261.0, 67.0], [68.0, 57.0, 16.0], 0.08);
    if extra_labels {
        for (value, centre) in [(2, [100.0, 100.0, 30.0]), (3, [400.0, 120.0, 90.0])] {
            ellipsoid(&mut a, value, centre, [40.0, 30.0, 10.0], 0.05);
            ellipsoid(&mut b, value, centre, [41.0, 29.0, 10.0], 0.07);
        }
        ellipsoid(&mut a, 4, [380.0, 400.0, 100.0], [12.0, 12.0, 4.0], 0.1);
    }
    (a, b)
}

fn bench(c: &mut Criterion) {
    let grid = Grid {
        shape: SHAPE,
        ras_from_voxel: DMat4::from_scale(DVec3::from(SPACING_MM)),
    };
    let mut group = c.benchmark_group("compare");
    group.sample_size(10);
    for (name, extra) in [("one lesion", false), ("four labels", true)] {
        let (a, b) = pair(extra);
        group.bench_function(name, |bench| {
            bench.iter(|| black_box(compare(&grid, &a, &b, &Options::default()).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
