//! The voxel byte stream of a NRRD: attached after the header or spread over
//! detached data files, each with its own line/byte skip and compression,
//! decoded (raw, gzip, bzip2, ascii, hex) into one stream of samples that
//! `raw::read_volume` picks the wanted volume from. Nothing here holds more
//! than a small buffer; raw data is length-checked before it is read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::PathBuf;

use super::header::{ByteSkip, Encoding};
use crate::volume::LoadErrorKind;
use crate::volume::raw::{Compression, ScalarType, decompressor_from_reader};

/// Where one piece of the stream lives.
pub enum Origin<'a> {
    Bytes(&'a [u8]),
    File(PathBuf),
}

/// One data file (or the attached data): `start` is where its line skip
/// begins, `name` is how messages call it.
pub struct Piece<'a> {
    pub origin: Origin<'a>,
    pub start: u64,
    pub name: String,
}

/// How every piece is laid out (NRRD applies the same skips to each file).
#[derive(Clone, Copy, Debug)]
pub struct Decoding {
    pub encoding: Encoding,
    pub line_skip: u64,
    pub byte_skip: ByteSkip,
    pub scalar: ScalarType,
    /// Decoded bytes each piece holds.
    pub piece_bytes: u64,
}

/// Errors met inside `Read` travel as `io::Error` through `read_volume`;
/// this wraps a typed one so [`untyped`] can take it back out.
fn typed(kind: LoadErrorKind) -> io::Error {
    io::Error::other(kind)
}

/// The typed error a stream failure stands for.
pub fn untyped(kind: LoadErrorKind) -> LoadErrorKind {
    match kind {
        LoadErrorKind::Io(e) if e.get_ref().is_some_and(|r| r.is::<LoadErrorKind>()) => {
            match e.into_inner().map(|b| b.downcast::<LoadErrorKind>()) {
                Some(Ok(inner)) => *inner,
                _ => LoadErrorKind::Corrupt("unreadable voxel stream".into()),
            }
        }
        other => other,
    }
}

trait BufReadSeek: BufRead + Seek {}
impl<T: BufRead + Seek> BufReadSeek for T {}

/// The pieces read one after another as a single decoded stream.
pub struct Pieces<'a> {
    decoding: Decoding,
    pieces: Vec<Piece<'a>>,
    next: usize,
    current: Option<(Box<dyn Read + 'a>, u64)>,
    /// Bytes of the first raw piece to seek past rather than read (volumes
    /// before the wanted one when they are whole runs at the start).
    lead: u64,
}

impl<'a> Pieces<'a> {
    pub fn new(decoding: Decoding, pieces: Vec<Piece<'a>>) -> Self {
        Pieces {
            decoding,
            pieces,
            next: 0,
            current: None,
            lead: 0,
        }
    }

    /// Skips `bytes` at the start of the stream by seeking; only for a
    /// single raw piece (returns false, doing nothing, otherwise).
    pub fn seek_lead(&mut self, bytes: u64) -> bool {
        let ok = self.pieces.len() == 1
            && self.decoding.encoding == Encoding::Raw
            && bytes <= self.decoding.piece_bytes;
        if ok {
            self.lead = bytes;
        }
        ok
    }

