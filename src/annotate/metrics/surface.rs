//! Surface distances between two masks on their shared cell grid, and the
//! area-weighted summaries DeepMind's `surface-distance` computes from them.

use rayon::prelude::*;

use super::neighbour_codes::is_surface;
use crate::annotate::effects::distance::distance_sq_mm;
use crate::annotate::effects::mask::Mask;

/// Relative slack on the surface-Dice tolerance, so that a distance equal to
/// it in exact arithmetic counts as within whatever way it rounded.
const TOLERANCE_SLACK: f64 = 1e-12;

/// One direction (surface X to surface Y) summarised; distances in mm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Directed {
    /// Total area of X's surface, mm².
    pub area_mm2: f64,
    /// Area of X's surface within the tolerance of Y, mm².
    pub area_within_mm2: f64,
    /// Area-weighted sums and extremes of the distances from X to Y.
    pub weighted_sum_mm3: f64,
    pub max_mm: f64,
    /// Area-weighted percentile (the one asked for) of the distances.
    pub percentile_mm: f64,
}

impl Directed {
    pub fn mean_mm(&self) -> f64 {
        self.weighted_sum_mm3 / self.area_mm2
    }
}

/// Total surface area (mm²) of cells with the given codes.
pub fn surface_area_mm2(codes: &[u8], areas_mm2: &[f64; 256]) -> f64 {
    codes.par_iter().map(|&c| areas_mm2[usize::from(c)]).sum()
}

/// Distances from each surface cell of `from` to the surface of `to` (both
/// codes on the cell grid `size`), as (distance mm, area mm²) pairs. `None`
/// when `to` has no surface.
pub fn distances_to(
    from: &[u8],
    to: &[u8],
    size: [usize; 3],
    spacing_mm: [f64; 3],
    areas_mm2: &[f64; 256],
) -> Option<Vec<(f64, f64)>> {
    let target = Mask::from_bits(size, to.par_iter().map(|&c| is_surface(c)).collect());
    if !target.bits.par_iter().any(|&b| b) {
        return None;
    }
    let d2 = distance_sq_mm(&target, spacing_mm);
    Some(
        from.par_iter()
            .zip(&d2)
            .filter(|(c, _)| is_surface(**c))
            .map(|(&c, &d2)| (d2.sqrt(), areas_mm2[usize::from(c)]))
            .collect(),
    )
}

/// Summarises (distance, area) pairs as DeepMind does: the percentile is the
/// distance at the first surfel whose cumulative area, in ascending order of
/// distance, reaches `percent`% of the total (`compute_robust_hausdorff`).
/// `None` for an empty list.
pub fn summarise(
    mut surfels: Vec<(f64, f64)>,
    percent: f64,
    tolerance_mm: f64,
) -> Option<Directed> {
    if surfels.is_empty() {
        return None;
    }
    surfels.par_sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
    let area_mm2: f64 = surfels.iter().map(|s| s.1).sum();
    let limit = tolerance_mm * (1.0 + TOLERANCE_SLACK);
    let (mut weighted_sum_mm3, mut area_within_mm2) = (0.0, 0.0);
    let (mut cumulative, mut percentile_mm) = (0.0, None);
    let q = percent / 100.0;
    for &(d, a) in &surfels {
        weighted_sum_mm3 += d * a;
        if d <= limit {
            area_within_mm2 += a;
        }
        cumulative += a;
        if percentile_mm.is_none() && cumulative / area_mm2 >= q {
            percentile_mm = Some(d);
        }
    }
    let max_mm = surfels[surfels.len() - 1].0;
    Some(Directed {
        area_mm2,
        area_within_mm2,
        weighted_sum_mm3,
        max_mm,
        percentile_mm: percentile_mm.unwrap_or(max_mm),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotate::metrics::neighbour_codes::{cell_codes, surfel_areas_mm2};

    #[test]
    fn percentile_is_the_first_surfel_whose_cumulative_area_reaches_it() {
        let unit = vec![(3.0, 1.0), (0.0, 1.0), (2.0, 1.0), (1.0, 1.0)];
        let s = summarise(unit.clone(), 50.0, 1.0).unwrap();
        assert_eq!(s.percentile_mm, 1.0);
        assert_eq!(
            summarise(unit.clone(), 95.0, 1.0).unwrap().percentile_mm,
            3.0
        );
        assert_eq!((s.max_mm, s.area_mm2, s.mean_mm()), (3.0, 4.0, 1.5));
        // Distances 0 and 1 are within 1 mm.
        assert_eq!(s.area_within_mm2, 2.0);
        // Weighted by area: 0 mm carries three quarters of it.
        let weighted = vec![(10.0, 1.0), (0.0, 3.0)];
        assert_eq!(
            summarise(weighted.clone(), 75.0, 1.0)
                .unwrap()
                .percentile_mm,
            0.0
        );
        assert_eq!(summarise(weighted, 76.0, 1.0).unwrap().percentile_mm, 10.0);
        assert_eq!(summarise(Vec::new(), 95.0, 1.0), None);
    }

    /// Surfel corners as world points (mm) of a box's cell grid.
    fn surfel_points(codes: &[u8], size: [usize; 3], s: [f64; 3]) -> Vec<[f64; 3]> {
        (0..codes.len())
            .filter(|&c| is_surface(codes[c]))
            .map(|c| {
                let ijk = [
                    c % size[0],
                    (c / size[0]) % size[1],
                    c / (size[0] * size[1]),
                ];
                [0, 1, 2].map(|x| ijk[x] as f64 * s[x])
            })
            .collect()
    }

    #[test]
    fn distances_match_brute_force_between_surfels() {
        let (shape, s) = ([7, 6, 5], [0.7, 1.3, 2.5]);
        // Two overlapping shapes: a slab and a diagonal wedge.
        let mut a = vec![0u8; 210];
        let mut b = vec![0u8; 210];
        for v in 0..210 {
            let [i, j, k] = [v % 7, (v / 7) % 6, v / 42];
            a[v] = u8::from((1..4).contains(&j) && k < 4 && i > 0);
            b[v] = u8::from(i + j + k < 8 && k > 0);
        }
        let (lo, hi) = ([0; 3], [6, 5, 4]);
        let (ca, cb) = (
            cell_codes(&a, shape, 1, lo, hi),
            cell_codes(&b, shape, 1, lo, hi),
        );
        let size = [8, 7, 6];
        let areas = surfel_areas_mm2(s);
        let got = distances_to(&ca, &cb, size, s, &areas).unwrap();
        let (pa, pb) = (surfel_points(&ca, size, s), surfel_points(&cb, size, s));
        assert_eq!(got.len(), pa.len());
        let mut want: Vec<f64> = pa
            .iter()
            .map(|p| {
                pb.iter()
                    .map(|q| (0..3).map(|x| (p[x] - q[x]).powi(2)).sum::<f64>().sqrt())
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        let mut got: Vec<f64> = got.iter().map(|g| g.0).collect();
        want.sort_by(f64::total_cmp);
        got.sort_by(f64::total_cmp);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-9, "{g} vs {w}");
        }
        assert!(want.iter().any(|&w| w > 1.0));
    }

    #[test]
    fn no_distances_to_an_empty_surface() {
        let codes = vec![0u8; 8];
        let areas = surfel_areas_mm2([1.0; 3]);
        assert_eq!(
            distances_to(&[1; 8], &codes, [2, 2, 2], [1.0; 3], &areas),
            None
        );
        assert_eq!(surface_area_mm2(&codes, &areas), 0.0);
    }
}
