//! Oracles are geometric facts about the inputs (discs, boxes, hulls,
//! connectivity), not re-runs of the algorithm.

use super::*;
use std::collections::HashSet;

/// Sets a disc of radius `r` at (cx, cy) on slice `s` across `axis`; (x, y)
/// run along the lower and higher of the other two axes.
fn disc(m: &mut Mask, axis: usize, s: usize, (cx, cy): (f64, f64), r: f64) {
    let [u, v] = [[1, 2], [0, 2], [0, 1]][axis];
    for y in 0..m.size[v] {
        for x in 0..m.size[u] {
            if (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2) <= r * r {
                let mut ijk = [0; 3];
                (ijk[axis], ijk[u], ijk[v]) = (s, x, y);
                m.set(ijk, true);
            }
        }
    }
}

/// Slice `k` of a k-axis drawing as (i, j) pixels.
fn pixels(m: &Mask, k: usize) -> Vec<(usize, usize)> {
    let mut px = Vec::new();
    for j in 0..m.size[1] {
        for i in 0..m.size[0] {
            if m.get([i, j, k]) {
                px.push((i, j));
            }
        }
    }
    px
}

fn slice_set(m: &Mask, k: usize) -> HashSet<(usize, usize)> {
    pixels(m, k).into_iter().collect()
}

/// Runs `interpolate` and checks what must hold for any input: drawn slices
/// unchanged, nothing outside the drawn range.
fn run(m: &Mask, axis: usize) -> Mask {
    let out = interpolate(m, axis).unwrap();
    assert_eq!(out.size, m.size);
    let drawn = drawn_slices(m, axis);
    for p in 0..m.bits.len() {
        let s = m.ijk(p)[axis];
        if drawn.contains(&s) {
            assert_eq!(out.bits[p], m.bits[p], "drawn slice {s} changed");
        } else if drawn.first().is_none_or(|&f| s < f) || drawn.last().is_none_or(|&l| s > l) {
            assert!(!out.bits[p], "slice {s} outside the drawn range filled");
        }
    }
    out
}

#[test]
fn identical_discs_fill_every_slice_between() {
    let mut m = Mask::new([40, 36, 14]);
    disc(&mut m, 2, 1, (20.0, 17.0), 6.5);
    disc(&mut m, 2, 11, (20.0, 17.0), 6.5);
    let out = run(&m, 2);
    let want = slice_set(&m, 1);
    for k in 2..11 {
        assert_eq!(slice_set(&out, k), want, "slice {k}");
    }
    assert!(pixels(&out, 0).is_empty() && pixels(&out, 12).is_empty());
}

#[test]
fn concentric_discs_grow_monotonically() {
    let mut m = Mask::new([32, 32, 11]);
    disc(&mut m, 2, 0, (16.0, 16.0), 4.0);
    disc(&mut m, 2, 10, (16.0, 16.0), 12.0);
    let out = run(&m, 2);
    for k in 0..10 {
        let (here, next) = (slice_set(&out, k), slice_set(&out, k + 1));
        assert!(
            here.is_subset(&next),
            "slice {k} not inside slice {}",
            k + 1
        );
        assert!(here.len() <= next.len(), "area falls at {k}");
    }
    // A slice may repeat its neighbour where the two differ by a single
    // dilation step, but overall it must grow.
    assert!(pixels(&out, 2).len() < pixels(&out, 8).len());
    // Equivalent radius √(area/π) of the middle slice: the median balances
    // areas, so √((4² + 12²) / 2) ≈ 8.9, within 8 ± 1.
    let r = (pixels(&out, 5).len() as f64 / std::f64::consts::PI).sqrt();
    assert!((7.0..=9.0).contains(&r), "middle radius {r}");
}

#[test]
fn shifted_disc_moves_halfway() {
    let mut m = Mask::new([48, 32, 11]);
    disc(&mut m, 2, 0, (20.0, 16.0), 6.0);
    disc(&mut m, 2, 10, (26.0, 16.0), 6.0);
    let out = run(&m, 2);
    let base = slice_set(&m, 0);
    let mut last_shift = 0;
    for k in 1..10 {
        // Every slice is the disc translated along i, never backwards.
        let shift = (0..=6)
            .find(|&d| slice_set(&out, k) == base.iter().map(|&(i, j)| (i + d, j)).collect())
            .unwrap_or_else(|| panic!("slice {k} is not a translated disc"));
        assert!(shift >= last_shift, "slice {k} moved back");
        last_shift = shift;
        if k == 5 {
            assert_eq!(shift, 3);
        }
    }
}

/// Convex hull (counter-clockwise) of integer points, monotone chain.
fn hull(mut pts: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    pts.sort_unstable();
    pts.dedup();
    let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut h: Vec<(i64, i64)> = Vec::new();
    for pass in [pts.clone(), pts.into_iter().rev().collect()] {
        let start = h.len();
        for p in pass {
            while h.len() >= start + 2 && cross(h[h.len() - 2], h[h.len() - 1], p) <= 0 {
                h.pop();
            }
            h.push(p);
        }
        h.pop();
    }
    h
}

