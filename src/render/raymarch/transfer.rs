//! Transfer-function presets (DVR) and window presets (MIP/MinIP/average).

/// Entries of the transfer-function lookup table.
pub const TF_ENTRIES: usize = 256;

/// DVR transfer-function presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferPreset {
    CtBone,
    CtSoftTissue,
    CtLung,
    CtAngio,
    MrDefault,
}

impl TransferPreset {
    pub const ALL: [TransferPreset; 5] = [
        TransferPreset::CtBone,
        TransferPreset::CtSoftTissue,
        TransferPreset::CtLung,
        TransferPreset::CtAngio,
        TransferPreset::MrDefault,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TransferPreset::CtBone => "ct-bone",
            TransferPreset::CtSoftTissue => "ct-soft-tissue",
            TransferPreset::CtLung => "ct-lung",
            TransferPreset::CtAngio => "ct-angio",
            TransferPreset::MrDefault => "mr-default",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// CT window (centre, width) in HU used when the preset is given for MIP/MinIP/average;
    /// `None` (MR) keeps the volume's [min, max].
    pub fn window(self) -> Option<(f64, f64)> {
        match self {
            TransferPreset::CtBone => Some((400.0, 1800.0)),
            TransferPreset::CtSoftTissue => Some((40.0, 400.0)),
            TransferPreset::CtLung => Some((-600.0, 1500.0)),
            TransferPreset::CtAngio => Some((300.0, 600.0)),
            TransferPreset::MrDefault => None,
        }
    }

    /// Control points (value, [r, g, b, alpha]); alpha is per `ref_step` (the smallest
    /// voxel spacing). CT values are HU; MR values are fractions of the volume's range.
    fn points(self) -> &'static [(f64, [f32; 4])] {
        match self {
            TransferPreset::CtBone => &[
                (150.0, [0.90, 0.80, 0.65, 0.0]),
                (300.0, [0.95, 0.85, 0.70, 0.35]),
                (1000.0, [1.00, 0.97, 0.90, 0.85]),
                (3000.0, [1.00, 1.00, 1.00, 0.95]),
            ],
            TransferPreset::CtSoftTissue => &[
                (-150.0, [0.80, 0.45, 0.35, 0.0]),
                (-50.0, [0.85, 0.55, 0.45, 0.04]),
                (60.0, [0.90, 0.45, 0.40, 0.12]),
                (200.0, [0.95, 0.85, 0.75, 0.30]),
                (1000.0, [1.00, 1.00, 0.95, 0.80]),
            ],
            TransferPreset::CtLung => &[
                (-950.0, [0.55, 0.65, 0.90, 0.0]),
                (-800.0, [0.70, 0.80, 1.00, 0.10]),
                (-500.0, [0.90, 0.70, 0.65, 0.20]),
                (-300.0, [0.90, 0.60, 0.55, 0.0]),
            ],
            TransferPreset::CtAngio => &[
                (120.0, [0.80, 0.10, 0.10, 0.0]),
                (200.0, [0.90, 0.20, 0.15, 0.30]),
                (400.0, [1.00, 0.75, 0.65, 0.60]),
                (1200.0, [1.00, 1.00, 1.00, 0.90]),
            ],
            TransferPreset::MrDefault => &[
                (0.10, [0.60, 0.50, 0.45, 0.0]),
                (0.30, [0.85, 0.75, 0.65, 0.08]),
                (1.00, [1.00, 1.00, 1.00, 0.60]),
            ],
        }
    }

    /// The lookup table over `[lo, hi]`; MR presets scale to the volume's range.
    pub fn build(self, volume_range: (f64, f64)) -> TransferFunction {
        let (lo, hi, scale, offset) = match self {
            TransferPreset::MrDefault => {
                let (a, b) = volume_range;
                let span = (b - a).max(1e-6);
                (a, a + span, span, a)
            }
            _ => (-1024.0, 3071.0, 1.0, 0.0),
        };
        let pts: Vec<(f64, [f32; 4])> = self
            .points()
            .iter()
            .map(|&(v, c)| (v * scale + offset, c))
            .collect();
        TransferFunction::from_points(lo, hi, &pts)
    }
}

/// A 1-D RGBA lookup table over the value range `[lo, hi]` (entry i at
/// `lo + i·(hi − lo)/255`, linearly interpolated in the shader).
#[derive(Clone, Debug, PartialEq)]
pub struct TransferFunction {
    pub lo: f64,
    pub hi: f64,
    pub rgba: Vec<[f32; 4]>,
}

impl TransferFunction {
    /// Piecewise-linear through the control points; transparent outside them.
    pub fn from_points(lo: f64, hi: f64, points: &[(f64, [f32; 4])]) -> Self {
        let rgba = (0..TF_ENTRIES)
            .map(|i| {
                let v = lo + (hi - lo) * i as f64 / (TF_ENTRIES - 1) as f64;
                let Some(k) = points.windows(2).position(|w| v >= w[0].0 && v <= w[1].0) else {
                    return [0.0; 4];
                };
                let (a, b) = (points[k], points[k + 1]);
                let f = ((v - a.0) / (b.0 - a.0).max(1e-12)) as f32;
                std::array::from_fn(|c| a.1[c] + (b.1[c] - a.1[c]) * f)
            })
            .collect();
        TransferFunction { lo, hi, rgba }
    }

    /// `prefix[i]` = entries with alpha > 0 among `rgba[..i]` (length 257): the shader's
    /// empty-space test for a value range.
    pub fn nonzero_prefix(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.rgba.len() + 1);
        let mut n = 0u32;
        out.push(0);
        for c in &self.rgba {
            n += u32::from(c[3] > 0.0);
            out.push(n);
        }
        out
    }
}

/// A TF colour as the shader stores it: RGB8 in the low three bytes (as WGSL's
/// pack4x8unorm), read back by [`unpack_rgb8`] (as unpack4x8unorm).
pub fn pack_rgb8(rgb: [f32; 3]) -> u32 {
    rgb.iter().enumerate().fold(0u32, |acc, (n, &c)| {
        acc | (u32::from((c.clamp(0.0, 1.0) * 255.0).round() as u8) << (8 * n))
    })
}

/// The colour the shader reads from [`pack_rgb8`]'s word.
pub fn unpack_rgb8(word: u32) -> [f32; 3] {
    [0, 1, 2].map(|n| ((word >> (8 * n)) & 0xff) as f32 / 255.0)
}

/// Opacity `alpha` defined per reference step, for a step `exponent` times as
/// long: `1 - (1 - alpha)^exponent` (the same opacity per mm).
pub fn corrected_alpha(alpha: f32, exponent: f64) -> f32 {
    (1.0 - (1.0 - f64::from(alpha).clamp(0.0, 1.0)).powf(exponent)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_opaque_parts_and_transparent_air() {
        for p in TransferPreset::ALL {
            let tf = p.build((0.0, 1000.0));
            assert_eq!(tf.rgba.len(), TF_ENTRIES);
            assert!(tf.rgba.iter().any(|c| c[3] > 0.0), "{p:?}");
            assert_eq!(
                tf.rgba[0][3], 0.0,
                "{p:?}: lowest value must be transparent"
            );
            let prefix = tf.nonzero_prefix();
            assert_eq!(prefix.len(), TF_ENTRIES + 1);
            assert_eq!(prefix[0], 0);
        }
    }
}
