//! MetaImage (`.mha` with `ElementDataFile = LOCAL`, `.mhd` with detached
//! data), read as SimpleITK reads it: same geometry, same voxel values.
//!
//! Supported: NDims 2 (one slice, k = 1), 3 and 4 (the 4th axis is a list of
//! volumes), every scalar `MET_` type, `ElementNumberOfChannels` > 1
//! (interleaved channels, one chosen like a volume), either byte order,
//! zlib/gzip `CompressedData` with or without `CompressedDataSize`,
//! `HeaderSize` (including -1), and detached data as one file, a `LIST` or
//! a `%d` pattern. Refused: text data (`BinaryData = False`), array element
//! types, channels together with a 4th axis, NDims other than 2–4.
//!
//! Memory: the header (at most [`header::MAX_HEADER_BYTES`]), then the one
//! volume wanted, streamed through [`raw::read_volume`]; raw data is sought,
//! compressed data is inflated as it is read from its file.

mod data;
mod geometry;
mod header;

use std::io::Read;
use std::path::Path;

use data::{Chain, Local};
use header::Header;

use super::raw::{self, Selection};
use super::{LoadError, LoadErrorKind, LoadOptions, Provenance, Volume};

/// How much of a file is read first in search of the end of its header.
const FIRST_READ: u64 = 64 << 10;

/// True if the bytes start like a MetaImage header (`ObjectType` or `NDims`).
pub fn looks_like_metaimage(head: &[u8]) -> bool {
    let text = head.trim_ascii_start();
    text.starts_with(b"ObjectType") || text.starts_with(b"NDims")
}

/// Loads a `.mha` or `.mhd` file, reading only its header and the wanted volume.
pub fn load_metaimage_file(path: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    let err = |kind| LoadError::new(path, kind);
    let file = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
    let mut head = Vec::new();
    let mut limit = FIRST_READ;
    loop {
        (&file)
            .take(limit - head.len() as u64)
            .read_to_end(&mut head)
            .map_err(|e| LoadError::io(path, e))?;
        let exhausted = (head.len() as u64) < limit;
        if exhausted || header::header_end(&head).is_some() || limit >= MAX_HEAD {
            break;
        }
        limit = MAX_HEAD;
    }
    let header = header::parse(&head).map_err(err)?;
    drop(head);
    load(header, Local::File(path), path, options)
}

const MAX_HEAD: u64 = header::MAX_HEADER_BYTES as u64;

/// Loads MetaImage from memory. LOCAL data is taken from `bytes`; a
/// detached data file is looked up relative to `path`'s folder (`path` also
/// names the image in messages).
pub fn load_metaimage_bytes(
    bytes: &[u8],
    path: &Path,
    options: &LoadOptions,
) -> Result<Volume, LoadError> {
    let header = header::parse(bytes).map_err(|k| LoadError::new(path, k))?;
    load(header, Local::Memory(bytes), path, options)
}

/// The wanted volume's place in the stream, every size checked.
struct Layout {
    shape: [usize; 3],
    volumes: u64,
    index: u64,
    /// Bytes of every volume (and channel) together.
    stream_bytes: u64,
    /// Bytes before the wanted volume (4-D: whole volumes to pass over).
    skip_bytes: u64,
    selection: Selection,
}

impl Layout {
    fn new(h: &Header, options: &LoadOptions) -> Result<Self, LoadErrorKind> {
        let overflow = || LoadErrorKind::BadHeader(format!("DimSize {:?} overflows", h.dims));
        let dim = |a: usize| h.dims.get(a).copied().unwrap_or(1);
        let voxels = dim(0)
            .checked_mul(dim(1))
            .and_then(|v| v.checked_mul(dim(2)))
            .ok_or_else(overflow)?;
        let volume_bytes = voxels.checked_mul(h.scalar.bytes()).ok_or_else(overflow)?;
        if volume_bytes > isize::MAX as u64 / 2 {
            return Err(overflow());
        }
        let times = dim(3);
        if h.channels > 1 && times > 1 {
            return Err(LoadErrorKind::Unsupported(format!(
                "{} channels per voxel and a 4th axis of {times} together",
                h.channels
            )));
        }
        if !h.binary {
            return Err(LoadErrorKind::Unsupported(
                "BinaryData = False (voxel values written as text)".into(),
            ));
        }
        let volumes = h.channels.max(times);
        let stream_bytes = volume_bytes.checked_mul(volumes).ok_or_else(overflow)?;
        let index = options.volume_index as u64;
        if index >= volumes {
            let what = if h.channels > 1 { "channel" } else { "volume" };
            return Err(LoadErrorKind::BadOption(format!(
                "volume {index} requested but the file holds {volumes} volume(s) (0-based; \
                 one per {what})"
            )));
        }
        let (skip_bytes, selection) = if h.channels > 1 {
            // Channels interleave: one run of 1 sample out of every `channels`.
            let sel = Selection {
                scalar: h.scalar,
                order: h.order,
                inner: 1,
                count: h.channels,
                index,
                outer: voxels,
            };
            (0, sel)
        } else {
            let sel = Selection::whole(h.scalar, h.order, voxels);
            (index * volume_bytes, sel)
        };
        Ok(Layout {
            shape: [dim(0) as usize, dim(1) as usize, dim(2) as usize],
            volumes,
            index,
            stream_bytes,
            skip_bytes,
            selection,
        })
    }
}

fn load(
    mut h: Header,
    local: Local,
    path: &Path,
    options: &LoadOptions,
) -> Result<Volume, LoadError> {
    let err = |kind| LoadError::new(path, kind);
    let layout = Layout::new(&h, options).map_err(err)?;
    let mut warnings = std::mem::take(&mut h.warnings);
    let ras_from_voxel = geometry::ras_from_voxel(&h, &mut warnings).map_err(err)?;
    let parts = data::parts(&h, local, path, layout.stream_bytes).map_err(err)?;
    let mut chain = Chain::new(parts);
    let read = chain
        .skip(layout.skip_bytes)
        .and_then(|()| raw::read_volume(&mut chain, &layout.selection));
    let data = match read {
        Ok(data) => data,
        // A short piece says more than "the stream is short" does.
        Err(kind) => match (kind, chain.short_piece()) {
            (LoadErrorKind::Truncated { .. }, Some(short)) => return Err(err(short)),
            (kind, _) => return Err(err(kind)),
        },
    };
    if raw::lost_precision(&data) {
        warnings.push("64-bit integers beyond 2^53 were rounded to the nearest double".into());
    }
    let modality = std::mem::replace(&mut h.modality, super::Modality::Unknown);
    let mut volume =
        Volume::new(layout.shape, data, ras_from_voxel, modality).map_err(|e| err(e.into()))?;
    volume.warnings.splice(0..0, warnings);
    volume.provenance = Provenance {
        format: "metaimage".into(),
        volumes_in_source: layout.volumes as usize,
        volume_index: layout.index as usize,
        ..Provenance::default()
    };
    Ok(volume)
}
