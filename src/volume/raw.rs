//! Raw voxel streams, shared by the header-plus-data formats (NRRD and
//! MetaImage): scalar types, byte order, compression, and reading one 3-D
//! volume out of a stream that may hold several, never holding more than
//! that volume plus a bounded buffer.
//!
//! Written here rather than taken from a crate: the `nrrd` and `metaimage`
//! crates on crates.io are small, unmaintained and read the whole file into
//! memory before checking it, which is what the bounded-memory rule forbids.

use std::io::{BufRead, Read};

use super::{LoadErrorKind, VoxelData};

/// Element types of the two formats. 64-bit integers have no voxel type of
/// their own: they are narrowed to 32 bits where every value fits, else
/// widened to f64 (see [`narrow_i64`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl ScalarType {
    pub fn bytes(self) -> u64 {
        match self {
            ScalarType::I8 | ScalarType::U8 => 1,
            ScalarType::I16 | ScalarType::U16 => 2,
            ScalarType::I32 | ScalarType::U32 | ScalarType::F32 => 4,
            ScalarType::I64 | ScalarType::U64 | ScalarType::F64 => 8,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    /// gzip or zlib framing (told apart by the first bytes): NRRD's `gzip`
    /// is gzip, MetaImage's `CompressedData = True` is zlib.
    Deflate,
    Bzip2,
}

/// Deflate cannot expand data by more than about 1032:1: a header claiming
/// more than that from the compressed bytes is not believed.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// Where the wanted volume lies in a stream of samples.
///
/// The stream is an array whose axes run fastest first; at most one axis is
/// not spatial (a list of volumes, vector components, time points). Seen
/// from that axis, the stream is `outer` blocks of `count` runs of `inner`
/// samples, and the wanted volume is run `index` of every block: `inner` is
/// the product of the axes before the non-spatial one, `outer` of those after.
/// A 3-D image is `count = 1`.
#[derive(Clone, Copy, Debug)]
pub struct Selection {
    pub scalar: ScalarType,
    pub order: ByteOrder,
    pub inner: u64,
    pub count: u64,
    pub index: u64,
    pub outer: u64,
}

impl Selection {
    /// A plain 3-D stream of `voxels` samples.
    pub fn whole(scalar: ScalarType, order: ByteOrder, voxels: u64) -> Self {
        Selection {
            scalar,
            order,
            inner: voxels,
            count: 1,
            index: 0,
            outer: 1,
        }
    }

    /// Bytes of the whole stream (every volume), `None` on overflow.
    pub fn stream_bytes(&self) -> Option<u64> {
        self.inner
            .checked_mul(self.count)?
            .checked_mul(self.outer)?
            .checked_mul(self.scalar.bytes())
    }

    /// Samples of the selected volume.
    pub fn volume_samples(&self) -> Option<u64> {
        self.inner.checked_mul(self.outer)
    }
}

/// Opens the decompressor for `compressed`; `claimed` is the size of the
/// stream the header promises, checked against what deflate can produce.
pub fn decompressor<'a>(
    compression: Compression,
    compressed: &'a [u8],
    claimed: u64,
) -> Result<Box<dyn Read + 'a>, LoadErrorKind> {
    decompressor_from_reader(compression, compressed, compressed.len() as u64, claimed)
}

/// As [`decompressor`], for `compressed_len` compressed bytes read from a
/// stream (a file) instead of held in memory: a detached or multi-volume
/// compressed stream need not fit in memory beside the volume decoded from it.
pub fn decompressor_from_reader<'a>(
    compression: Compression,
    mut compressed: impl BufRead + 'a,
    compressed_len: u64,
    claimed: u64,
) -> Result<Box<dyn Read + 'a>, LoadErrorKind> {
    match compression {
        Compression::None => Ok(Box::new(compressed)),
        Compression::Deflate => {
            let ceiling = compressed_len.saturating_mul(MAX_DEFLATE_RATIO);
            if claimed > ceiling.saturating_add(1024) {
                return Err(LoadErrorKind::BadHeader(format!(
                    "the header claims {claimed} bytes of voxel data, more than the \
                     {compressed_len} compressed bytes can hold"
                )));
            }
            let head = compressed.fill_buf().map_err(stream_error)?;
            if head.starts_with(&[0x1f, 0x8b]) {
                Ok(Box::new(flate2::bufread::MultiGzDecoder::new(compressed)))
            } else {
                Ok(Box::new(flate2::bufread::ZlibDecoder::new(compressed)))
            }
        }
        // bzip2 has no useful ratio bound: memory follows the data that
        // really decompresses (see `read_volume`), never the claim alone.
        Compression::Bzip2 => Ok(Box::new(bzip2::bufread::MultiBzDecoder::new(compressed))),
    }
}

