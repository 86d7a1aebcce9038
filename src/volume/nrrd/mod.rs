//! NRRD (`.nrrd` with attached data, `.nhdr` with detached data files),
//! geometry matched to SimpleITK's reading. The header is read first, then
//! the voxel data streamed through `raw::read_volume`, so memory is one
//! volume plus small buffers whatever the file holds.

mod data;
mod geometry;
mod header;
mod values;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use data::{Decoding, Origin, Piece, Pieces};
use header::{DataFile, Encoding, Header, Kind, MAX_HEADER_BYTES};

use super::raw::{self, ByteOrder, ScalarType, Selection};
use super::{LoadError, LoadErrorKind, LoadOptions, Modality, Provenance, Volume, VoxelData};

/// True if the bytes start with the NRRD magic (`NRRD000N`).
pub fn looks_like_nrrd(head: &[u8]) -> bool {
    head.starts_with(b"NRRD000")
}

/// Loads a `.nrrd` or `.nhdr` file. Only the header is read whole; the
/// voxel data is streamed (raw data seeked to) from the file.
pub fn load_nrrd_file(path: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    let err = |kind| LoadError::new(path, kind);
    let file = File::open(path).map_err(|e| LoadError::io(path, e))?;
    let (head, complete) = read_header_bytes(file).map_err(|e| LoadError::io(path, e))?;
    let header = header::parse(&head, complete).map_err(err)?;
    load(&header, Origin::File(path.to_path_buf()), path, options).map_err(err)
}

/// The `key:=value` pairs of a NRRD file's header (3D Slicer keeps a
/// segmentation's segment names, colours and layers there), in order and
/// unescaped. Only the header is read; it is checked as [`load_nrrd_file`]
/// checks it.
pub fn read_key_values(path: &Path) -> Result<Vec<(String, String)>, LoadError> {
    let file = File::open(path).map_err(|e| LoadError::io(path, e))?;
    let (head, complete) = read_header_bytes(file).map_err(|e| LoadError::io(path, e))?;
    let h = header::parse(&head, complete).map_err(|kind| LoadError::new(path, kind))?;
    Ok(header::key_values(&head[..h.data_offset]))
}

/// Loads NRRD from memory (attached data; a detached data file is looked up
/// next to `path`, which also names the source in messages).
pub fn load_nrrd_bytes(
    bytes: &[u8],
    path: &Path,
    options: &LoadOptions,
) -> Result<Volume, LoadError> {
    let err = |kind| LoadError::new(path, kind);
    let header = header::parse(bytes, true).map_err(err)?;
    load(&header, Origin::Bytes(bytes), path, options).map_err(err)
}

/// The file's first bytes up to and including the blank line that ends the
/// header (or the whole file if it is short and has none: a `.nhdr`), read
/// in chunks and never more than the header limit plus one chunk.
fn read_header_bytes(mut file: File) -> std::io::Result<(Vec<u8>, bool)> {
    const CHUNK: u64 = 64 << 10;
    let mut head = Vec::new();
    loop {
        let before = head.len();
        (&mut file).take(CHUNK).read_to_end(&mut head)?;
        if head.len() == before {
            return Ok((head, true));
        }
        if header::header_end(&head).is_some() || head.len() > MAX_HEADER_BYTES {
            return Ok((head, false));
        }
    }
}

fn bad(message: impl Into<String>) -> LoadErrorKind {
    LoadErrorKind::BadHeader(message.into())
}

