//! Window centre/width to grey, colour lookup tables, CT presets and the automatic
//! MR window. The CPU functions here are the reference the GPU pass must equal.
//!
//! # Windowing formula (keep in sync with `window_grey` in shaders/mpr.wgsl)
//!
//! DICOM's LINEAR_EXACT VOI function (PS3.3 C.11.2.1.3.2), quantised into 256
//! equal bins of the window:
//!
//! ```text
//! lo    = f32(center - width / 2)          (computed in f64, rounded once)
//! scale = f32(256 / width)                 (computed in f64, rounded once)
//! grey  = clamp(floor((f32(value) - lo) * scale), 0, 255)
//! ```
//!
//! Only one f32 subtraction and one f32 multiplication run per value; both are
//! correctly rounded in IEEE and WGSL and cannot be fused into an FMA, so the GPU
//! and [`grey`] agree bit for bit. Values at or below `lo` are 0, values at or
//! above `lo + width` are 255, and each grey level covers `width / 256` units.

/// Smallest window width accepted; narrower windows are widened to this.
pub const MIN_WIDTH: f64 = 1e-3;

/// A window in the image's units (HU for CT).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

impl Window {
    pub const fn new(center: f64, width: f64) -> Self {
        Window { center, width }
    }

    /// `(lo, scale)` exactly as the shader receives them.
    pub fn gpu_params(&self) -> (f32, f32) {
        let width = if self.width.is_finite() {
            self.width.max(MIN_WIDTH)
        } else {
            MIN_WIDTH
        };
        let lo = (self.center - width / 2.0) as f32;
        let scale = (256.0 / width) as f32;
        (lo, scale)
    }

    /// Grey level of `value` under this window.
    pub fn grey(&self, value: f64) -> u8 {
        let (lo, scale) = self.gpu_params();
        grey_from_params(value as f32, lo, scale)
    }
}

/// Window (centre, width) that maps `lo` to 0 and `hi` to 255: the last grey
/// bin is centred on `hi`, so float rounding cannot push it down to 254. The
/// raymarcher's default window (the image's value range).
pub fn window_for_range(lo: f64, hi: f64) -> (f64, f64) {
    let span = (hi - lo).max(0.0);
    let width = if span > 0.0 {
        span * 256.0 / 255.5
    } else {
        1.0
    };
    (lo + width / 2.0, width)
}

/// Grey level (0..=255) of `value` under the window `center`/`width`; see the module docs.
pub fn grey(value: f64, center: f64, width: f64) -> u8 {
    Window::new(center, width).grey(value)
}

/// The per-value part of the formula, in the shader's operation order.
fn grey_from_params(value: f32, lo: f32, scale: f32) -> u8 {
    let t = ((value - lo) * scale).floor();
    // NaN maps to 0 like the shader's clamp of a NaN (which returns a bound).
    if t.is_nan() {
        0
    } else {
        t.clamp(0.0, 255.0) as u8
    }
}

/// CT window presets (centre, width in HU).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtPreset {
    Brain,
    Subdural,
    Stroke,
    SoftTissue,
    Liver,
    Mediastinum,
    Lung,
    Bone,
}

impl CtPreset {
    pub const ALL: [CtPreset; 8] = [
        CtPreset::Brain,
        CtPreset::Subdural,
        CtPreset::Stroke,
        CtPreset::SoftTissue,
        CtPreset::Liver,
        CtPreset::Mediastinum,
        CtPreset::Lung,
        CtPreset::Bone,
    ];

    pub fn window(self) -> Window {
        let (center_hu, width_hu) = match self {
            CtPreset::Brain => (40.0, 80.0),
            CtPreset::Subdural => (75.0, 215.0),
            CtPreset::Stroke => (40.0, 40.0),
            CtPreset::SoftTissue => (40.0, 400.0),
            CtPreset::Liver => (60.0, 160.0),
            CtPreset::Mediastinum => (50.0, 350.0),
            CtPreset::Lung => (-600.0, 1500.0),
            CtPreset::Bone => (480.0, 2500.0),
        };
        Window::new(center_hu, width_hu)
    }

