//! Oracles written from the module docs, not from the implementation: a
//! Bellman-Ford fixed point for exact labels, and geometric ground truth.

use super::*;

/// SplitMix64: small deterministic generator for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Bellman-Ford: sweep all voxels, relaxing each from all its neighbours, until
/// nothing changes. State `(cost, label)`, compared as a tuple.
fn oracle(
    values: &[f32],
    size: [usize; 3],
    spacing: [f64; 3],
    seeds: &[u8],
    params: SeedParams,
) -> Vec<u8> {
    let [nx, ny, nz] = size;
    let mut steps = Vec::new();
    for dk in -1i64..=1 {
        for dj in -1i64..=1 {
            for di in -1i64..=1 {
                let m = di.abs() + dj.abs() + dk.abs();
                let face = params.connectivity == Connectivity::Face;
                if m == 0 || (face && m > 1) {
                    continue;
                }
                let (a, b, c) = (
                    di as f64 * spacing[0],
                    dj as f64 * spacing[1],
                    dk as f64 * spacing[2],
                );
                steps.push(([di, dj, dk], (a * a + b * b + c * c).sqrt()));
            }
        }
    }
    let lo = values
        .iter()
        .map(|&v| v as f64)
        .fold(f64::INFINITY, f64::min);
    let hi = values
        .iter()
        .map(|&v| v as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let longest = steps.iter().map(|s| s.1).fold(0.0, f64::max);
    let span = hi - lo + params.distance_penalty * longest;
    let scale = if span > 0.0 {
        134_217_728.0 / span
    } else {
        0.0
    };
    let q: Vec<i64> = values
        .iter()
        .map(|&v| ((v as f64 - lo) * scale).round() as i64)
        .collect();

    let mut state: Vec<Option<(u64, u8)>> =
        seeds.iter().map(|&s| (s != 0).then_some((0, s))).collect();
    loop {
        let mut changed = false;
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let v = x + nx * (y + ny * z);
                    if seeds[v] != 0 {
                        continue;
                    }
                    for &([di, dj, dk], len) in &steps {
                        let (ux, uy, uz) = (x as i64 + di, y as i64 + dj, z as i64 + dk);
                        if ux < 0
                            || uy < 0
                            || uz < 0
                            || ux >= nx as i64
                            || uy >= ny as i64
                            || uz >= nz as i64
                        {
                            continue;
                        }
                        let u = ux as usize + nx * (uy as usize + ny * uz as usize);
                        let Some((cost, label)) = state[u] else {
                            continue;
                        };
                        let w = (q[u] - q[v]).unsigned_abs()
                            + (params.distance_penalty * len * scale).round() as u64
                            + 1;
                        let candidate = (cost + w, label);
                        if state[v].is_none_or(|current| candidate < current) {
                            state[v] = Some(candidate);
                            changed = true;
                        }
                    }
                }
            }
        }
        if !changed {
            return state.iter().map(|s| s.map_or(0, |s| s.1)).collect();
        }
    }
}

/// A random test image: noise, a few flat levels (many exact ties) or a blend.
fn random_image(rng: &mut Rng, n: usize) -> Vec<f32> {
    match rng.below(3) {
        0 => (0..n)
            .map(|_| (rng.unit() * 200.0 - 100.0) as f32)
            .collect(),
        1 => (0..n).map(|_| (rng.below(3) * 50) as f32).collect(),
        _ => {
            let mut level = 0.0;
            (0..n)
                .map(|_| {
                    if rng.below(10) == 0 {
                        level = rng.unit() * 1000.0;
                    }
                    (level + rng.unit() * 5.0) as f32
                })
                .collect()
        }
    }
}

fn random_params(rng: &mut Rng) -> SeedParams {
    SeedParams {
        distance_penalty: [0.0, DEFAULT_DISTANCE_PENALTY, 1.0, rng.unit() * 50.0][rng.below(4)],
        connectivity: if rng.below(2) == 0 {
            Connectivity::Face
        } else {
            Connectivity::Full
        },
    }
}

fn random_spacing(rng: &mut Rng) -> [f64; 3] {
    [
        0.4 + rng.unit() * 2.0,
        0.4 + rng.unit() * 2.0,
        0.5 + rng.unit() * 4.0,
    ]
}

/// Adds a short random stroke (a random walk) of `label` to `seeds`.
fn add_stroke(rng: &mut Rng, seeds: &mut [u8], size: [usize; 3], label: u8, len: usize) {
    let mut p = size.map(|n| rng.below(n));
    for _ in 0..len {
        seeds[p[0] + size[0] * (p[1] + size[1] * p[2])] = label;
        let axis = rng.below(3);
        p[axis] = if rng.below(2) == 0 {
            p[axis].saturating_sub(1)
        } else {
            (p[axis] + 1).min(size[axis] - 1)
        };
    }
}