    /// Opens a piece, positioned at its first sample, and says how many
    /// decoded bytes to take from it. Raw lengths are checked here.
    fn open(&self, index: usize) -> Result<(Box<dyn Read + 'a>, u64), LoadErrorKind> {
        let piece = &self.pieces[index];
        let d = self.decoding;
        let name = &piece.name;
        let (mut reader, total): (Box<dyn BufReadSeek + 'a>, u64) = match &piece.origin {
            Origin::Bytes(b) => (Box::new(Cursor::new(*b)), b.len() as u64),
            Origin::File(path) => {
                let named = |e: io::Error| {
                    LoadErrorKind::Io(io::Error::new(e.kind(), format!("data file {name}: {e}")))
                };
                // A device or pipe named as data (/dev/zero, a FIFO that would
                // block the open) has no length to check: refused unopened.
                if !std::fs::metadata(path).map_err(named)?.is_file() {
                    return Err(LoadErrorKind::BadHeader(format!(
                        "the data file {name} is not a regular file"
                    )));
                }
                let file = File::open(path).map_err(named)?;
                let len = file.metadata().map_err(named)?.len();
                (Box::new(BufReader::with_capacity(1 << 16, file)), len)
            }
        };
        reader
            .seek(SeekFrom::Start(piece.start.min(total)))
            .map_err(LoadErrorKind::Io)?;
        let mut position = piece.start.min(total);
        for line in 0..d.line_skip {
            let n = reader.skip_until(b'\n').map_err(LoadErrorKind::Io)?;
            if n == 0 {
                return Err(LoadErrorKind::BadHeader(format!(
                    "`line skip: {}` but {name} ends after {line} line(s)",
                    d.line_skip
                )));
            }
            position += n as u64;
        }
        let remaining = total - position;
        let from_end_refused = |what: &str| {
            LoadErrorKind::Unsupported(format!(
                "`byte skip: -1` with {what} encoding (only raw data can be found from the end)"
            ))
        };
        let compression = match d.encoding {
            Encoding::Gzip => Compression::Deflate,
            Encoding::Bzip2 => Compression::Bzip2,
            Encoding::Raw => {
                let skip = match d.byte_skip {
                    ByteSkip::Bytes(n) => n,
                    ByteSkip::FromEnd => remaining.saturating_sub(d.piece_bytes),
                };
                let needed = position
                    .checked_add(skip)
                    .and_then(|n| n.checked_add(d.piece_bytes))
                    .ok_or_else(|| LoadErrorKind::BadHeader("the data size overflows".into()))?;
                if needed > total {
                    return Err(LoadErrorKind::Truncated {
                        what: format!("the voxel data of {name}"),
                        needed,
                        available: total,
                    });
                }
                let lead = if index == 0 { self.lead } else { 0 };
                reader
                    .seek(SeekFrom::Start(position + skip + lead))
                    .map_err(LoadErrorKind::Io)?;
                return Ok((Box::new(reader), d.piece_bytes - lead));
            }
            Encoding::Ascii | Encoding::Hex => {
                let ByteSkip::Bytes(skip) = d.byte_skip else {
                    return Err(from_end_refused("text"));
                };
                reader
                    .seek(SeekFrom::Start(position.saturating_add(skip).min(total)))
                    .map_err(LoadErrorKind::Io)?;
                let decoded: Box<dyn Read + 'a> = if d.encoding == Encoding::Ascii {
                    Box::new(AsciiValues::new(reader, d.scalar))
                } else {
                    Box::new(HexBytes::new(reader))
                };
                return Ok((decoded, d.piece_bytes));
            }
        };
        // Compressed: the line skip counted compressed lines, the byte skip
        // counts decompressed bytes (as teem does).
        let ByteSkip::Bytes(skip) = d.byte_skip else {
            return Err(from_end_refused("compressed"));
        };
        let claimed = skip.saturating_add(d.piece_bytes);
        let mut decoder = decompressor_from_reader(compression, reader, remaining, claimed)?;
        let skipped = io::copy(&mut (&mut decoder).take(skip), &mut io::sink())
            .map_err(|e| LoadErrorKind::Corrupt(format!("compressed data of {name}: {e}")))?;
        if skipped < skip {
            return Err(LoadErrorKind::Truncated {
                what: format!("the decompressed data of {name}"),
                needed: claimed,
                available: skipped,
            });
        }
        Ok((decoder, d.piece_bytes))
    }
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some((reader, left)) = &mut self.current else {
                if self.next == self.pieces.len() {
                    return Ok(0);
                }
                self.current = Some(self.open(self.next).map_err(typed)?);
                self.next += 1;
                continue;
            };
            if *left == 0 {
                self.current = None;
                continue;
            }
            let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
            let name = &self.pieces[self.next - 1].name;
            let compressed = matches!(self.decoding.encoding, Encoding::Gzip | Encoding::Bzip2);
            let short = |left: u64| {
                typed(LoadErrorKind::Truncated {
                    what: format!(
                        "the {}voxel data of {name}",
                        if compressed { "decompressed " } else { "" }
                    ),
                    needed: self.decoding.piece_bytes,
                    available: self.decoding.piece_bytes - left,
                })
            };
            match reader.read(&mut buf[..want]) {
                Ok(0) => return Err(short(*left)),
                Ok(n) => {
                    *left -= n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(short(*left)),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Text values, one sample each, re-emitted as little-endian bytes of the
/// header's type. Separators: whitespace and commas (teem accepts both).
struct AsciiValues<R> {
    inner: R,
    scalar: ScalarType,
    out: [u8; 8],
    out_len: usize,
    out_pos: usize,
    token: Vec<u8>,
    values: u64,
}

/// Longer tokens are not numbers; the cap keeps a hostile file from growing one.
const MAX_TOKEN: usize = 80;

impl<R: BufRead> AsciiValues<R> {
    fn new(inner: R, scalar: ScalarType) -> Self {
        AsciiValues {
            inner,
            scalar,
            out: [0; 8],
            out_len: 0,
            out_pos: 0,
            token: Vec::new(),
            values: 0,
        }
    }

    /// Reads the next token into `self.token`; false at the end of the text.
    fn next_token(&mut self) -> io::Result<bool> {
        self.token.clear();
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok(!self.token.is_empty());
            }
            let mut used = 0;
            let mut done = false;
            for &b in chunk {
                used += 1;
                if b.is_ascii_whitespace() || b == b',' {
                    if !self.token.is_empty() {
                        done = true;
                        break;
                    }
                } else if self.token.len() == MAX_TOKEN {
                    return Err(typed(LoadErrorKind::Corrupt(format!(
                        "ascii voxel value {} is longer than {MAX_TOKEN} characters",
                        self.values
                    ))));
                } else {
                    self.token.push(b);
                }
            }
            self.inner.consume(used);
            if done {
                return Ok(true);
            }
        }
    }

    fn encode(&mut self) -> io::Result<()> {
        let text = std::str::from_utf8(&self.token).unwrap_or("");
        let bad = || {
            typed(LoadErrorKind::Corrupt(format!(
                "ascii voxel value {} `{}` is not a {:?} number",
                self.values,
                String::from_utf8_lossy(&self.token),
                self.scalar
            )))
        };
        macro_rules! put {
            ($t:ty) => {{
                let v: $t = text.parse().map_err(|_| bad())?;
                let bytes = v.to_le_bytes();
                self.out[..bytes.len()].copy_from_slice(&bytes);
                bytes.len()
            }};
        }
        self.out_len = match self.scalar {
            ScalarType::I8 => put!(i8),
            ScalarType::U8 => put!(u8),
            ScalarType::I16 => put!(i16),
            ScalarType::U16 => put!(u16),
            ScalarType::I32 => put!(i32),
            ScalarType::U32 => put!(u32),
            ScalarType::I64 => put!(i64),
            ScalarType::U64 => put!(u64),
            ScalarType::F32 => put!(f32),
            ScalarType::F64 => put!(f64),
        };
        self.out_pos = 0;
        self.values += 1;
        Ok(())
    }
}

