//! NIfTI-1 and NIfTI-2 reading (`.nii`, `.nii.gz`), following nibabel's
//! choices for the affine and for scaling.

mod header;
mod scaling;
mod write;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use header::{AffineSource, Header};

use super::{LoadError, LoadErrorKind, LoadOptions, Modality, Provenance, Volume, VoxelData};

pub use header::{NIFTI1_SIZE, NIFTI2_SIZE};
pub use write::{save_f32, save_image, save_label_map, write_gzip};

/// Deflate cannot expand data by more than about 1032:1; a header that claims
/// more voxel bytes than that is lying, whatever the gzip trailer says.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// True if the bytes start with a NIfTI header or a gzip stream.
pub fn looks_like_nifti(bytes: &[u8]) -> bool {
    header::sniff(bytes).is_some() || is_gzip(bytes)
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Loads a `.nii` or `.nii.gz` file. Uncompressed files are read only as far
/// as the chosen volume, after checking the header against the file length.
pub fn load_nifti_file(path: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    let err = |kind| LoadError::new(path, kind);
    let mut file = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| LoadError::io(path, e))?.len();
    let mut head = Vec::with_capacity(NIFTI2_SIZE);
    (&mut file)
        .take(NIFTI2_SIZE as u64)
        .read_to_end(&mut head)
        .map_err(|e| LoadError::io(path, e))?;
    if is_gzip(&head) {
        let bytes = std::fs::read(path).map_err(|e| LoadError::io(path, e))?;
        return load_nifti_bytes(&bytes, path, options);
    }
    let hdr = parse_header(&head, path)?;
    let layout = Layout::new(&hdr, options, path)?;
    let end = layout.end_offset();
    if end > file_len {
        return Err(err(truncated(&layout, file_len)));
    }
    let mut data = vec![0u8; layout.volume_bytes as usize];
    file.seek(SeekFrom::Start(layout.volume_start()))
        .and_then(|_| file.read_exact(&mut data))
        .map_err(|e| LoadError::io(path, e))?;
    build_volume(&hdr, &layout, &data, path)
}

/// Loads NIfTI from memory (plain or gzip). `path` is only used in messages.
pub fn load_nifti_bytes(
    bytes: &[u8],
    path: &Path,
    options: &LoadOptions,
) -> Result<Volume, LoadError> {
    if !is_gzip(bytes) {
        let hdr = parse_header(bytes, path)?;
        let layout = Layout::new(&hdr, options, path)?;
        let start = layout.volume_start() as usize;
        let data = bytes
            .get(start..layout.end_offset() as usize)
            .ok_or_else(|| LoadError::new(path, truncated(&layout, bytes.len() as u64)))?;
        return build_volume(&hdr, &layout, data, path);
    }
    let err = |kind| LoadError::new(path, kind);
    let gz_err = |e: std::io::Error| err(LoadErrorKind::Corrupt(format!("gzip stream: {e}")));
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
    let mut head = Vec::with_capacity(NIFTI2_SIZE);
    (&mut decoder)
        .take(NIFTI2_SIZE as u64)
        .read_to_end(&mut head)
        .map_err(gz_err)?;
    let hdr = parse_header(&head, path)?;
    let layout = Layout::new(&hdr, options, path)?;
    let end = layout.end_offset();
    let ceiling = (bytes.len() as u64).saturating_mul(MAX_DEFLATE_RATIO);
    if end > ceiling {
        return Err(err(LoadErrorKind::BadHeader(format!(
            "header claims {} voxels ({end} bytes), more than {} compressed bytes can hold",
            layout.voxels_per_volume,
            bytes.len()
        ))));
    }
    // Reserve only what the gzip trailer says was compressed (a u32, so bounded),
    // and let the vector grow with real data beyond that.
    let trailer_len = bytes
        .get(bytes.len().saturating_sub(4)..)
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map_or(0, u32::from_le_bytes) as u64;
    // Fast path: a single gzip member whose trailer covers the data inflates in
    // one call with libdeflate (about twice zlib's speed). Multi-member files
    // (bgzip) or lying trailers fail here and take the streaming path below.
    if trailer_len >= end && trailer_len <= ceiling {
        let mut warnings = Vec::new();
        let mut inflater = libdeflater::Decompressor::new();
        let (whole, inflated) = crate::prefault::fill_zeroed(trailer_len as usize, |buf| {
            inflater.gzip_decompress(bytes, buf)
        });
        if let Ok(n) = inflated
            && n as u64 == trailer_len
        {
            let start = layout.volume_start() as usize;
            let data = scaling::decode_owned(&hdr, whole, start..end as usize, &mut warnings)
                .map_err(err)?;
            return finish_volume(&hdr, &layout, data, warnings, path);
        }
    }
    let mut rest = Vec::with_capacity(end.min(trailer_len) as usize);
    rest.extend_from_slice(&head);
    (&mut decoder)
        .take(end - head.len() as u64)
        .read_to_end(&mut rest)
        .map_err(gz_err)?;
    if (rest.len() as u64) < end {
        return Err(err(truncated(&layout, rest.len() as u64)));
    }
    let start = layout.volume_start() as usize;
    build_volume(&hdr, &layout, &rest[start..], path)
}