/// Reads the selected volume from `reader`, which is positioned at the first
/// sample. Memory: the volume itself, grown as samples arrive (so a lying
/// header cannot reserve it up front), plus a buffer of at most 4 MiB.
pub fn read_volume(reader: &mut dyn Read, sel: &Selection) -> Result<VoxelData, LoadErrorKind> {
    Ok(match sel.scalar {
        ScalarType::I8 => VoxelData::I8(read_typed(reader, sel, |b| b[0] as i8)?),
        ScalarType::U8 => VoxelData::U8(read_typed(reader, sel, |b| b[0])?),
        ScalarType::I16 => VoxelData::I16(read_typed(reader, sel, |b| {
            from_bytes(b, sel.order, i16::from_le_bytes, i16::from_be_bytes)
        })?),
        ScalarType::U16 => VoxelData::U16(read_typed(reader, sel, |b| {
            from_bytes(b, sel.order, u16::from_le_bytes, u16::from_be_bytes)
        })?),
        ScalarType::I32 => VoxelData::I32(read_typed(reader, sel, |b| {
            from_bytes(b, sel.order, i32::from_le_bytes, i32::from_be_bytes)
        })?),
        ScalarType::U32 => VoxelData::U32(read_typed(reader, sel, |b| {
            from_bytes(b, sel.order, u32::from_le_bytes, u32::from_be_bytes)
        })?),
        ScalarType::F32 => VoxelData::F32(read_typed(reader, sel, |b| {
            from_bytes(b, sel.order, f32::from_le_bytes, f32::from_be_bytes)
        })?),
        ScalarType::F64 => VoxelData::F64(read_typed(reader, sel, |b| {
            from_bytes(b, sel.order, f64::from_le_bytes, f64::from_be_bytes)
        })?),
        ScalarType::I64 => narrow_i64(read_typed(reader, sel, |b| {
            from_bytes(b, sel.order, i64::from_le_bytes, i64::from_be_bytes)
        })?),
        ScalarType::U64 => narrow_u64(read_typed(reader, sel, |b| {
            from_bytes(b, sel.order, u64::from_le_bytes, u64::from_be_bytes)
        })?),
    })
}

fn from_bytes<T, const N: usize>(
    b: &[u8],
    order: ByteOrder,
    le: fn([u8; N]) -> T,
    be: fn([u8; N]) -> T,
) -> T {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    match order {
        ByteOrder::Little => le(a),
        ByteOrder::Big => be(a),
    }
}

const BUFFER_BYTES: u64 = 4 << 20;

fn read_typed<T>(
    reader: &mut dyn Read,
    sel: &Selection,
    convert: impl Fn(&[u8]) -> T,
) -> Result<Vec<T>, LoadErrorKind> {
    let width = sel.scalar.bytes();
    let overflow = || LoadErrorKind::BadHeader("the image dimensions overflow".into());
    let total_bytes = sel.stream_bytes().ok_or_else(overflow)?;
    let wanted = sel.volume_samples().ok_or_else(overflow)?;
    if sel.index >= sel.count {
        return Err(LoadErrorKind::BadOption(format!(
            "volume {} requested but the file holds {} volume(s) (0-based)",
            sel.index, sel.count
        )));
    }
    let mut out: Vec<T> = Vec::new();
    let mut stream = Counted { reader, read: 0 };
    let run_bytes = sel.inner * width;
    let block_bytes = run_bytes * sel.count;
    let mut buf = Vec::new();
    if sel.count == 1 && sel.outer == 1 {
        return read_contiguous(&mut stream, wanted, width, total_bytes, convert);
    }
    if block_bytes <= BUFFER_BYTES {
        // Small blocks (interleaved components): read many blocks at a time,
        // keep run `index` of each.
        let per_read = (BUFFER_BYTES / block_bytes.max(1)).max(1);
        let mut blocks_left = sel.outer;
        while blocks_left > 0 {
            let n = per_read.min(blocks_left);
            buf.resize((n * block_bytes) as usize, 0);
            stream.fill(&mut buf, total_bytes)?;
            out.try_reserve((n * sel.inner) as usize)
                .map_err(|_| overflow())?;
            for block in buf.chunks_exact(block_bytes as usize) {
                let start = (sel.index * run_bytes) as usize;
                let run = &block[start..start + run_bytes as usize];
                out.extend(run.chunks_exact(width as usize).map(&convert));
            }
            blocks_left -= n;
        }
    } else {
        // Large runs (a list of whole volumes): skip the others, read ours.
        for _ in 0..sel.outer {
            stream.skip(sel.index * run_bytes, total_bytes)?;
            let mut left = run_bytes;
            while left > 0 {
                let n = left.min(BUFFER_BYTES);
                buf.resize(n as usize, 0);
                stream.fill(&mut buf, total_bytes)?;
                out.try_reserve((n / width) as usize)
                    .map_err(|_| overflow())?;
                out.extend(buf.chunks_exact(width as usize).map(&convert));
                left -= n;
            }
            stream.skip((sel.count - sel.index - 1) * run_bytes, total_bytes)?;
        }
    }
    debug_assert_eq!(out.len() as u64, wanted);
    Ok(out)
}

