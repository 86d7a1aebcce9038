//! Where a MetaImage's voxel bytes are (its own file, one detached file, a
//! `LIST` of files or a numbered pattern) and one stream over them that
//! opens each file only when the read reaches it and seeks past raw data
//! it does not need.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::header::{DataFile, Header, HeaderSize, format_index};
use crate::volume::LoadErrorKind;
use crate::volume::raw::{self, Compression, MAX_DEFLATE_RATIO};

/// Longest `LIST` line accepted (MetaIO's own buffer is 1024 bytes).
const MAX_LIST_LINE: u64 = 4096;

/// Where the header (and LOCAL data) came from.
#[derive(Clone, Copy)]
pub enum Local<'a> {
    Memory(&'a [u8]),
    File(&'a Path),
}

#[derive(Clone)]
enum Source<'a> {
    Memory(&'a [u8]),
    File(PathBuf),
}

impl Source<'_> {
    fn name(&self) -> String {
        match self {
            Source::Memory(_) => "the header's own bytes".into(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// One stored piece of the voxel stream.
pub struct Part<'a> {
    source: Source<'a>,
    start: u64,
    stored: u64,
    /// Bytes this piece holds once decompressed.
    decoded: u64,
    compressed: bool,
}

/// The stored pieces of a `stream_bytes`-long voxel stream, every size
/// checked against its file before anything is read.
pub fn parts<'a>(
    h: &Header,
    local: Local<'a>,
    header_path: &Path,
    stream_bytes: u64,
) -> Result<Vec<Part<'a>>, LoadErrorKind> {
    let folder = header_path.parent().unwrap_or(Path::new(""));
    let file = |name: &str| Source::File(folder.join(name));
    let per_element = h.channels * h.scalar.bytes();
    // Product of the first `axes` sizes, in bytes (≤ stream_bytes, so no overflow).
    let block_bytes = |axes: usize| h.dims[..axes].iter().product::<u64>() * per_element;
    match &h.data_file {
        DataFile::Local => {
            let (source, base) = match local {
                Local::Memory(bytes) => (Source::Memory(bytes), h.data_start as u64),
                Local::File(path) => (Source::File(path.to_path_buf()), h.data_start as u64),
            };
            Ok(vec![place(h, source, base, stream_bytes, true)?])
        }
        DataFile::File(name) => Ok(vec![place(h, file(name), 0, stream_bytes, true)?]),
        DataFile::List { file_dims } => {
            let each = block_bytes(*file_dims);
            let count = stream_bytes / each;
            let names = list_names(local, h.data_start as u64, count)?;
            names
                .iter()
                .map(|name| place(h, file(name), 0, each, false))
                .collect()
        }
        DataFile::Pattern {
            format,
            first,
            step,
        } => {
            let each = block_bytes(h.ndims - 1);
            let count = h.dims[h.ndims - 1];
            (0..count as i64)
                .map(|s| {
                    let number = s
                        .checked_mul(*step)
                        .and_then(|x| x.checked_add(*first))
                        .ok_or_else(|| LoadErrorKind::BadHeader("file numbers overflow".into()))?;
                    place(h, file(&format_index(format, number)?), 0, each, false)
                })
                .collect()
        }
    }
}

fn source_len(source: &Source) -> Result<u64, LoadErrorKind> {
    match source {
        Source::Memory(b) => Ok(b.len() as u64),
        Source::File(p) => {
            let meta = std::fs::metadata(p).map_err(|e| named_io(p, e))?;
            // A device or pipe named as data (/dev/zero) has no length to check.
            if !meta.is_file() {
                return Err(LoadErrorKind::BadHeader(format!(
                    "the data file {} is not a regular file",
                    p.display()
                )));
            }
            Ok(meta.len())
        }
    }
}

/// Where one piece of `decoded` bytes lies in `source`, given `HeaderSize`
/// and (for the single-stream forms only) `CompressedDataSize`.
fn place<'a>(
    h: &Header,
    source: Source<'a>,
    base: u64,
    decoded: u64,
    single: bool,
) -> Result<Part<'a>, LoadErrorKind> {
    let len = source_len(&source)?;
    let what = |kind: &str| format!("the {kind} voxel data in {}", source.name());
    let size = if h.compressed && single {
        h.compressed_size
    } else if h.compressed {
        None
    } else {
        Some(decoded)
    };
    let start = match (h.header_size, size) {
        (HeaderSize::Auto, _) => base,
        (HeaderSize::Bytes(n), _) => n,
        (HeaderSize::AtEnd, Some(size)) => {
            len.checked_sub(size)
                .ok_or_else(|| LoadErrorKind::Truncated {
                    what: what(if h.compressed { "compressed" } else { "raw" }),
                    needed: size,
                    available: len,
                })?
        }
        (HeaderSize::AtEnd, None) => {
            return Err(LoadErrorKind::Unsupported(
                "HeaderSize = -1 with compressed data and no CompressedDataSize: \
                 where the data starts is unknown"
                    .into(),
            ));
        }
    };
    let stored = size.unwrap_or(len.saturating_sub(start));
    let end = start.checked_add(stored).filter(|&e| e <= len);
    if end.is_none() {
        return Err(LoadErrorKind::Truncated {
            what: what(if h.compressed { "compressed" } else { "raw" }),
            needed: start.saturating_add(stored),
            available: len,
        });
    }
    if h.compressed
        && decoded
            > stored
                .saturating_mul(MAX_DEFLATE_RATIO)
                .saturating_add(1024)
    {
        return Err(LoadErrorKind::BadHeader(format!(
            "the header claims {decoded} bytes of voxel data, more than the {stored} \
             compressed bytes in {} can hold",
            source.name()
        )));
    }
    Ok(Part {
        source,
        start,
        stored,
        decoded,
        compressed: h.compressed,
    })
}