fn in_hull(h: &[(i64, i64)], p: (i64, i64)) -> bool {
    (0..h.len()).all(|e| {
        let (a, b) = (h[e], h[(e + 1) % h.len()]);
        (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0) >= 0
    })
}

/// Whether the set voxels are one 6-connected object.
fn connected_3d(m: &Mask) -> bool {
    let on: Vec<usize> = (0..m.bits.len()).filter(|&p| m.bits[p]).collect();
    let Some(&start) = on.first() else {
        return true;
    };
    let mut seen = vec![false; m.bits.len()];
    let mut stack = vec![start];
    seen[start] = true;
    let mut count = 0;
    while let Some(p) = stack.pop() {
        count += 1;
        let c = m.ijk(p);
        for a in 0..3 {
            for d in [-1i64, 1] {
                let n = c[a] as i64 + d;
                if (0..m.size[a] as i64).contains(&n) {
                    let mut q = c;
                    q[a] = n as usize;
                    let q = m.index(q);
                    if m.bits[q] && !seen[q] {
                        seen[q] = true;
                        stack.push(q);
                    }
                }
            }
        }
    }
    count == on.len()
}

#[test]
fn split_and_merge_connect_and_stay_in_the_hull() {
    for (one, two) in [(0, 10), (10, 0)] {
        let mut m = Mask::new([48, 40, 11]);
        disc(&mut m, 2, one, (24.0, 20.0), 8.0);
        disc(&mut m, 2, two, (16.0, 20.0), 5.0);
        disc(&mut m, 2, two, (32.0, 20.0), 5.0);
        let out = run(&m, 2);
        // Corners of each input region's in-plane box (pixel centres).
        let mut corners = Vec::new();
        for (c, r) in [
            ((24.0, 20.0), 8.0),
            ((16.0, 20.0), 5.0),
            ((32.0, 20.0), 5.0),
        ] {
            let mut alone = Mask::new(m.size);
            disc(&mut alone, 2, 0, c, r);
            let px = pixels(&alone, 0);
            let is: Vec<i64> = px.iter().map(|p| p.0 as i64).collect();
            let js: Vec<i64> = px.iter().map(|p| p.1 as i64).collect();
            let (i0, i1) = (*is.iter().min().unwrap(), *is.iter().max().unwrap());
            let (j0, j1) = (*js.iter().min().unwrap(), *js.iter().max().unwrap());
            corners.extend([(i0, j0), (i1, j0), (i0, j1), (i1, j1)]);
        }
        let h = hull(corners);
        for k in 1..10 {
            let px = pixels(&out, k);
            assert!(!px.is_empty(), "slice {k} empty");
            for (i, j) in px {
                assert!(
                    in_hull(&h, (i as i64, j as i64)),
                    "({i}, {j}, {k}) outside the hull"
                );
            }
        }
        assert!(connected_3d(&out), "the split does not connect its parts");
    }
}

#[test]
fn appearing_and_ending_regions_taper_to_a_point() {
    let mut m = Mask::new([48, 48, 9]);
    disc(&mut m, 2, 0, (12.0, 12.0), 5.0); // ends: nothing overlaps it on 8
    disc(&mut m, 2, 8, (36.0, 34.0), 5.0); // appears: nothing overlaps it on 0
    let out = run(&m, 2);
    let (ending, appearing) = (slice_set(&m, 0), slice_set(&m, 8));
    let (mut prev_end, mut prev_new) = (ending.len(), 0);
    for k in 1..8 {
        let px = slice_set(&out, k);
        let end = px.intersection(&ending).count();
        let new = px.intersection(&appearing).count();
        assert_eq!(end + new, px.len(), "slice {k} strays outside both discs");
        assert!(end > 0 && new > 0, "slice {k} lost a region");
        assert!(end <= prev_end && new >= prev_new, "slice {k} not tapering");
        (prev_end, prev_new) = (end, new);
    }
    // Near the far end each is little more than a point.
    assert!(slice_set(&out, 7).intersection(&ending).count() * 4 < ending.len());
    assert!(slice_set(&out, 1).intersection(&appearing).count() * 4 < appearing.len());
}

#[test]
fn three_drawn_slices_with_irregular_gaps() {
    let mut m = Mask::new([32, 32, 30]);
    disc(&mut m, 2, 4, (16.0, 16.0), 5.0);
    disc(&mut m, 2, 7, (16.0, 16.0), 9.0);
    disc(&mut m, 2, 20, (16.0, 16.0), 3.0);
    let out = run(&m, 2);
    let area = |k| pixels(&out, k).len();
    for k in 4..7 {
        assert!(area(k) < area(k + 1), "not growing at {k}");
    }
    for k in 7..20 {
        assert!(area(k) >= area(k + 1), "not shrinking at {k}");
        assert!(area(k) > 0);
    }
    assert!((0..4).chain(21..30).all(|k| pixels(&out, k).is_empty()));
}