fn read_contiguous<T>(
    stream: &mut Counted<'_>,
    wanted: u64,
    width: u64,
    total_bytes: u64,
    convert: impl Fn(&[u8]) -> T,
) -> Result<Vec<T>, LoadErrorKind> {
    let mut out: Vec<T> = Vec::new();
    let mut buf = Vec::new();
    let mut left = wanted * width;
    while left > 0 {
        let n = left.min(BUFFER_BYTES);
        buf.resize(n as usize, 0);
        stream.fill(&mut buf, total_bytes)?;
        out.try_reserve((n / width) as usize).map_err(|_| {
            LoadErrorKind::BadHeader(format!("{wanted} voxels cannot be held in memory"))
        })?;
        out.extend(buf.chunks_exact(width as usize).map(&convert));
        left -= n;
    }
    Ok(out)
}

/// A reader that knows how far it got, for truncation messages.
struct Counted<'a> {
    reader: &'a mut dyn Read,
    read: u64,
}

impl Counted<'_> {
    fn fill(&mut self, buf: &mut [u8], total: u64) -> Result<(), LoadErrorKind> {
        let mut got = 0;
        while got < buf.len() {
            match self.reader.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(LoadErrorKind::Truncated {
                        what: "the voxel data".into(),
                        needed: total,
                        available: self.read + got as u64,
                    });
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // A compressed stream that stops mid-block is truncated, not unreadable.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(LoadErrorKind::Truncated {
                        what: "the voxel data".into(),
                        needed: total,
                        available: self.read + got as u64,
                    });
                }
                Err(e) => return Err(stream_error(e)),
            }
        }
        self.read += got as u64;
        Ok(())
    }

    fn skip(&mut self, bytes: u64, total: u64) -> Result<(), LoadErrorKind> {
        let copied = match std::io::copy(&mut self.reader.take(bytes), &mut std::io::sink()) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(stream_error(e)),
        };
        self.read += copied;
        if copied < bytes {
            return Err(LoadErrorKind::Truncated {
                what: "the voxel data".into(),
                needed: total,
                available: self.read,
            });
        }
        Ok(())
    }
}

fn stream_error(e: std::io::Error) -> LoadErrorKind {
    match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput => {
            LoadErrorKind::Corrupt(format!("compressed voxel data: {e}"))
        }
        _ => LoadErrorKind::Io(e),
    }
}

/// A printf-style file-name pattern with one `%d` (`%03d`, `%4d`, `%i`, `%u`;
/// `%%` is a literal percent) filled in with `n`, as NRRD and MetaImage name
/// the files of a detached series. `None` for any other pattern, or a width
/// above 64.
pub fn fill_pattern(pattern: &str, n: i64) -> Option<String> {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    let mut filled = false;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.next_if_eq(&'%').is_some() {
            out.push('%');
            continue;
        }
        let zero = chars.next_if_eq(&'0').is_some();
        let mut width = 0usize;
        while let Some(d) = chars.next_if(char::is_ascii_digit) {
            width = width * 10 + d.to_digit(10)? as usize;
            if width > 64 {
                return None;
            }
        }
        if filled || !matches!(chars.next(), Some('d' | 'i' | 'u')) {
            return None;
        }
        filled = true;
        out.push_str(&if zero {
            format!("{n:0width$}")
        } else {
            format!("{n:width$}")
        });
    }
    filled.then_some(out)
}

/// 64-bit integers as i32 when every value fits, else f64 (exact up to 2^53).
pub fn narrow_i64(values: Vec<i64>) -> VoxelData {
    if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        VoxelData::I32(values.into_iter().map(|v| v as i32).collect())
    } else {
        VoxelData::F64(values.into_iter().map(|v| v as f64).collect())
    }
}

/// 64-bit unsigned integers as u32 when every value fits, else f64.
pub fn narrow_u64(values: Vec<u64>) -> VoxelData {
    if values.iter().all(|&v| u32::try_from(v).is_ok()) {
        VoxelData::U32(values.into_iter().map(|v| v as u32).collect())
    } else {
        VoxelData::F64(values.into_iter().map(|v| v as f64).collect())
    }
}