    /// Name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CtPreset::Brain => "brain",
            CtPreset::Subdural => "subdural",
            CtPreset::Stroke => "stroke",
            CtPreset::SoftTissue => "soft-tissue",
            CtPreset::Liver => "liver",
            CtPreset::Mediastinum => "mediastinum",
            CtPreset::Lung => "lung",
            CtPreset::Bone => "bone",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Percentiles used for the automatic window.
pub const AUTO_LOW_PERCENTILE: f64 = 1.0;
pub const AUTO_HIGH_PERCENTILE: f64 = 99.0;

/// Automatic window for MR and unknown modalities: from the 1st to the 99th
/// percentile of ALL voxels (background included), percentiles interpolated
/// linearly between order statistics as numpy's default `np.percentile` does.
/// Returns `None` for an empty slice.
pub fn auto_window(values: &[f64]) -> Option<Window> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    let lo = percentile_in_place(&mut v, AUTO_LOW_PERCENTILE);
    let hi = percentile_in_place(&mut v, AUTO_HIGH_PERCENTILE);
    let width = (hi - lo).max(1.0);
    Some(Window::new((lo + hi) / 2.0, width))
}

/// The window rayseg shows first: soft tissue for CT, [`auto_window`] otherwise.
pub fn default_window(volume: &crate::volume::Volume) -> Window {
    if volume.modality == crate::volume::Modality::Ct {
        return CtPreset::SoftTissue.window();
    }
    let values: Vec<f64> = (0..volume.data.len())
        .filter_map(|i| volume.data.get_f64(i))
        .collect();
    auto_window(&values).unwrap_or(Window::new(0.0, 1.0))
}

/// numpy's linear percentile; reorders `v` (selection, not a full sort).
fn percentile_in_place(v: &mut [f64], percent: f64) -> f64 {
    let pos = (percent / 100.0).clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let below = pos.floor() as usize;
    let frac = pos - below as f64;
    let (_, &mut a, _) = v.select_nth_unstable_by(below, f64::total_cmp);
    if frac == 0.0 || below + 1 >= v.len() {
        return a;
    }
    // The next order statistic is the smallest value above position `below`.
    let b = v[below + 1..].iter().copied().fold(f64::INFINITY, f64::min);
    a + (b - a) * frac
}

/// Colour lookup tables applied to the grey level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lut {
    #[default]
    Grey,
    InvertedGrey,
    /// Black–red–yellow–white.
    Hot,
    /// Cyan to magenta.
    Cool,
    /// Grey with a blue tint in the darks (as in MATLAB's "bone").
    Bone,
}

impl Lut {
    pub const ALL: [Lut; 5] = [Lut::Grey, Lut::InvertedGrey, Lut::Hot, Lut::Cool, Lut::Bone];

    pub fn name(self) -> &'static str {
        match self {
            Lut::Grey => "grey",
            Lut::InvertedGrey => "inverted",
            Lut::Hot => "hot",
            Lut::Cool => "cool",
            Lut::Bone => "bone",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "gray" | "grey" => Some(Lut::Grey),
            "inverted" | "inverted-grey" | "inverted-gray" | "invert" => Some(Lut::InvertedGrey),
            "hot" => Some(Lut::Hot),
            "cool" => Some(Lut::Cool),
            "bone" => Some(Lut::Bone),
            _ => None,
        }
    }

    /// RGB of grey level `g`.
    pub fn rgb(self, g: u8) -> [u8; 3] {
        let x = g as f64 / 255.0;
        let q = |v: f64| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        match self {
            Lut::Grey => [g, g, g],
            Lut::InvertedGrey => [255 - g, 255 - g, 255 - g],
            Lut::Hot => [q(x * 3.0), q(x * 3.0 - 1.0), q(x * 3.0 - 2.0)],
            Lut::Cool => [q(x), q(1.0 - x), 255],
            Lut::Bone => {
                // MATLAB: (7·gray + hot with channels reversed) / 8.
                let hot_bgr = [q(x * 3.0 - 2.0), q(x * 3.0 - 1.0), q(x * 3.0)];
                hot_bgr.map(|h| ((7.0 * x * 255.0 + h as f64) / 8.0).round() as u8)
            }
        }
    }

    /// 256 × RGBA8 packed in u32 (little-endian, R first; alpha 255), as the shader reads it.
    pub fn table(self) -> Vec<u32> {
        (0..=255u8)
            .map(|g| {
                let [r, gg, b] = self.rgb(g);
                u32::from_le_bytes([r, gg, b, 255])
            })
            .collect()
    }
}