impl<R: BufRead> Read for AsciiValues<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out_len {
            if buf.is_empty() || !self.next_token()? {
                return Ok(0);
            }
            self.encode()?;
        }
        let n = buf.len().min(self.out_len - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// Pairs of hex digits (any case, whitespace ignored) as bytes.
struct HexBytes<R> {
    inner: R,
    high: Option<u8>,
}

impl<R: BufRead> HexBytes<R> {
    fn new(inner: R) -> Self {
        HexBytes { inner, high: None }
    }
}

impl<R: BufRead> Read for HexBytes<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            let mut used = 0;
            for &b in chunk {
                if written == buf.len() {
                    break;
                }
                used += 1;
                let nibble = match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' => b - b'a' + 10,
                    b'A'..=b'F' => b - b'A' + 10,
                    _ if b.is_ascii_whitespace() => continue,
                    _ => {
                        return Err(typed(LoadErrorKind::Corrupt(format!(
                            "hex voxel data holds {:?}, not a hex digit",
                            b as char
                        ))));
                    }
                };
                match self.high.take() {
                    None => self.high = Some(nibble),
                    Some(high) => {
                        buf[written] = high << 4 | nibble;
                        written += 1;
                    }
                }
            }
            self.inner.consume(used);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(
        encoding: Encoding,
        scalar: ScalarType,
        bytes: &[u8],
        piece_bytes: u64,
    ) -> Result<Vec<u8>, LoadErrorKind> {
        let d = Decoding {
            encoding,
            line_skip: 1,
            byte_skip: ByteSkip::Bytes(0),
            scalar,
            piece_bytes,
        };
        let piece = Piece {
            origin: Origin::Bytes(bytes),
            start: 0,
            name: "test".into(),
        };
        let mut out = Vec::new();
        Pieces::new(d, vec![piece])
            .read_to_end(&mut out)
            .map_err(|e| untyped(LoadErrorKind::Io(e)))?;
        Ok(out)
    }

    #[test]
    fn ascii_values_become_little_endian_bytes() {
        let out = decode(
            Encoding::Ascii,
            ScalarType::I16,
            b"skipped line\n-2, 300\n\t7",
            6,
        )
        .unwrap();
        assert_eq!(out, [254, 255, 44, 1, 7, 0]);
        let out = decode(Encoding::Ascii, ScalarType::F32, b"\n1.5 -inf", 8).unwrap();
        assert_eq!(out[..4], 1.5f32.to_le_bytes());
        assert_eq!(out[4..], f32::NEG_INFINITY.to_le_bytes());
    }

    #[test]
    fn ascii_errors() {
        let err = decode(Encoding::Ascii, ScalarType::U8, b"\n1 256", 2).unwrap_err();
        assert!(
            matches!(err, LoadErrorKind::Corrupt(ref m) if m.contains("`256`")),
            "{err}"
        );
        let err = decode(Encoding::Ascii, ScalarType::U8, b"\n1 2", 3).unwrap_err();
        assert!(
            matches!(
                err,
                LoadErrorKind::Truncated {
                    needed: 3,
                    available: 2,
                    ..
                }
            ),
            "{err}"
        );
        let long = format!("\n{}", "9".repeat(200));
        let err = decode(Encoding::Ascii, ScalarType::F64, long.as_bytes(), 8).unwrap_err();
        assert!(matches!(err, LoadErrorKind::Corrupt(_)), "{err}");
    }

    #[test]
    fn hex_pairs_across_whitespace() {
        let out = decode(Encoding::Hex, ScalarType::U16, b"\n0a F\n f 10", 3).unwrap();
        assert_eq!(out, [0x0a, 0xff, 0x10]);
        let err = decode(Encoding::Hex, ScalarType::U8, b"\n0g", 1).unwrap_err();
        assert!(matches!(err, LoadErrorKind::Corrupt(_)), "{err}");
    }

    #[test]
    fn raw_length_is_checked_before_reading() {
        let err = decode(Encoding::Raw, ScalarType::U8, b"line\nabc", 4).unwrap_err();
        assert!(
            matches!(
                err,
                LoadErrorKind::Truncated {
                    needed: 9,
                    available: 8,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            decode(Encoding::Raw, ScalarType::U8, b"line\nabcdef", 4).unwrap(),
            b"abcd"
        );
    }

    #[test]
    fn missing_lines_to_skip() {
        let err = decode(Encoding::Raw, ScalarType::U8, b"", 1).unwrap_err();
        assert!(err.to_string().contains("line skip"), "{err}");
    }
}