fn parse_header(bytes: &[u8], path: &Path) -> Result<Header, LoadError> {
    if bytes.len() < 4 || header::sniff(bytes).is_none() {
        return Err(LoadError::new(
            path,
            LoadErrorKind::NotRecognised(
                "no NIfTI-1/NIfTI-2 header (first 4 bytes are not 348 or 540)".into(),
            ),
        ));
    }
    header::parse(bytes).map_err(|bad| {
        let kind = if bytes.len() < header_len(bytes) {
            LoadErrorKind::Truncated {
                what: "the NIfTI header".into(),
                needed: header_len(bytes) as u64,
                available: bytes.len() as u64,
            }
        } else {
            bad
        };
        LoadError::new(path, kind)
    })
}

fn header_len(bytes: &[u8]) -> usize {
    match header::sniff(bytes) {
        Some((2, _)) => NIFTI2_SIZE,
        _ => NIFTI1_SIZE,
    }
}

fn truncated(layout: &Layout, available: u64) -> LoadErrorKind {
    LoadErrorKind::Truncated {
        what: format!("volume {} of the voxel data", layout.volume_index),
        needed: layout.end_offset(),
        available,
    }
}

/// Where the chosen volume lies in the file, with every size checked.
struct Layout {
    shape: [usize; 3],
    volumes: usize,
    volume_index: usize,
    voxels_per_volume: u64,
    volume_bytes: u64,
    data_offset: u64,
}

