//! Centred initialisers, as ITK's CenteredTransformInitializer: the centre of
//! rotation is the fixed image's geometric centre (or its centre of mass),
//! and the translation takes it to the moving image's matching centre.

use glam::DVec3;
use rayon::prelude::*;

use super::pyramid::Image;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Initializer {
    /// Grid centre to grid centre (ITK GEOMETRY).
    Geometry,
    /// Centre of mass to centre of mass (ITK MOMENTS), intensities taken
    /// above the image minimum so CT air weighs nothing.
    Moments,
    /// No translation, centre of rotation at the fixed grid centre.
    Identity,
    /// Whichever of the three gives the lowest metric at the coarsest level.
    #[default]
    Auto,
}

impl Initializer {
    pub fn as_str(self) -> &'static str {
        match self {
            Initializer::Geometry => "geometry",
            Initializer::Moments => "moments",
            Initializer::Identity => "identity",
            Initializer::Auto => "auto",
        }
    }
}

/// (centre of rotation, translation) of one initialiser, in LPS mm.
pub fn centre_and_translation(
    how: Initializer,
    fixed: &Image,
    moving: &Image,
    fixed_mask: Option<&[u8]>,
) -> (DVec3, DVec3) {
    match how {
        Initializer::Moments => {
            let f = centre_of_mass(fixed, fixed_mask).unwrap_or(fixed.centre_lps());
            let m = centre_of_mass(moving, None).unwrap_or(moving.centre_lps());
            (f, m - f)
        }
        Initializer::Identity => (fixed.centre_lps(), DVec3::ZERO),
        Initializer::Geometry | Initializer::Auto => {
            let f = fixed.centre_lps();
            (f, moving.centre_lps() - f)
        }
    }
}

/// Intensity-weighted centre (weights = value − minimum); None when all
/// weights are zero.
fn centre_of_mass(image: &Image, mask: Option<&[u8]>) -> Option<DVec3> {
    let (lo, _) = image.min_max();
    let [ni, nj, _] = image.shape;
    let (sum, weight) = image
        .data
        .par_chunks(ni * nj)
        .enumerate()
        .map(|(k, slice)| {
            let mut s = DVec3::ZERO;
            let mut w = 0.0;
            for (n, &v) in slice.iter().enumerate() {
                if mask.is_some_and(|m| m[n + k * ni * nj] == 0) {
                    continue;
                }
                let x = v as f64 - lo;
                s += x * DVec3::new((n % ni) as f64, (n / ni) as f64, k as f64);
                w += x;
            }
            (s, w)
        })
        .reduce(|| (DVec3::ZERO, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    (weight > 0.0).then(|| image.lps_from_index.transform_point3(sum / weight))
}
