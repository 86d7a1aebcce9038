//! 12-bit lossy JPEG (DICOM JPEG Extended, process 2 & 4, transfer syntax
//! 1.2.840.10008.1.2.4.51), decoded with libjpeg-turbo-rs because
//! jpeg-decoder 0.3 (behind dicom-pixeldata) has no 12-bit DCT.

use libjpeg_turbo_rs::precision::decompress_12bit_with_limits;
use libjpeg_turbo_rs::{DecodeLimits, JpegError};

use super::DecoderPanic;

/// Why a 12-bit JPEG frame could not be decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Jpeg12Error {
    #[error("Rows × Columns overflows")]
    SizeOverflow,
    #[error(transparent)]
    Panic(#[from] DecoderPanic),
    #[error("12-bit JPEG: {0}")]
    Codec(#[from] JpegError),
    #[error("12-bit JPEG has {0} components, 1 expected for a greyscale image")]
    Components(usize),
    #[error("12-bit JPEG is {width}×{height}, but Columns × Rows is {columns}×{rows}")]
    Size {
        width: usize,
        height: usize,
        columns: usize,
        rows: usize,
    },
    #[error("12-bit JPEG decoded to {got} samples, {expected} expected")]
    Samples { got: usize, expected: usize },
}

/// Decodes one frame's JPEG stream into native-endian 16-bit samples
/// (`rows × columns × 2` bytes, one sample per pixel), as `samples_to_i32`
/// reads them with BitsAllocated 16.
pub(crate) fn decode_frame(
    fragment: &[u8],
    rows: u32,
    columns: u32,
) -> Result<Vec<u8>, Jpeg12Error> {
    let (rows, columns) = (rows as usize, columns as usize);
    let pixels = rows.checked_mul(columns).ok_or(Jpeg12Error::SizeOverflow)?;
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
    let image = super::guard(|| decompress_12bit_with_limits(fragment, &limits))??;
    if image.num_components != 1 {
        return Err(Jpeg12Error::Components(image.num_components));
    }
    if image.width != columns || image.height != rows {
        return Err(Jpeg12Error::Size {
            width: image.width,
            height: image.height,
            columns,
            rows,
        });
    }
    if image.data.len() < pixels {
        return Err(Jpeg12Error::Samples {
            got: image.data.len(),
            expected: pixels,
        });
    }
    Ok(image.data[..pixels]
        .iter()
        // Samples are 0..=4095; BitsStored masking and sign follow in samples_to_i32.
        .flat_map(|&s| (s as u16).to_ne_bytes())
        .collect())
}
