//! The segment-editor effects on a CT-sized grid (512×512×300, 0.7×0.7×2.5 mm):
//! grow from seeds around a 30 mm liver lesion touching a vessel (the ROI's
//! smoothing, the competition from scratch, incrementally after one more
//! stroke, and the whole document op), fill between slices of a ~40 mm
//! structure drawn on every 5th slice, and margin ±3 mm of a 60 mm structure,
//! both as document ops (what `rayseg margin`/`interpolate` and the app run;
//! the label map is put back by an undo, untimed, before each timed call).
//! `cargo bench --bench effects` (or `--profile dev` for a quick run).
//!
//! The volume and the label maps are synthetic and defined voxel for voxel by
//! the functions below; `benches/peers/effects.py` writes the same data (same
//! formulas, same order of floating-point operations, integer-hash noise) to
//! NIfTI and times rayseg's subcommands against SciPy, ITK and scikit-image on
//! it. The checksums printed here (`ct checksum`, mask counts) match the ones
//! it prints.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use glam::{DMat4, DVec4};
use rayon::prelude::*;
use rayseg::annotate::document::change::gather;
use rayseg::annotate::document::effect_ops::SEEDS_SMOOTHING_MM;
use rayseg::annotate::document::ops::SeedsOp;
use rayseg::annotate::document::{EditOp, SeedsSettings, SegDocument, seed_params};
use rayseg::annotate::labels::LabelSet;
use rayseg::annotate::seeds::{SeedGrower, grow_from_seeds, smooth};
use rayseg::volume::{Modality, Volume, VoxelData};

const SHAPE: [usize; 3] = [512, 512, 300];
const SPACING: [f64; 3] = [0.7, 0.7, 2.5];
/// 10 HU × √3: the sum of four uniforms minus 2 has variance 1/3.
const NOISE: f64 = 17.320508075688775;
/// The lesion (100 HU in 60 HU liver): centre and radius, mm.
const LESION: [f64; 3] = [-60.0, 10.0, 0.0];
const LESION_R: f64 = 15.0;
/// A vessel (180 HU, radius 5 mm) along S, overlapping the lesion by 1 mm.
const VESSEL: [f64; 2] = [-41.0, 10.0];
const VESSEL_R: f64 = 5.0;
/// Seed strokes: (label, from, to) in RAS mm, brush radius 2 mm.
const STROKE_R: f64 = 2.0;
const STROKES: [(u8, [f64; 3], [f64; 3]); 8] = [
    (1, [-66.0, 10.0, 0.0], [-54.0, 10.0, 0.0]),
    (1, [-63.0, 10.0, -7.0], [-57.0, 10.0, -7.0]),
    (2, [-90.0, -10.0, 0.0], [-90.0, 30.0, 0.0]),
    (2, [-80.0, -15.0, 0.0], [-40.0, -15.0, 0.0]),
    (2, [-80.0, 35.0, 0.0], [-50.0, 35.0, 0.0]),
    (2, [-41.0, 10.0, -20.0], [-41.0, 10.0, 20.0]),
    (2, [-70.0, 10.0, 25.0], [-50.0, 10.0, 25.0]),
    (2, [-70.0, 10.0, -25.0], [-50.0, 10.0, -25.0]),
];
/// The stroke added for the incremental update (inside the seeds' box, so the
/// region of interest stays the same, as in the app).
const MORE: (u8, [f64; 3], [f64; 3]) = (2, [-75.0, 28.0, 10.0], [-65.0, 32.0, 10.0]);
/// The structure drawn on every 5th slice: an ellipsoid, semi-axes (20, 16, 24)
/// mm, turned 30° about R.
const INTERP_C: [f64; 3] = [45.0, 30.0, 60.0];
const INTERP_R: [f64; 3] = [20.0, 16.0, 24.0];
const COS30: f64 = 0.8660254037844387;
const SIN30: f64 = 0.5;
const DRAWN_EVERY: usize = 5;
/// The margin's structure: an ellipsoid 60 × 50 × 60 mm.
const MARGIN_C: [f64; 3] = [50.0, -10.0, -40.0];
const MARGIN_R: [f64; 3] = [30.0, 25.0, 30.0];

fn sq(a: f64) -> f64 {
    a * a
}

/// RAS mm of a voxel centre: the grid is centred on the origin.
fn centre(ijk: [usize; 3]) -> [f64; 3] {
    [0, 1, 2].map(|a| (ijk[a] as f64 - (SHAPE[a] as f64 - 1.0) / 2.0) * SPACING[a])
}