/// Random images and seeds against the oracle, through the default queue and a
/// 64-bucket one whose wide buckets make the propagation re-relax voxels.
fn check_against_oracle(seed: u64, trials: usize, max_size: [usize; 3]) {
    let mut rng = Rng(seed);
    let mut extra_visits = 0;
    for trial in 0..trials {
        let size = if trial < trials * 4 / 5 {
            max_size
        } else {
            max_size.map(|m| 1 + rng.below(m))
        };
        let n = size.iter().product();
        let values = random_image(&mut rng, n);
        let spacing = random_spacing(&mut rng);
        let params = random_params(&mut rng);
        let labels: Vec<u8> = [3u8, 1, 200][..2 + rng.below(2)].to_vec();
        let mut seeds = vec![0u8; n];
        for _ in 0..1 + rng.below(6) {
            let label = labels[rng.below(labels.len())];
            let len = 1 + rng.below(4);
            add_stroke(&mut rng, &mut seeds, size, label, len);
        }
        let got = grow_from_seeds(&values, size, spacing, &seeds, params).unwrap();
        let want = oracle(&values, size, spacing, &seeds, params);
        assert_eq!(got, want, "trial {trial} size {size:?} params {params:?}");
        assert!(got.iter().all(|&l| l != 0));

        let mut coarse = SeedGrower::new(values, size, spacing, params).unwrap();
        coarse.ring = 64;
        assert_eq!(
            coarse.update(&seeds).unwrap(),
            &want[..],
            "coarse, trial {trial}"
        );
        extra_visits += coarse.last_visits() - n;
    }
    assert!(extra_visits > 0, "the coarse queue never re-relaxed");
}

#[test]
fn matches_bellman_ford_oracle_on_small_random_images() {
    check_against_oracle(7, 150, [10, 9, 7]);
}

#[test]
fn matches_bellman_ford_oracle_on_larger_random_images() {
    check_against_oracle(8, 10, [26, 21, 15]);
}

#[test]
fn incremental_equals_from_scratch() {
    let mut rng = Rng(11);
    for trial in 0..30 {
        let size = [12 + rng.below(8), 10 + rng.below(8), 6 + rng.below(6)];
        let n = size.iter().product();
        let values = random_image(&mut rng, n);
        let spacing = random_spacing(&mut rng);
        let params = random_params(&mut rng);
        let mut grower = SeedGrower::new(values.clone(), size, spacing, params).unwrap();
        let mut coarse = SeedGrower::new(values.clone(), size, spacing, params).unwrap();
        coarse.ring = 64;
        let mut seeds = vec![0u8; n];
        for stroke in 0..8 {
            let label = [1u8, 2, 9][rng.below(3)];
            // Strokes paint only unseeded voxels: a pure addition.
            let mut next = seeds.clone();
            let len = 1 + rng.below(30);
            add_stroke(&mut rng, &mut next, size, label, len);
            for (s, &old) in next.iter_mut().zip(&seeds) {
                if old != 0 {
                    *s = old;
                }
            }
            seeds = next;
            let got = grower.update(&seeds).unwrap().to_vec();
            let want = grow_from_seeds(&values, size, spacing, &seeds, params).unwrap();
            assert_eq!(got, want, "trial {trial} stroke {stroke}");
            assert_eq!(coarse.update(&seeds).unwrap(), &want[..]);
            let kind = if stroke == 0 {
                UpdateKind::FromScratch
            } else {
                UpdateKind::Incremental
            };
            assert_eq!(grower.last_update(), Some(kind));
        }
        // Erasing seeds, then relabelling one, must recompute and still agree.
        for edit in 0..2 {
            let seeded: Vec<usize> = (0..n).filter(|&i| seeds[i] != 0).collect();
            let pick = seeded[rng.below(seeded.len())];
            if edit == 0 {
                seeded
                    .iter()
                    .filter(|_| rng.below(3) == 0)
                    .for_each(|&i| seeds[i] = 0);
                seeds[pick] = 0;
            } else {
                seeds[pick] = if seeds[pick] == 1 { 2 } else { 1 };
            }
            let got = grower.update(&seeds).unwrap().to_vec();
            assert_eq!(grower.last_update(), Some(UpdateKind::FromScratch));
            assert_eq!(
                got,
                grow_from_seeds(&values, size, spacing, &seeds, params).unwrap()
            );
        }
        // Incremental again after the recompute, checked against the oracle.
        let mut next = seeds.clone();
        add_stroke(&mut rng, &mut next, size, 2, 5);
        next.iter_mut()
            .zip(&seeds)
            .filter(|(_, old)| **old != 0)
            .for_each(|(s, &old)| *s = old);
        let got = grower.update(&next).unwrap().to_vec();
        assert_eq!(grower.last_update(), Some(UpdateKind::Incremental));
        assert_eq!(got, oracle(&values, size, spacing, &next, params));
    }
}

