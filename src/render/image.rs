//! An 8-bit RGBA image as passes return it, PNG writing and reading, and the
//! golden-image comparison.

use std::path::Path;

/// Row-major RGBA8, top row first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<[u8; 4]>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{}: cannot write PNG: {source}", path.display())]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: PNG encoding failed: {source}", path.display())]
    Encode {
        path: std::path::PathBuf,
        #[source]
        source: png::EncodingError,
    },
    #[error("{}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Decode {
        path: std::path::PathBuf,
        source: png::DecodingError,
    },
    #[error("{}: image too large", path.display())]
    TooLarge { path: std::path::PathBuf },
    #[error("{}: unsupported PNG colour type {colour:?}", path.display())]
    UnsupportedColour {
        path: std::path::PathBuf,
        colour: png::ColorType,
    },
    #[error("{}: PNG size mismatch", path.display())]
    SizeMismatch { path: std::path::PathBuf },
}

/// How two images differ beyond what [`compare_images`] allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageMismatch {
    #[error("size {}x{} != expected {}x{}", actual.0, actual.1, expected.0, expected.1)]
    Size {
        actual: (u32, u32),
        expected: (u32, u32),
    },
    #[error("{failing} pixels differ by more than {channel_tolerance} (allowed {max_failing})")]
    Pixels {
        failing: usize,
        channel_tolerance: u8,
        max_failing: usize,
    },
}

impl RgbaImage {
    pub fn new(width: u32, height: u32) -> Self {
        RgbaImage {
            width,
            height,
            pixels: vec![[0, 0, 0, 255]; width as usize * height as usize],
        }
    }

    pub fn get(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        (x < self.width && y < self.height).then(|| self.pixels[(y * self.width + x) as usize])
    }

    /// Builds an image from tightly packed RGBA bytes (as read back from the GPU).
    pub fn from_rgba_bytes(width: u32, height: u32, bytes: &[u8]) -> Option<Self> {
        if bytes.len() != width as usize * height as usize * 4 {
            return None;
        }
        let pixels = bytes
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect();
        Some(RgbaImage {
            width,
            height,
            pixels,
        })
    }

    /// Writes a PNG atomically (temporary file in the same folder, then rename),
    /// so an existing file is never left half-written.
    pub fn save_png(&self, path: &Path) -> Result<(), ImageError> {
        let write_err = |source| ImageError::Write {
            path: path.to_path_buf(),
            source,
        };
        let tmp = crate::atomic_file::temp_file_for(path).map_err(write_err)?;
        {
            let mut encoder = png::Encoder::new(
                std::io::BufWriter::new(tmp.as_file()),
                self.width,
                self.height,
            );
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            let encode_err = |source| ImageError::Encode {
                path: path.to_path_buf(),
                source,
            };
            let mut writer = encoder.write_header().map_err(encode_err)?;
            writer
                .write_image_data(self.pixels.as_flattened())
                .map_err(encode_err)?;
            writer.finish().map_err(encode_err)?;
        }
        tmp.persist(path).map_err(|e| write_err(e.error))?;
        Ok(())
    }

    /// Reads a PNG (tests compare against golden images with it).
    pub fn load_png(path: &Path) -> Result<Self, ImageError> {
        let path_buf = || path.to_path_buf();
        let decode_err = |source| ImageError::Decode {
            path: path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(|source| ImageError::Read {
            path: path_buf(),
            source,
        })?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(decode_err)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| ImageError::TooLarge { path: path_buf() })?;
        let mut buf = vec![0u8; size];
        let info = reader.next_frame(&mut buf).map_err(decode_err)?;
        let bytes = &buf[..info.buffer_size()];
        let rgba: Vec<u8> = match info.color_type {
            png::ColorType::Rgba => bytes.to_vec(),
            png::ColorType::Rgb => bytes
                .chunks_exact(3)
                .flat_map(|c| [c[0], c[1], c[2], 255])
                .collect(),
            png::ColorType::Grayscale => bytes.iter().flat_map(|&g| [g, g, g, 255]).collect(),
            png::ColorType::GrayscaleAlpha => bytes
                .chunks_exact(2)
                .flat_map(|c| [c[0], c[0], c[0], c[1]])
                .collect(),
            colour => {
                return Err(ImageError::UnsupportedColour {
                    path: path_buf(),
                    colour,
                });
            }
        };
        RgbaImage::from_rgba_bytes(info.width, info.height, &rgba)
            .ok_or_else(|| ImageError::SizeMismatch { path: path_buf() })
    }
}

/// Golden-image comparison: a pixel fails when any channel differs by more
/// than `channel_tolerance`; the images match when at most `max_failing` fail.
pub fn compare_images(
    actual: &RgbaImage,
    expected: &RgbaImage,
    channel_tolerance: u8,
    max_failing: usize,
) -> Result<(), ImageMismatch> {
    if (actual.width, actual.height) != (expected.width, expected.height) {
        return Err(ImageMismatch::Size {
            actual: (actual.width, actual.height),
            expected: (expected.width, expected.height),
        });
    }
    let failing = actual
        .pixels
        .iter()
        .zip(&expected.pixels)
        .filter(|(a, e)| {
            a.iter()
                .zip(e.iter())
                .any(|(&x, &y)| x.abs_diff(y) > channel_tolerance)
        })
        .count();
    if failing > max_failing {
        return Err(ImageMismatch::Pixels {
            failing,
            channel_tolerance,
            max_failing,
        });
    }
    Ok(())
}