fn index(ijk: [usize; 3]) -> usize {
    ijk[0] + SHAPE[0] * (ijk[1] + SHAPE[1] * ijk[2])
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn uniform(idx: u64, t: u64) -> f64 {
    (splitmix(idx * 4 + t) >> 11) as f64 * (1.0 / 9007199254740992.0)
}

/// HU at a voxel: air, body (40), liver (60), the vessel and the lesion with a
/// 0.7 mm partial-volume ramp, and noise of SD 10 HU (integer hash, so the
/// peer script computes the same value).
fn ct_value(p: [f64; 3], idx: u64) -> i16 {
    let [x, y, z] = p;
    let mut v = -1000.0;
    if sq(x / 160.0) + sq(y / 115.0) <= 1.0 {
        v = 40.0;
    }
    if sq((x + 60.0) / 90.0) + sq(y / 75.0) + sq(z / 100.0) <= 1.0 {
        v = 60.0;
    }
    if v > -1000.0 {
        let d = (sq(x - VESSEL[0]) + sq(y - VESSEL[1])).sqrt();
        let f = ((VESSEL_R + 0.35 - d) / 0.7).clamp(0.0, 1.0);
        v += f * (180.0 - v);
    }
    let d = (sq(x - LESION[0]) + sq(y - LESION[1]) + sq(z - LESION[2])).sqrt();
    let f = ((LESION_R + 0.35 - d) / 0.7).clamp(0.0, 1.0);
    v += f * (100.0 - v);
    let n = uniform(idx, 0) + uniform(idx, 1) + uniform(idx, 2) + uniform(idx, 3) - 2.0;
    (v + n * NOISE + 0.5).floor() as i16
}

fn ct_volume() -> Volume {
    let [ni, nj, nk] = SHAPE;
    let mut data = vec![0i16; ni * nj * nk];
    data.par_chunks_mut(ni * nj)
        .enumerate()
        .for_each(|(k, slice)| {
            for j in 0..nj {
                for i in 0..ni {
                    let ijk = [i, j, k];
                    slice[i + ni * j] = ct_value(centre(ijk), index(ijk) as u64);
                }
            }
        });
    let o = centre([0, 0, 0]);
    let m = DMat4::from_cols(
        DVec4::new(SPACING[0], 0.0, 0.0, 0.0),
        DVec4::new(0.0, SPACING[1], 0.0, 0.0),
        DVec4::new(0.0, 0.0, SPACING[2], 0.0),
        DVec4::new(o[0], o[1], o[2], 1.0),
    );
    Volume::new(SHAPE, VoxelData::I16(data), m, Modality::Ct).expect("bench volume")
}

/// Voxel index ranges (inclusive) holding every centre within `r` mm of `c`.
fn around(c: [f64; 3], r: f64) -> [(usize, usize); 3] {
    [0, 1, 2].map(|a| {
        let mid = (SHAPE[a] as f64 - 1.0) / 2.0;
        let lo = ((c[a] - r) / SPACING[a] + mid).floor().max(0.0) as usize;
        let hi = ((c[a] + r) / SPACING[a] + mid)
            .ceil()
            .min(SHAPE[a] as f64 - 1.0) as usize;
        (lo, hi)
    })
}

/// Sets `label` on every voxel of `map` for which `inside` holds, within `bx`.
fn paint(map: &mut [u8], bx: [(usize, usize); 3], label: u8, inside: impl Fn([f64; 3]) -> bool) {
    for k in bx[2].0..=bx[2].1 {
        for j in bx[1].0..=bx[1].1 {
            for i in bx[0].0..=bx[0].1 {
                if inside(centre([i, j, k])) {
                    map[index([i, j, k])] = label;
                }
            }
        }
    }
}

/// A brush stroke: the capsule of radius `STROKE_R` around the segment a–b.
fn stroke(map: &mut [u8], (label, a, b): (u8, [f64; 3], [f64; 3])) {
    let mid = [0, 1, 2].map(|x| (a[x] + b[x]) / 2.0);
    let half = (sq(b[0] - a[0]) + sq(b[1] - a[1]) + sq(b[2] - a[2])).sqrt() / 2.0;
    paint(map, around(mid, half + STROKE_R + 1.0), label, |p| {
        let ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
        let t = ((ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2])
            / (ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2]))
            .clamp(0.0, 1.0);
        let q = [a[0] + t * ab[0], a[1] + t * ab[1], a[2] + t * ab[2]];
        sq(p[0] - q[0]) + sq(p[1] - q[1]) + sq(p[2] - q[2]) <= STROKE_R * STROKE_R
    });
}

fn seed_map(more: bool) -> Vec<u8> {
    let mut map = vec![0u8; SHAPE.iter().product()];
    for s in STROKES {
        stroke(&mut map, s);
    }
    if more {
        stroke(&mut map, MORE);
    }
    map
}