/// Whether a narrowed 64-bit image lost precision (values beyond 2^53).
pub fn lost_precision(data: &VoxelData) -> bool {
    matches!(data, VoxelData::F64(v) if v.iter().any(|x| x.abs() > 9_007_199_254_740_992.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(inner: u64, count: u64, index: u64, outer: u64) -> Selection {
        Selection {
            scalar: ScalarType::U16,
            order: ByteOrder::Big,
            inner,
            count,
            index,
            outer,
        }
    }

    fn stream(n: u16) -> Vec<u8> {
        (0..n).flat_map(|v| v.to_be_bytes()).collect()
    }

    #[test]
    fn picks_runs_of_every_block() {
        // 2 blocks of 3 runs of 2 samples: run 1 of each is 2,3 and 8,9.
        let bytes = stream(12);
        let data = read_volume(&mut &bytes[..], &sel(2, 3, 1, 2)).unwrap();
        assert_eq!(data, VoxelData::U16(vec![2, 3, 8, 9]));
    }

    #[test]
    fn interleaved_components() {
        let bytes = stream(12);
        let data = read_volume(&mut &bytes[..], &sel(1, 4, 3, 3)).unwrap();
        assert_eq!(data, VoxelData::U16(vec![3, 7, 11]));
    }

    #[test]
    fn large_runs_are_skipped_not_held() {
        let n = 3 * 1_100_000u64; // three volumes of 2.2 MB, over the 4 MiB block limit together
        let bytes: Vec<u8> = (0..n).flat_map(|v| (v as u16).to_be_bytes()).collect();
        let data = read_volume(&mut &bytes[..], &sel(1_100_000, 3, 2, 1)).unwrap();
        let VoxelData::U16(v) = data else { panic!() };
        assert_eq!(v.len(), 1_100_000);
        assert_eq!(v[0], (2_200_000u64 % 65536) as u16);
    }

    #[test]
    fn short_stream_is_truncated() {
        let bytes = stream(5);
        let err = read_volume(&mut &bytes[..], &sel(6, 1, 0, 1)).unwrap_err();
        assert!(
            matches!(err, LoadErrorKind::Truncated { needed: 12, .. }),
            "{err}"
        );
    }

    #[test]
    fn index_out_of_range() {
        let bytes = stream(12);
        let err = read_volume(&mut &bytes[..], &sel(2, 3, 3, 2)).unwrap_err();
        assert!(matches!(err, LoadErrorKind::BadOption(_)), "{err}");
    }

    #[test]
    fn deflate_claim_beyond_ratio_is_refused() {
        let err = decompressor(Compression::Deflate, &[0x78, 0x9c, 0, 0], 10 << 20)
            .err()
            .unwrap();
        assert!(matches!(err, LoadErrorKind::BadHeader(_)), "{err}");
    }

    #[test]
    fn deflate_from_a_reader_matches_the_slice_path() {
        use std::io::Write;
        let bytes = stream(300);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&bytes).unwrap();
        let z = z.finish().unwrap();
        let reader = std::io::BufReader::with_capacity(7, &z[..]);
        let mut r =
            decompressor_from_reader(Compression::Deflate, reader, z.len() as u64, 600).unwrap();
        let data = read_volume(&mut r, &sel(300, 1, 0, 1)).unwrap();
        assert_eq!(data, VoxelData::U16((0..300).collect()));
    }

    #[test]
    fn cut_deflate_stream_is_truncated() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&stream(3000)).unwrap();
        let z = z.finish().unwrap();
        let mut r = decompressor(Compression::Deflate, &z[..z.len() / 2], 6000).unwrap();
        let err = read_volume(&mut r, &sel(3000, 1, 0, 1)).unwrap_err();
        assert!(
            matches!(err, LoadErrorKind::Truncated { needed: 6000, .. }),
            "{err}"
        );
    }

    #[test]
    fn file_name_patterns() {
        assert_eq!(fill_pattern("s%03d.raw", 7).as_deref(), Some("s007.raw"));
        assert_eq!(fill_pattern("%4i%%", 12).as_deref(), Some("  12%"));
        assert_eq!(fill_pattern("a%db%d", 1), None);
        assert_eq!(fill_pattern("plain.raw", 1), None);
        assert_eq!(fill_pattern("%s", 1), None);
        assert_eq!(fill_pattern("%0999d", 1), None);
    }

    #[test]
    fn sixty_four_bit_narrowing() {
        assert_eq!(narrow_i64(vec![-5, 7]), VoxelData::I32(vec![-5, 7]));
        assert_eq!(
            narrow_i64(vec![1 << 40]),
            VoxelData::F64(vec![(1u64 << 40) as f64])
        );
        assert_eq!(
            narrow_u64(vec![u32::MAX as u64]),
            VoxelData::U32(vec![u32::MAX])
        );
        assert!(lost_precision(&narrow_u64(vec![u64::MAX])));
    }
}
