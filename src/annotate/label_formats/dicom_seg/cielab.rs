//! RecommendedDisplayCIELabValue (0062,000D): sRGB ↔ CIELab (D65) in DICOM's
//! 16-bit scaling, the formulas of pixelmed's `ColorUtilities` that highdicom
//! (`highdicom.color`) and dcmqi use, so a colour written here reads back as
//! the same RGB there.
//!
//! DICOM scaling (PS3.3 C.10.7.1.1): L* 0..100 → 0..0xFFFF, a* and b*
//! −128..127 → 0..0xFFFF (0 is 0x8080).

/// D65 white point in XYZ (× 100), as pixelmed and highdicom take it.
const WHITE_XYZ: [f64; 3] = [95.047, 100.0, 108.883];

/// Python's `round` (half to even), which highdicom scales with.
fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

fn srgb_to_linear(c: f64) -> f64 {
    if c > 0.04045 {
        ((c + 0.055) / 1.055).powf(2.4)
    } else {
        c / 12.92
    }
}

fn linear_to_srgb(c: f64) -> f64 {
    if c > 0.0031308 {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    } else {
        12.92 * c
    }
}

/// sRGB (0..255 each) to (L*, a*, b*).
pub fn rgb_to_lab(rgb: [u8; 3]) -> [f64; 3] {
    let [r, g, b] = rgb.map(|c| srgb_to_linear(f64::from(c) / 255.0) * 100.0);
    let xyz = [
        r * 0.4124 + g * 0.3576 + b * 0.1805,
        r * 0.2126 + g * 0.7152 + b * 0.0722,
        r * 0.0193 + g * 0.1192 + b * 0.9505,
    ];
    let f = |c: f64| {
        if c >= 8.856_451_679_035_631e-3 {
            c.cbrt()
        } else {
            (841.0 / 108.0) * c + 4.0 / 29.0
        }
    };
    let [x, y, z] = [0, 1, 2].map(|i| f(xyz[i] / WHITE_XYZ[i]));
    [116.0 * y - 16.0, 500.0 * (x - y), 200.0 * (y - z)]
}

/// (L*, a*, b*) to sRGB, clipped to 0..255 (CIELab holds colours sRGB cannot).
pub fn lab_to_rgb(lab: [f64; 3]) -> [u8; 3] {
    let [l, a, b] = lab;
    let y = (l + 16.0) / 116.0;
    let x = a / 500.0 + y;
    let z = y - b / 200.0;
    let f = |c: f64| {
        let c3 = c * c * c;
        if c3 > 0.008856 {
            c3
        } else {
            (c - 16.0 / 116.0) / 7.787
        }
    };
    let [x, y, z] = [f(x), f(y), f(z)];
    // WHITE_XYZ / 100 is the white point scaled back to 0..1.
    let [x, y, z] = [
        x * WHITE_XYZ[0] / 100.0,
        y * WHITE_XYZ[1] / 100.0,
        z * WHITE_XYZ[2] / 100.0,
    ];
    let r = x * 3.2406 + y * -1.5372 + z * -0.4986;
    let g = x * -0.9689 + y * 1.8758 + z * 0.0415;
    let b = x * 0.0557 + y * -0.2040 + z * 1.0570;
    [r, g, b].map(|c| round_half_even(linear_to_srgb(c) * 255.0).clamp(0.0, 255.0) as u8)
}

/// (L*, a*, b*) in DICOM's 16-bit scaling.
pub fn lab_to_dicom(lab: [f64; 3]) -> [u16; 3] {
    let scale = |x: f64, lo: f64, span: f64| {
        round_half_even((x - lo).clamp(0.0, span) * 65535.0 / span) as u16
    };
    [
        scale(lab[0], 0.0, 100.0),
        scale(lab[1], -128.0, 255.0),
        scale(lab[2], -128.0, 255.0),
    ]
}

/// DICOM's 16-bit values to (L*, a*, b*).
pub fn dicom_to_lab(value: [u16; 3]) -> [f64; 3] {
    let [l, a, b] = value.map(f64::from);
    [
        l * 100.0 / 65535.0,
        a * 255.0 / 65535.0 - 128.0,
        b * 255.0 / 65535.0 - 128.0,
    ]
}

/// An sRGB colour as RecommendedDisplayCIELabValue.
pub fn rgb_to_dicom_lab(rgb: [u8; 3]) -> [u16; 3] {
    lab_to_dicom(rgb_to_lab(rgb))
}

/// RecommendedDisplayCIELabValue as the nearest sRGB colour.
pub fn dicom_lab_to_rgb(value: [u16; 3]) -> [u8; 3] {
    lab_to_rgb(dicom_to_lab(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Oracle: highdicom 0.28.2 `CIELabColor.from_rgb(*rgb).value`.
    const HIGHDICOM: [([u8; 3], [u16; 3]); 9] = [
        ([255, 165, 0], [49107, 39048, 53188]),
        ([255, 0, 0], [34886, 53484, 50172]),
        ([0, 255, 0], [57498, 10747, 54274]),
        ([0, 0, 255], [21170, 53250, 5175]),
        ([255, 255, 255], [65535, 32897, 32893]),
        ([0, 0, 0], [0, 32896, 32896]),
        ([128, 174, 128], [43803, 26565, 37722]),
        ([255, 239, 213], [62308, 33224, 36627]),
        ([1, 2, 3], [334, 32865, 32775]),
    ];

    #[test]
    fn matches_highdicom_both_ways() {
        for (rgb, dicom) in HIGHDICOM {
            assert_eq!(rgb_to_dicom_lab(rgb), dicom, "{rgb:?}");
            assert_eq!(dicom_lab_to_rgb(dicom), rgb, "{dicom:?}");
        }
        // dcmqi's liver.dcm colour, as highdicom's `to_rgb` reads it.
        assert_eq!(dicom_lab_to_rgb([41661, 41167, 40792]), [221, 130, 101]);
    }

    #[test]
    fn every_grey_and_primary_ramp_round_trips() {
        for v in 0..=255u8 {
            for rgb in [
                [v, v, v],
                [v, 0, 0],
                [0, v, 0],
                [0, 0, v],
                [v, 255 - v, v / 2],
            ] {
                assert_eq!(dicom_lab_to_rgb(rgb_to_dicom_lab(rgb)), rgb);
            }
        }
    }

    #[test]
    fn out_of_gamut_values_clip() {
        // highdicom `to_rgb(clip=True)` gives (0, 255, 0) too.
        assert_eq!(dicom_lab_to_rgb([65535, 0, 65535]), [0, 255, 0]);
        assert_eq!(lab_to_dicom([150.0, -200.0, 300.0]), [65535, 0, 65535]);
    }
}