impl Layout {
    fn new(h: &Header, options: &LoadOptions, path: &Path) -> Result<Self, LoadError> {
        let bad = |m: String| LoadError::new(path, LoadErrorKind::BadHeader(m));
        let rank = h.dim[0];
        if !(1..=7).contains(&rank) {
            return Err(bad(format!(
                "dim[0] = {rank} is not a rank between 1 and 7"
            )));
        }
        let mut dims = [1i64; 7];
        for (a, d) in dims.iter_mut().enumerate().take(rank as usize) {
            *d = h.dim[a + 1];
            if *d < 1 {
                return Err(bad(format!("dim[{}] = {} is not positive", a + 1, *d)));
            }
        }
        let bytes_per_voxel = scaling::bytes_per_voxel(h.datatype).ok_or_else(|| {
            LoadError::new(
                path,
                LoadErrorKind::Unsupported(format!(
                    "NIfTI datatype {} ({})",
                    h.datatype,
                    scaling::datatype_name(h.datatype)
                )),
            )
        })?;
        if h.bitpix as u64 != bytes_per_voxel * 8 {
            return Err(bad(format!(
                "bitpix {} does not match datatype {} ({} bits)",
                h.bitpix,
                scaling::datatype_name(h.datatype),
                bytes_per_voxel * 8
            )));
        }
        let too_big = || bad(format!("dimensions {:?} overflow", &dims[..rank as usize]));
        let voxels_per_volume = (dims[0] as u64)
            .checked_mul(dims[1] as u64)
            .and_then(|n| n.checked_mul(dims[2] as u64))
            .ok_or_else(too_big)?;
        let volumes = dims[3..]
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        let volumes = volumes.ok_or_else(too_big)?;
        let volume_bytes = voxels_per_volume
            .checked_mul(bytes_per_voxel)
            .ok_or_else(too_big)?;
        if volume_bytes > isize::MAX as u64 / 2 {
            return Err(too_big());
        }
        if options.volume_index as u64 >= volumes {
            return Err(LoadError::new(
                path,
                LoadErrorKind::BadOption(format!(
                    "volume {} requested but the file holds {volumes} volume(s) (0-based)",
                    options.volume_index
                )),
            ));
        }
        let data_offset = data_offset(h).map_err(|kind| LoadError::new(path, kind))?;
        let layout = Layout {
            shape: [dims[0] as usize, dims[1] as usize, dims[2] as usize],
            volumes: volumes as usize,
            volume_index: options.volume_index,
            voxels_per_volume,
            volume_bytes,
            data_offset,
        };
        // end_offset must not overflow either.
        (layout.volume_index as u64 + 1)
            .checked_mul(volume_bytes)
            .and_then(|b| b.checked_add(data_offset))
            .ok_or_else(too_big)?;
        Ok(layout)
    }

    fn volume_start(&self) -> u64 {
        self.data_offset + self.volume_index as u64 * self.volume_bytes
    }

    fn end_offset(&self) -> u64 {
        self.volume_start() + self.volume_bytes
    }
}

/// vox_offset, as nibabel reads it: 0 in a single file means "right after the
/// header and its 4 extension bytes"; anything inside the header is an error.
fn data_offset(h: &Header) -> Result<u64, LoadErrorKind> {
    let v = h.vox_offset;
    let min = (h.header_size + 4) as f64;
    if !v.is_finite() || v < 0.0 || v.fract() != 0.0 {
        return Err(LoadErrorKind::BadHeader(format!(
            "vox_offset {v} is not a non-negative whole number"
        )));
    }
    if v == 0.0 {
        return Ok(min as u64);
    }
    if v < h.header_size as f64 {
        return Err(LoadErrorKind::BadHeader(format!(
            "vox_offset {v} points inside the {}-byte header",
            h.header_size
        )));
    }
    Ok(v as u64)
}

fn build_volume(h: &Header, layout: &Layout, raw: &[u8], path: &Path) -> Result<Volume, LoadError> {
    let mut warnings = Vec::new();
    let data = scaling::decode(h, raw, &mut warnings).map_err(|kind| LoadError::new(path, kind))?;
    finish_volume(h, layout, data, warnings, path)
}

fn finish_volume(
    h: &Header,
    layout: &Layout,
    data: VoxelData,
    mut warnings: Vec<String>,
    path: &Path,
) -> Result<Volume, LoadError> {
    let (ras_from_voxel, source) =
        header::best_affine(h, layout.shape).map_err(|kind| LoadError::new(path, kind))?;
    if source == AffineSource::Pixdim {
        warnings.push(
            "no sform or qform: orientation unknown, geometry taken from pixdim alone".to_string(),
        );
    }
    let mut volume = Volume::new(layout.shape, data, ras_from_voxel, Modality::Unknown)
        .map_err(|e| LoadError::new(path, e.into()))?;
    volume.warnings.splice(0..0, warnings);
    volume.provenance = Provenance {
        format: format!("nifti-{}", h.version),
        volumes_in_source: layout.volumes,
        volume_index: layout.volume_index,
        ..Provenance::default()
    };
    Ok(volume)
}
