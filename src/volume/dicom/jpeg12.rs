//! 12-bit lossy JPEG (DICOM JPEG Extended, process 2 & 4, transfer syntax
//! 1.2.840.10008.1.2.4.51), decoded with libjpeg-turbo-rs because
//! jpeg-decoder 0.3 (behind dicom-pixeldata) has no 12-bit DCT.

use libjpeg_turbo_rs::DecodeLimits;
use libjpeg_turbo_rs::precision::decompress_12bit_with_limits;

/// Decodes one frame's JPEG stream into native-endian 16-bit samples
/// (`rows × columns × 2` bytes, one sample per pixel), as `samples_to_i32`
/// reads them with BitsAllocated 16.
pub(crate) fn decode_frame(fragment: &[u8], rows: u32, columns: u32) -> Result<Vec<u8>, String> {
    let (rows, columns) = (rows as usize, columns as usize);
    let pixels = rows
        .checked_mul(columns)
        .ok_or("Rows × Columns overflows")?;
    // The DICOM header bounds the frame: a SOF larger than it is refused by
    // the codec before anything is sized from it.
    let limits = DecodeLimits {
        max_width: columns,
        max_height: rows,
        max_pixels: pixels as u64,
        // Component planes, upsampled planes and the result, 2 bytes each,
        // for up to 4 components: generous for greyscale, still bounded.
        max_memory: Some((pixels as u64).saturating_mul(2 * 3 * 4)),
        ..DecodeLimits::default()
    };
    // The codec returns errors for malformed streams; the guard is a backstop
    // so that a codec bug cannot take the program down.
    let image = super::guard(|| decompress_12bit_with_limits(fragment, &limits))?
        .map_err(|e| format!("12-bit JPEG: {e}"))?;
    if image.num_components != 1 {
        return Err(format!(
            "12-bit JPEG has {} components, 1 expected for a greyscale image",
            image.num_components
        ));
    }
    if image.width != columns || image.height != rows {
        return Err(format!(
            "12-bit JPEG is {}×{}, but Columns × Rows is {columns}×{rows}",
            image.width, image.height
        ));
    }
    if image.data.len() < pixels {
        return Err(format!(
            "12-bit JPEG decoded to {} samples, {pixels} expected",
            image.data.len()
        ));
    }
    Ok(image.data[..pixels]
        .iter()
        // Samples are 0..=4095; BitsStored masking and sign follow in samples_to_i32.
        .flat_map(|&s| (s as u16).to_ne_bytes())
        .collect())
}
