//! Default label colours. Kept in `annotate` (not `render`) so that the label
//! model does not depend on display code; the renderer re-exports it.

/// Default label colours (RGB), ITK-SNAP's first entries; label 0 is never drawn.
pub fn default_label_color(label: u8) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 12] = [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [255, 255, 0],
        [0, 255, 255],
        [255, 0, 255],
        [255, 239, 213],
        [0, 0, 205],
        [205, 133, 63],
        [210, 180, 140],
        [102, 205, 170],
        [0, 0, 128],
    ];
    PALETTE[(label.max(1) as usize - 1) % PALETTE.len()]
}
