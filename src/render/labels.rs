//! Label masks for display: colours, and the r8uint texture (kept in
//! [`crate::gpu::label_texture`], re-exported here). Reading label maps onto
//! the image grid is [`crate::annotate::label_formats`]'s.

pub use crate::annotate::palette::default_label_color;
pub use crate::gpu::label_texture::LabelTexture;

/// Colour and opacity of every label value, as the shaders read it (256 × RGBA8
/// packed in u32, little-endian R first). Label 0 is transparent.
pub fn label_lut(opacity: f32) -> Vec<u32> {
    (0..=255u8)
        .map(|l| {
            if l == 0 {
                return 0;
            }
            let [r, g, b] = default_label_color(l);
            let a = (opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
            u32::from_le_bytes([r, g, b, a])
        })
        .collect()
}

/// Colours and opacities of a described label set, in the packing of
/// [`label_lut`]: each label's own colour and opacity, hidden labels
/// transparent, and undescribed labels in the default colour at `default_opacity`.
pub fn label_lut_for(set: &crate::annotate::labels::LabelSet, default_opacity: f32) -> Vec<u32> {
    let mut lut = label_lut(default_opacity);
    for l in set.labels.iter().filter(|l| l.value != 0) {
        let a = if l.visible {
            (l.opacity.clamp(0.0, 1.0) * 255.0).round() as u8
        } else {
            0
        };
        let [r, g, b] = l.color;
        lut[l.value as usize] = u32::from_le_bytes([r, g, b, a]);
    }
    lut
}