fn load(
    h: &Header,
    attached: Origin<'_>,
    path: &Path,
    options: &LoadOptions,
) -> Result<Volume, LoadErrorKind> {
    let mut warnings = Vec::new();
    let axes = geometry::classify(h, &mut warnings)?;
    let ras_from_voxel = geometry::ras_from_voxel(h, &axes, &mut warnings)?;

    let overflow = || bad(format!("sizes {:?} overflow", h.sizes));
    let product = |sizes: &[u64]| {
        sizes
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n))
            .ok_or_else(overflow)
    };
    let (inner, count, outer) = match axes.volume_axis {
        Some(v) => (
            product(&h.sizes[..v])?,
            h.sizes[v],
            product(&h.sizes[v + 1..])?,
        ),
        None => (product(&h.sizes)?, 1, 1),
    };
    if options.volume_index as u64 >= count {
        return Err(LoadErrorKind::BadOption(format!(
            "volume {} requested but the file holds {count} volume(s) (0-based)",
            options.volume_index
        )));
    }
    let order = byte_order(h)?;
    let selection = Selection {
        scalar: h.scalar,
        order,
        inner,
        count,
        index: options.volume_index as u64,
        outer,
    };
    let stream_bytes = selection.stream_bytes().ok_or_else(overflow)?;
    let mut shape = [1usize; 3];
    for (s, &a) in shape.iter_mut().zip(&axes.spatial) {
        *s = usize::try_from(h.sizes[a]).map_err(|_| overflow())?;
    }
    super::voxel_count(shape).ok_or_else(overflow)?;

    let (pieces, piece_bytes) = pieces(h, attached, path, stream_bytes)?;
    let decoding = Decoding {
        encoding: h.encoding,
        line_skip: h.line_skip,
        byte_skip: h.byte_skip,
        scalar: h.scalar,
        piece_bytes,
    };
    let mut stream = Pieces::new(decoding, pieces);
    let mut selection = selection;
    // Volumes that are whole runs at the start of one raw piece are seeked
    // past instead of read.
    if outer == 1 && count > 1 && stream.seek_lead(selection.index * inner * h.scalar.bytes()) {
        selection = Selection::whole(h.scalar, order, inner);
    }
    let data = raw::read_volume(&mut stream, &selection).map_err(data::untyped)?;
    drop(stream);

    if let Some(v) = axes.volume_axis {
        let kind = match h.kinds.as_ref().map(|k| &k[v]) {
            Some(Kind::Range(name)) => name.clone(),
            Some(Kind::Time) => "time".into(),
            _ => "unmarked".into(),
        };
        warnings.push(format!(
            "axis {v} ({kind}, {count} entries) is not spatial: volume {} of {count} loaded",
            options.volume_index
        ));
    }
    if matches!(h.scalar, ScalarType::I64 | ScalarType::U64) && matches!(data, VoxelData::F64(_)) {
        warnings.push(if raw::lost_precision(&data) {
            "64-bit integers beyond 2^53 were rounded to float64 (precision lost)".to_string()
        } else {
            "64-bit integers do not fit 32 bits: held as float64 (exact)".to_string()
        });
    }

    let mut volume =
        Volume::new(shape, data, ras_from_voxel, Modality::Unknown).map_err(LoadErrorKind::from)?;
    volume.warnings.splice(0..0, warnings);
    volume.provenance = Provenance {
        format: "nrrd".into(),
        volumes_in_source: count as usize,
        volume_index: options.volume_index,
        ..Provenance::default()
    };
    Ok(volume)
}

/// Byte order of the decoded stream: ascii is re-emitted little-endian;
/// otherwise `endian`, which teem requires for samples wider than a byte.
fn byte_order(h: &Header) -> Result<ByteOrder, LoadErrorKind> {
    if h.encoding == Encoding::Ascii || h.scalar.bytes() == 1 {
        return Ok(ByteOrder::Little);
    }
    h.endian.ok_or_else(|| {
        bad(format!(
            "no `endian` field, which {}-byte samples in {} encoding need",
            h.scalar.bytes(),
            format!("{:?}", h.encoding).to_ascii_lowercase()
        ))
    })
}

/// File names a `%d` pattern may expand to: the names are held in memory,
/// and the count comes from the header's sizes.
const MAX_PATTERN_FILES: u64 = 1 << 20;