/// The lesion's truth: voxel centres within its radius.
fn lesion_truth() -> Vec<u8> {
    let mut map = vec![0u8; SHAPE.iter().product()];
    paint(&mut map, around(LESION, LESION_R + 1.0), 1, |p| {
        sq(p[0] - LESION[0]) + sq(p[1] - LESION[1]) + sq(p[2] - LESION[2]) <= sq(LESION_R)
    });
    map
}

fn in_interp_structure(p: [f64; 3]) -> bool {
    let [u, y, z] = [0, 1, 2].map(|a| p[a] - INTERP_C[a]);
    let v = y * COS30 + z * SIN30;
    let w = -y * SIN30 + z * COS30;
    sq(u / INTERP_R[0]) + sq(v / INTERP_R[1]) + sq(w / INTERP_R[2]) <= 1.0
}

/// The structure on every 5th axial slice from the first it reaches to the
/// last (as a user draws it), and its truth on the slices between.
fn drawn_structure() -> (Vec<u8>, Vec<u8>) {
    let mut truth = vec![0u8; SHAPE.iter().product()];
    paint(&mut truth, around(INTERP_C, 26.0), 1, in_interp_structure);
    let plane = SHAPE[0] * SHAPE[1];
    let on: Vec<usize> = (0..SHAPE[2])
        .filter(|&k| truth[k * plane..(k + 1) * plane].contains(&1))
        .collect();
    let (first, last) = (on[0], on[on.len() - 1]);
    let mut drawn = vec![0u8; truth.len()];
    for k in (first..=last).step_by(DRAWN_EVERY) {
        drawn[k * plane..(k + 1) * plane].copy_from_slice(&truth[k * plane..(k + 1) * plane]);
    }
    (drawn, truth)
}

fn margin_structure() -> Vec<u8> {
    let mut map = vec![0u8; SHAPE.iter().product()];
    paint(&mut map, around(MARGIN_C, 31.0), 1, |p| {
        sq((p[0] - MARGIN_C[0]) / MARGIN_R[0])
            + sq((p[1] - MARGIN_C[1]) / MARGIN_R[1])
            + sq((p[2] - MARGIN_C[2]) / MARGIN_R[2])
            <= 1.0
    });
    map
}

fn dice(a: &[u8], la: u8, b: &[u8], lb: u8) -> f64 {
    let (mut both, mut na, mut nb) = (0u64, 0u64, 0u64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x == la, y == lb);
        na += u64::from(x);
        nb += u64::from(y);
        both += u64::from(x && y);
    }
    2.0 * both as f64 / (na + nb).max(1) as f64
}

fn count(map: &[u8], label: u8) -> usize {
    map.iter().filter(|&&l| l == label).count()
}

fn op(json: &str) -> EditOp {
    serde_json::from_str(json).expect("bench op")
}

/// Times `op` on `doc`, undoing it (untimed) before each call.
fn undo_then(doc: &mut SegDocument, op: &EditOp, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        doc.apply(&EditOp::Undo).expect("undo");
        let t = Instant::now();
        black_box(doc.apply(op).expect("op").voxels_changed);
        total += t.elapsed();
    }
    total
}