/// The `count` file names on the lines after a `LIST` header (blank lines skipped).
fn list_names(local: Local, data_start: u64, count: u64) -> Result<Vec<String>, LoadErrorKind> {
    let mut reader: Box<dyn BufRead> = match local {
        Local::Memory(bytes) => Box::new(bytes.get(data_start as usize..).unwrap_or(&[])),
        Local::File(path) => {
            let mut f = File::open(path)?;
            f.seek(SeekFrom::Start(data_start))?;
            Box::new(BufReader::new(f))
        }
    };
    let mut names = Vec::new();
    let mut line = Vec::new();
    while (names.len() as u64) < count {
        line.clear();
        let got = (&mut reader)
            .take(MAX_LIST_LINE + 1)
            .read_until(b'\n', &mut line)?;
        if got == 0 {
            return Err(LoadErrorKind::BadHeader(format!(
                "ElementDataFile = LIST names {} file(s) but the image needs {count}",
                names.len()
            )));
        }
        if got as u64 > MAX_LIST_LINE {
            return Err(LoadErrorKind::BadHeader(format!(
                "a LIST file name is longer than {MAX_LIST_LINE} bytes"
            )));
        }
        let name = String::from_utf8_lossy(line.trim_ascii());
        if !name.is_empty() {
            names.push(name.into_owned());
        }
    }
    Ok(names)
}

/// The pieces read one after another as one stream. Each piece must give
/// exactly its `decoded` bytes, so a short slice file cannot shift the rest.
pub struct Chain<'a> {
    parts: std::collections::VecDeque<Part<'a>>,
    current: Option<Current<'a>>,
    /// Set when a piece ended early (the stream then ends there).
    short: Option<LoadErrorKind>,
}

struct Current<'a> {
    reader: Box<dyn Read + 'a>,
    left: u64,
    decoded: u64,
    name: String,
}