/// The pieces the data stream is made of, and the decoded bytes of each.
fn pieces<'a>(
    h: &Header,
    attached: Origin<'a>,
    path: &Path,
    stream_bytes: u64,
) -> Result<(Vec<Piece<'a>>, u64), LoadErrorKind> {
    let folder = path.parent().unwrap_or(Path::new(""));
    let resolve = |name: &str| -> PathBuf { folder.join(name) };
    let file_piece = |name: String| Piece {
        origin: Origin::File(resolve(&name)),
        start: 0,
        name,
    };
    let (names, piece_bytes) = match &h.data_file {
        None => {
            let name = path
                .file_name()
                .map_or_else(|| "the file".into(), |n| n.to_string_lossy().into_owned());
            let piece = Piece {
                origin: attached,
                start: h.data_offset as u64,
                name,
            };
            return Ok((vec![piece], stream_bytes));
        }
        Some(DataFile::Single(name)) => return Ok((vec![file_piece(name.clone())], stream_bytes)),
        Some(DataFile::List { subdim, names }) => {
            let (count, piece_bytes) = split(h, *subdim)?;
            if names.len() as u64 != count {
                return Err(bad(format!(
                    "`data file: LIST` names {} file(s) but the sizes need {count}",
                    names.len()
                )));
            }
            (names.clone(), piece_bytes)
        }
        Some(DataFile::Pattern {
            format,
            min,
            max,
            step,
            subdim,
        }) => {
            let (count, piece_bytes) = split(h, *subdim)?;
            let span = i128::from(*max) - i128::from(*min);
            let listed = if *step == 0 || span * i128::from(*step) < 0 {
                0
            } else {
                span / i128::from(*step) + 1
            };
            if listed != i128::from(count) {
                return Err(bad(format!(
                    "data file pattern `{format} {min} {max} {step}` names {listed} file(s) \
                     but the sizes need {count}"
                )));
            }
            if count > MAX_PATTERN_FILES {
                return Err(LoadErrorKind::Unsupported(format!(
                    "a data file pattern naming {count} files (at most {MAX_PATTERN_FILES})"
                )));
            }
            let names = (0..count as i64)
                .map(|i| format_pattern(format, min + i * step))
                .collect::<Result<Vec<_>, _>>()?;
            (names, piece_bytes)
        }
    };
    Ok((names.into_iter().map(file_piece).collect(), piece_bytes))
}

/// Number of files and decoded bytes per file when each file holds the
/// first `subdim` axes (default: all but the slowest).
fn split(h: &Header, subdim: Option<usize>) -> Result<(u64, u64), LoadErrorKind> {
    let dimension = h.sizes.len();
    let subdim = subdim.unwrap_or(dimension.saturating_sub(1));
    if subdim == 0 || subdim > dimension {
        return Err(bad(format!(
            "data file sub-dimension {subdim} is outside 1..={dimension}"
        )));
    }
    let product = |s: &[u64]| s.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n));
    let overflow = || bad("the data file sizes overflow");
    let count = product(&h.sizes[subdim..]).ok_or_else(overflow)?;
    let bytes = product(&h.sizes[..subdim])
        .and_then(|n| n.checked_mul(h.scalar.bytes()))
        .ok_or_else(overflow)?;
    Ok((count, bytes))
}