#[test]
fn detects_and_interpolates_along_each_axis() {
    for axis in 0..3 {
        let mut m = Mask::new([20, 24, 28]);
        let [u, v] = [[1, 2], [0, 2], [0, 1]][axis];
        let c = (m.size[u] as f64 / 2.0, m.size[v] as f64 / 2.0);
        disc(&mut m, axis, 3, c, 5.0);
        disc(&mut m, axis, 12, c, 5.0);
        assert_eq!(detect_axis(&m), Some(axis));
        assert_eq!(drawn_slices(&m, axis), vec![3, 12]);
        let out = run(&m, axis);
        // Every slice between is the same disc.
        let mut want = m.clone();
        for s in 4..12 {
            disc(&mut want, axis, s, c, 5.0);
        }
        assert_eq!(out, want, "axis {axis}");
    }
}

#[test]
fn nothing_to_fill_leaves_the_mask_alone() {
    let empty = Mask::new([8, 9, 10]);
    assert_eq!(detect_axis(&empty), None);
    assert_eq!(run(&empty, 2), empty);
    let mut single = Mask::new([16, 16, 10]);
    disc(&mut single, 2, 4, (8.0, 8.0), 4.0);
    assert_eq!(detect_axis(&single), None);
    assert_eq!(run(&single, 2), single);
    let mut adjacent = single.clone();
    disc(&mut adjacent, 2, 5, (8.0, 8.0), 3.0);
    assert_eq!(detect_axis(&adjacent), None);
    assert_eq!(run(&adjacent, 2), adjacent);
    assert_eq!(run(&Mask::new([0, 5, 5]), 1), Mask::new([0, 5, 5]));
}

#[test]
fn bad_axis_and_bad_masks_are_errors_not_panics() {
    let m = Mask::new([4, 4, 4]);
    assert_eq!(interpolate(&m, 3), Err(InterpolateError::BadAxis(3)));
    assert!(drawn_slices(&m, 7).is_empty());
    for bad in [
        Mask {
            size: [4, 4, 4],
            bits: vec![true; 10],
        },
        Mask {
            size: [usize::MAX, 3, 1],
            bits: vec![true; 3],
        },
    ] {
        assert!(matches!(
            interpolate(&bad, 0),
            Err(InterpolateError::BadMask { .. })
        ));
        assert!(drawn_slices(&bad, 0).is_empty());
        assert_eq!(detect_axis(&bad), None);
    }
}

#[test]
fn noisy_slices_with_many_to_many_regions() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for axis in 0..3 {
        for density in [15, 40, 70] {
            let mut m = Mask::new([19, 23, 17]);
            for p in 0..m.bits.len() {
                let s = m.ijk(p)[axis];
                m.bits[p] = [1, 5, 6, 12].contains(&s) && rnd() % 100 < density;
            }
            let out = run(&m, axis);
            for s in [2, 3, 4, 7, 8, 9, 10, 11] {
                let on = (0..out.bits.len()).any(|p| out.ijk(p)[axis] == s && out.bits[p]);
                assert!(on, "axis {axis} density {density}: slice {s} empty");
            }
        }
    }
}

/// `cargo test --release -- --ignored --nocapture`
#[test]
#[ignore]
fn timing_256_by_256_by_40_with_5_drawn() {
    let mut m = Mask::new([256, 256, 40]);
    for (n, k) in [0, 9, 19, 30, 39].into_iter().enumerate() {
        let n = n as f64;
        disc(
            &mut m,
            2,
            k,
            (128.0 + 6.0 * n, 120.0 + 3.0 * n),
            70.0 + 12.0 * n,
        );
        if k != 19 {
            disc(&mut m, 2, k, (40.0 + 2.0 * n, 200.0), 20.0); // a second region
        }
    }
    let start = std::time::Instant::now();
    let out = interpolate(&m, 2).unwrap();
    eprintln!("256×256×40, 5 drawn: {:?}", start.elapsed());
    assert!((1..39).all(|k| !pixels(&out, k).is_empty()));
}

/// `cargo test --release -- --ignored --nocapture`: one disc against a
/// slice of noise, thousands of partners.
#[test]
#[ignore]
fn timing_disc_against_noise() {
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut m = Mask::new([256, 256, 12]);
    disc(&mut m, 2, 0, (128.0, 128.0), 100.0);
    for j in 0..256 {
        for i in 0..256 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            m.set([i, j, 11], seed % 100 < 35);
        }
    }
    let start = std::time::Instant::now();
    let out = interpolate(&m, 2).unwrap();
    eprintln!("disc against noise: {:?}", start.elapsed());
    assert!((1..11).all(|k| !pixels(&out, k).is_empty()));
}