impl<'a> Chain<'a> {
    pub fn new(parts: Vec<Part<'a>>) -> Self {
        Chain {
            parts: parts.into(),
            current: None,
            short: None,
        }
    }

    /// Skips `n` decoded bytes: whole pieces without opening them, raw
    /// bytes by seeking, compressed bytes by decompressing them.
    pub fn skip(&mut self, mut n: u64) -> Result<(), LoadErrorKind> {
        while self.current.is_none()
            && let Some(part) = self.parts.front()
            && part.decoded <= n
        {
            n -= part.decoded;
            self.parts.pop_front();
        }
        if n > 0
            && self.current.is_none()
            && let Some(part) = self.parts.pop_front()
        {
            let seeked = if part.compressed { 0 } else { n };
            self.current = Some(Current {
                reader: open(&part, seeked)?,
                left: part.decoded - seeked,
                decoded: part.decoded,
                name: part.source.name(),
            });
            n -= seeked;
        }
        let copied = match std::io::copy(&mut self.by_ref().take(n), &mut std::io::sink()) {
            Ok(copied) => copied,
            // A compressed piece cut mid-block.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(LoadErrorKind::Io(e)),
        };
        if copied < n {
            return Err(self.short_piece().unwrap_or(LoadErrorKind::Truncated {
                what: "the voxel data before the selected volume".into(),
                needed: n,
                available: copied,
            }));
        }
        Ok(())
    }

    /// Why the stream ended early, if a piece of it was short.
    pub fn short_piece(&mut self) -> Option<LoadErrorKind> {
        self.short.take()
    }
}

/// Opens a piece `offset` bytes in (raw pieces only; compressed ones start
/// at 0 and the caller discards what it does not want).
fn open<'a>(part: &Part<'a>, offset: u64) -> Result<Box<dyn Read + 'a>, LoadErrorKind> {
    let (start, len) = (part.start + offset, part.stored - offset);
    match &part.source {
        Source::Memory(bytes) => {
            let slice = &bytes[start as usize..(start + len) as usize];
            if part.compressed {
                raw::decompressor(Compression::Deflate, slice, part.decoded)
            } else {
                Ok(Box::new(slice))
            }
        }
        Source::File(path) => {
            let mut file = File::open(path).map_err(|e| named_io(path, e))?;
            file.seek(SeekFrom::Start(start))?;
            let limited = file.take(len);
            if part.compressed {
                let reader = BufReader::with_capacity(1 << 16, limited);
                raw::decompressor_from_reader(Compression::Deflate, reader, len, part.decoded)
            } else {
                Ok(Box::new(limited))
            }
        }
    }
}

fn named_io(path: &Path, e: std::io::Error) -> LoadErrorKind {
    LoadErrorKind::Io(std::io::Error::new(
        e.kind(),
        format!("data file {}: {e}", path.display()),
    ))
}

impl Read for Chain<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() || self.short.is_some() {
            return Ok(0);
        }
        loop {
            if let Some(cur) = &mut self.current {
                if cur.left > 0 {
                    let want = buf
                        .len()
                        .min(usize::try_from(cur.left).unwrap_or(usize::MAX));
                    let n = cur.reader.read(&mut buf[..want])?;
                    if n > 0 {
                        cur.left -= n as u64;
                        return Ok(n);
                    }
                    // The piece ended early: end the stream and say which piece.
                    self.short = Some(LoadErrorKind::Truncated {
                        what: format!("the voxel data in {}", cur.name),
                        needed: cur.decoded,
                        available: cur.decoded - cur.left,
                    });
                    return Ok(0);
                }
                self.current = None;
            }
            let Some(part) = self.parts.pop_front() else {
                return Ok(0);
            };
            let reader = open(&part, 0).map_err(std::io::Error::other)?;
            self.current = Some(Current {
                reader,
                left: part.decoded,
                decoded: part.decoded,
                name: part.source.name(),
            });
        }
    }
}