/// The name of file `n` of a `%d` pattern (see [`raw::fill_pattern`]).
fn format_pattern(format: &str, n: i64) -> Result<String, LoadErrorKind> {
    raw::fill_pattern(format, n).ok_or_else(|| {
        LoadErrorKind::Unsupported(format!(
            "data file pattern `{format}`: only one %d-style number is understood"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &[u8], options: &LoadOptions) -> Result<Volume, LoadError> {
        load_nrrd_bytes(text, Path::new("/nonexistent/t.nrrd"), options)
    }

    #[test]
    fn huge_pattern_is_refused_before_naming_files() {
        let text = b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 1 1 4000000000\n\
                     encoding: raw\ndata file: s%d.raw 0 3999999999 1\n";
        let err = load_text(text, &LoadOptions::default()).unwrap_err();
        assert!(matches!(err.kind, LoadErrorKind::Unsupported(_)), "{err}");
    }

    #[test]
    fn pattern_names() {
        assert_eq!(format_pattern("s%03d.raw", 7).unwrap(), "s007.raw");
        assert_eq!(format_pattern("a%2i_%%.gz", -1).unwrap(), "a-1_%.gz");
        assert!(format_pattern("s%s.raw", 1).is_err());
        assert!(format_pattern("s%d%d.raw", 1).is_err());
        assert!(format_pattern("plain.raw", 1).is_err());
    }

    #[test]
    fn attached_raw_with_list_axis_first() {
        // 2 interleaved volumes over a 3x2x1 grid: volume 1 is the odd samples.
        let mut bytes = b"NRRD0004\ntype: uint8\ndimension: 4\nsizes: 2 3 2 1\n\
                          kinds: list domain domain domain\nencoding: raw\n\n"
            .to_vec();
        bytes.extend(0u8..12);
        let v = load_text(
            &bytes,
            &LoadOptions {
                volume_index: 1,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(v.shape, [3, 2, 1]);
        assert_eq!(v.data, VoxelData::U8(vec![1, 3, 5, 7, 9, 11]));
        assert_eq!(v.provenance.volumes_in_source, 2);
        assert!(
            v.warnings.iter().any(|w| w.contains("list")),
            "{:?}",
            v.warnings
        );
        let err = load_text(
            &bytes,
            &LoadOptions {
                volume_index: 2,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err.kind, LoadErrorKind::BadOption(_)), "{err}");
        assert!(err.to_string().contains("2 volume"), "{err}");
    }

    #[test]
    fn volume_axis_last_is_seeked_to() {
        let mut bytes = b"NRRD0004\ntype: int16\nendian: big\ndimension: 4\nsizes: 2 1 1 3\n\
                          encoding: raw\n\n"
            .to_vec();
        bytes.extend((0i16..6).flat_map(|v| v.to_be_bytes()));
        let v = load_text(
            &bytes,
            &LoadOptions {
                volume_index: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(v.data, VoxelData::I16(vec![4, 5]));
        // The whole stream must be present even though only the end is read.
        let err = load_text(&bytes[..bytes.len() - 1], &LoadOptions::default()).unwrap_err();
        assert!(matches!(err.kind, LoadErrorKind::Truncated { .. }), "{err}");
    }

    #[test]
    fn sixty_four_bit_values_warn_when_widened() {
        let mut bytes = b"NRRD0004\ntype: int64\nendian: little\ndimension: 2\nsizes: 2 1\n\
                          encoding: raw\n\n"
            .to_vec();
        bytes.extend([1i64 << 40, -3].iter().flat_map(|v| v.to_le_bytes()));
        let v = load_text(&bytes, &LoadOptions::default()).unwrap();
        assert_eq!(v.data, VoxelData::F64(vec![(1u64 << 40) as f64, -3.0]));
        assert!(
            v.warnings.iter().any(|w| w.contains("64-bit")),
            "{:?}",
            v.warnings
        );
    }

    #[test]
    fn missing_endian_and_missing_data_file() {
        let text = b"NRRD0004\ntype: int16\ndimension: 2\nsizes: 2 1\nencoding: raw\n\n\0\0\0\0";
        let err = load_text(text, &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("endian"), "{err}");
        let text = b"NRRD0004\ntype: uint8\ndimension: 2\nsizes: 2 1\nencoding: raw\n\
                     data file: absent.raw\n";
        let err = load_text(text, &LoadOptions::default()).unwrap_err();
        assert!(matches!(err.kind, LoadErrorKind::Io(_)), "{err}");
        assert!(err.to_string().contains("absent.raw"), "{err}");
    }

    #[test]
    fn huge_claims_are_refused_without_allocating() {
        for (sizes, encoding) in [
            ("100000 100000 100000", "raw"),
            ("100000 100000 100000", "gzip"),
            ("4294967296 4294967296 4294967296", "raw"),
        ] {
            let mut bytes = format!(
                "NRRD0004\ntype: float\nendian: little\ndimension: 3\nsizes: {sizes}\n\
                 encoding: {encoding}\n\n"
            )
            .into_bytes();
            bytes.extend([0x1f, 0x8b, 0, 0]);
            let err = load_text(&bytes, &LoadOptions::default()).unwrap_err();
            assert!(
                matches!(
                    err.kind,
                    LoadErrorKind::Truncated { .. } | LoadErrorKind::BadHeader(_)
                ),
                "{err}"
            );
        }
    }
}