#[test]
fn small_stroke_touches_few_voxels() {
    let size = [40, 40, 40];
    let n: usize = 40 * 40 * 40;
    let mut rng = Rng(3);
    let values: Vec<f32> = (0..n).map(|_| (rng.unit() * 20.0) as f32).collect();
    // Label 1 on the x = 0 face, label 2 on the x = 39 face.
    let seeds: Vec<u8> = (0..n)
        .map(|i| match i % 40 {
            0 => 1,
            39 => 2,
            _ => 0,
        })
        .collect();
    let mut grower = SeedGrower::new(values, size, [1.0; 3], SeedParams::default()).unwrap();
    grower.update(&seeds).unwrap();
    assert!(grower.last_visits() >= n);
    // A new seed only improves the voxels closer to it than to the old seeds.
    let mut seeds = seeds;
    seeds[index(size, 1, 20, 20)] = 1;
    grower.update(&seeds).unwrap();
    assert_eq!(grower.last_update(), Some(UpdateKind::Incremental));
    assert!(
        grower.last_visits() < n / 10,
        "visits {}",
        grower.last_visits()
    );
}

fn index(size: [usize; 3], x: usize, y: usize, z: usize) -> usize {
    x + size[0] * (y + size[1] * z)
}

#[test]
fn step_edge_splits_flat_regions_exactly() {
    let size = [24, 16, 12];
    let n = size.iter().product();
    for connectivity in [Connectivity::Face, Connectivity::Full] {
        let values: Vec<f32> = (0..n)
            .map(|i| if i % 24 < 10 { 100.0 } else { 300.0 })
            .collect();
        let mut seeds = vec![0u8; n];
        // The left seed sits next to the edge, the right one far from it, so
        // proximity alone would give part of the right region to label 4.
        seeds[index(size, 9, 8, 6)] = 4;
        seeds[index(size, 23, 0, 0)] = 2;
        let params = SeedParams {
            connectivity,
            ..SeedParams::default()
        };
        let got = grow_from_seeds(&values, size, [0.8, 0.8, 2.0], &seeds, params).unwrap();
        let want: Vec<u8> = (0..n).map(|i| if i % 24 < 10 { 4 } else { 2 }).collect();
        assert_eq!(got, want, "{connectivity:?}");
    }
}