fn bench(c: &mut Criterion) {
    let t = Instant::now();
    let image = Arc::new(ct_volume());
    let VoxelData::I16(values) = &image.data else {
        unreachable!()
    };
    let checksum: i64 = values
        .iter()
        .enumerate()
        .map(|(n, &v)| i64::from(v) * (n % 251) as i64)
        .sum();
    eprintln!(
        "ct {:?} at {:?} mm built in {:.1} s; ct checksum {checksum}",
        SHAPE,
        SPACING,
        t.elapsed().as_secs_f64()
    );
    let n = image.voxel_count();

    let mut group = c.benchmark_group("effects");
    // Flat sampling: the slow cases (seeds, ~0.1–0.3 s a call) fit 10
    // samples of one call each in the measurement time.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));

    // Grow from seeds. The ROI and its values as the document gathers them,
    // smoothed as the document does before the competition.
    let seeds = seed_map(false);
    let more = seed_map(true);
    let truth = lesion_truth();
    let mut doc = SegDocument::new(image.clone(), vec![0; n], LabelSet::default(), "bench")
        .expect("document");
    let region = doc.seeds_region(&seeds, 15.0).expect("seeds region");
    let size = region.size();
    let spacing = doc.spacing_mm();
    let raw = doc.region_values(&region);
    group.bench_function("seeds_smoothing_1mm", |b| {
        b.iter(|| smooth::gaussian(&raw, size, spacing, SEEDS_SMOOTHING_MM))
    });
    let roi_values = smooth::gaussian(&raw, size, spacing, SEEDS_SMOOTHING_MM);
    let roi_seeds = gather(&seeds, SHAPE, &region);
    let roi_more = gather(&more, SHAPE, &region);
    let params = seed_params(&roi_values);
    let won = grow_from_seeds(&roi_values, size, spacing, &roi_seeds, params).expect("seeds");
    let roi_truth = gather(&truth, SHAPE, &region);
    let unsmoothed =
        grow_from_seeds(&raw, size, spacing, &roi_seeds, seed_params(&raw)).expect("seeds");
    eprintln!(
        "seeds: {} seed voxels (+{} in the extra stroke), ROI {:?} = {} voxels; lesion {} voxels, \
         Dice vs truth {:.4} (without the smoothing {:.4})",
        count(&seeds, 1) + count(&seeds, 2),
        count(&more, 2) - count(&seeds, 2),
        size,
        roi_values.len(),
        count(&won, 1),
        dice(&won, 1, &roi_truth, 1),
        dice(&unsmoothed, 1, &roi_truth, 1)
    );
    group.bench_function("seeds_from_scratch", |b| {
        b.iter(|| grow_from_seeds(&roi_values, size, spacing, &roi_seeds, params).expect("seeds"))
    });
    {
        let mut g = SeedGrower::new(roi_values.clone(), size, spacing, params).expect("grower");
        g.update(&roi_seeds).expect("update");
        let full = g.last_visits();
        g.update(&roi_more).expect("update");
        eprintln!(
            "seeds incremental: {:?}, {} visits vs {full} from scratch; lesion {} voxels",
            g.last_update(),
            g.last_visits(),
            count(g.labels(), 1)
        );
    }
    group.bench_function("seeds_incremental_one_stroke", |b| {
        b.iter_batched(
            || {
                let mut g =
                    SeedGrower::new(roi_values.clone(), size, spacing, params).expect("grower");
                g.update(&roi_seeds).expect("update");
                g
            },
            |mut g| {
                g.update(&roi_more).expect("update");
                g
            },
            BatchSize::PerIteration,
        )
    });
    let settings = SeedsSettings {
        background: Some(2),
        ..SeedsSettings::default()
    };
    let seeds_op = EditOp::Seeds(SeedsOp {
        seeds: "bench seeds".into(),
        roi_margin_mm: settings.roi_margin_mm,
        smoothing_mm: settings.smoothing_mm,
        background: settings.background,
        overwrite: settings.overwrite,
    });
    group.bench_function("seeds_document_op", |b| {
        b.iter(|| {
            doc.grow_seeds(&seeds_op, &seeds, &settings)
                .expect("seeds op")
                .voxels_changed
        })
    });
    eprintln!(
        "seeds op: lesion {} voxels, Dice vs truth {:.4}",
        doc.voxel_count(1),
        dice(doc.labels(), 1, &truth, 1)
    );
    drop(doc);

    // Fill between slices.
    let (drawn, interp_truth) = drawn_structure();
    let mut doc =
        SegDocument::new(image.clone(), drawn, LabelSet::default(), "bench").expect("document");
    let interpolate = op(r#"{"op":"interpolate","label":1,"axis":"k"}"#);
    let before = doc.voxel_count(1);
    let out = doc.apply(&interpolate).expect("interpolate");
    eprintln!(
        "interpolate: {before} drawn voxels (structure {} voxels), {} filled; Dice vs truth {:.4}",
        count(&interp_truth, 1),
        out.voxels_changed,
        dice(doc.labels(), 1, &interp_truth, 1)
    );
    group.bench_function("interpolate_op_every_5th_slice", |b| {
        b.iter_custom(|iters| undo_then(&mut doc, &interpolate, iters))
    });
    drop(doc);

    // Margin ±3 mm.
    let structure = margin_structure();
    let voxels = count(&structure, 1);
    let mut doc =
        SegDocument::new(image.clone(), structure, LabelSet::default(), "bench").expect("document");
    for mm in [3, -3] {
        let margin = op(&format!(r#"{{"op":"margin","label":1,"mm":{mm}}}"#));
        let out = doc.apply(&margin).expect("margin");
        eprintln!(
            "margin {mm:+} mm: {voxels} voxels, {} changed",
            out.voxels_changed
        );
        let name = if mm > 0 { "plus" } else { "minus" };
        group.bench_function(format!("margin_op_{name}_3mm"), |b| {
            b.iter_custom(|iters| undo_then(&mut doc, &margin, iters))
        });
        doc.apply(&EditOp::Undo).expect("undo");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