#[test]
fn bright_sphere_in_dark_background_has_high_dice() {
    let size = [48, 44, 40];
    let n = size.iter().product();
    let spacing = [0.9, 0.9, 1.2];
    let centre = [24.0 * 0.9, 22.0 * 0.9, 20.0 * 1.2];
    let mut rng = Rng(5);
    let mut truth = vec![false; n];
    let mut values = vec![0f32; n];
    let mut seeds = vec![0u8; n];
    for z in 0..size[2] {
        for y in 0..size[1] {
            for x in 0..size[0] {
                let i = index(size, x, y, z);
                let p = [
                    x as f64 * spacing[0],
                    y as f64 * spacing[1],
                    z as f64 * spacing[2],
                ];
                let r = (0..3)
                    .map(|k| (p[k] - centre[k]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                truth[i] = r <= 10.0;
                // Noise (sum of uniforms, sd ≈ 17) against a contrast of 150.
                let noise: f64 = (0..4).map(|_| rng.unit() - 0.5).sum::<f64>() * 60.0;
                values[i] = ((if truth[i] { 200.0 } else { 50.0 }) + noise) as f32;
                if r <= 2.0 {
                    seeds[i] = 1;
                } else if (15.0..16.0).contains(&r) {
                    seeds[i] = 2;
                }
            }
        }
    }
    for params in [
        SeedParams::default(),
        SeedParams {
            distance_penalty: 0.0,
            ..SeedParams::default()
        },
    ] {
        let labels = grow_from_seeds(&values, size, spacing, &seeds, params).unwrap();
        let both = (0..n).filter(|&i| truth[i] && labels[i] == 1).count();
        let dice = 2.0 * both as f64
            / (truth.iter().filter(|&&t| t).count() + labels.iter().filter(|&&l| l == 1).count())
                as f64;
        assert!(dice >= 0.95, "dice {dice} with {params:?}");
    }
}

#[test]
fn no_seeds_give_zero_and_one_label_fills_everything() {
    let size = [9, 5, 4];
    let n = 180;
    let mut rng = Rng(1);
    let values = random_image(&mut rng, n);
    let mut grower =
        SeedGrower::new(values.clone(), size, [1.0; 3], SeedParams::default()).unwrap();
    assert_eq!(grower.labels(), &vec![0u8; n][..]);
    assert_eq!(grower.update(&vec![0; n]).unwrap(), &vec![0u8; n][..]);
    let mut seeds = vec![0u8; n];
    seeds[17] = 6;
    assert_eq!(grower.update(&seeds).unwrap(), &vec![6u8; n][..]);
    seeds[100] = 6;
    assert_eq!(grower.update(&seeds).unwrap(), &vec![6u8; n][..]);
    assert_eq!(grower.last_update(), Some(UpdateKind::Incremental));
    assert_eq!(
        grow_from_seeds(&values, size, [2.0; 3], &seeds, SeedParams::default()).unwrap(),
        vec![6u8; n]
    );
    // Degenerate ROIs work too.
    assert_eq!(
        grow_from_seeds(&[5.0], [1, 1, 1], [1.0; 3], &[3], SeedParams::default()).unwrap(),
        vec![3]
    );
    let line = grow_from_seeds(
        &[0.0, 0.0, 0.0, 0.0],
        [4, 1, 1],
        [1.0; 3],
        &[1, 0, 0, 2],
        SeedParams::default(),
    );
    assert_eq!(line.unwrap(), vec![1, 1, 2, 2]);
}

#[test]
fn exact_ties_go_to_the_smaller_label() {
    // Flat line, no spatial term: the middle voxel is one step from each seed.
    let params = SeedParams {
        distance_penalty: 0.0,
        connectivity: Connectivity::Face,
    };
    let got = grow_from_seeds(&[1.0; 3], [3, 1, 1], [1.0; 3], &[7, 0, 5], params).unwrap();
    assert_eq!(got, vec![7, 5, 5]);
}

#[test]
fn bad_input_is_an_error() {
    let p = SeedParams::default();
    let v = vec![0.0f32; 24];
    let s = vec![0u8; 24];
    let size = [4, 3, 2];
    let err = |r: Result<Vec<u8>, SeedsError>| r.unwrap_err();
    assert_eq!(
        err(grow_from_seeds(&v[..23], size, [1.0; 3], &s, p)),
        SeedsError::ValuesLength {
            expected: 24,
            got: 23
        }
    );
    assert_eq!(
        err(grow_from_seeds(&v, size, [1.0; 3], &s[..5], p)),
        SeedsError::SeedsLength {
            expected: 24,
            got: 5
        }
    );
    assert_eq!(
        err(grow_from_seeds(&[], [0, 3, 2], [1.0; 3], &[], p)),
        SeedsError::EmptyRoi { size: [0, 3, 2] }
    );
    assert!(matches!(
        err(grow_from_seeds(&v, [usize::MAX, 3, 2], [1.0; 3], &s, p)),
        SeedsError::TooLarge { .. }
    ));
    assert!(matches!(
        err(grow_from_seeds(&v, [1024, 1024, 1024], [1.0; 3], &s, p)),
        SeedsError::TooLarge { .. }
    ));
    for spacing in [
        [f64::NAN, 1.0, 1.0],
        [1.0, f64::INFINITY, 1.0],
        [1.0, 1.0, 0.0],
        [-1.0, 1.0, 1.0],
        [1e300; 3],
    ] {
        let e = err(grow_from_seeds(&v, size, spacing, &s, p));
        assert!(matches!(e, SeedsError::InvalidSpacing(_)), "{e:?}");
    }
    for penalty in [-1.0, f64::NAN, f64::INFINITY, 1e308] {
        let params = SeedParams {
            distance_penalty: penalty,
            ..p
        };
        let e = err(grow_from_seeds(&v, size, [10.0; 3], &s, params));
        assert!(matches!(e, SeedsError::InvalidDistancePenalty(_)), "{e:?}");
    }
    let mut bad = v.clone();
    bad[5] = f32::NAN;
    assert_eq!(
        err(grow_from_seeds(&bad, size, [1.0; 3], &s, p)),
        SeedsError::NonFiniteValue { index: 5 }
    );
    let mut grower = SeedGrower::new(v, size, [1.0; 3], p).unwrap();
    assert_eq!(
        grower.update(&s[..3]).unwrap_err(),
        SeedsError::SeedsLength {
            expected: 24,
            got: 3
        }
    );
}
