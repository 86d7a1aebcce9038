//! NRRD header text: the fields rayseg uses, parsed tolerantly (any case,
//! CRLF, trailing spaces, `field:value` without the space, unknown fields and
//! `key:=value` pairs ignored) but checked strictly where a number sizes
//! something.

use super::values::*;
use crate::volume::LoadErrorKind;
use crate::volume::raw::{ByteOrder, ScalarType};

/// A header longer than this without the blank line that ends it is not a
/// NRRD header (real ones are a few KiB; a LIST of file names stays far below).
pub const MAX_HEADER_BYTES: usize = 4 << 20;

/// NRRD allows at most 16 axes (teem's NRRD_DIM_MAX).
pub(super) const MAX_DIMENSION: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Raw,
    Gzip,
    Bzip2,
    Ascii,
    Hex,
}

/// `space`, reduced to what decides geometry: how SimpleITK maps its
/// coordinates to LPS, and how many coordinates a vector has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    Ras,
    Las,
    Lps,
    /// scanner-xyz and 3D-right/left-handed: ITK keeps their coordinates
    /// as they are, i.e. reads them as LPS.
    Other,
    /// The `-time` variants (4 coordinates). ITK does not convert these
    /// either, not even right-anterior-superior-time.
    WithTime,
}

impl Space {
    pub fn dimension(self) -> usize {
        match self {
            Space::WithTime => 4,
            _ => 3,
        }
    }
}

/// Axis kinds: the ones that mark an axis as not spatial are kept by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `???`, `none` or no `kinds` field.
    Unknown,
    Domain,
    Time,
    /// list, vector, RGB-color, ...: a non-spatial (range) axis.
    Range(String),
}

impl Kind {
    /// Whether ITK counts the axis as a domain (image) axis.
    pub fn is_itk_domain(&self) -> bool {
        !matches!(self, Kind::Range(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Center {
    Unknown,
    Cell,
    Node,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataFile {
    Single(String),
    /// `LIST [subdim]`: the file names follow in the header.
    List {
        subdim: Option<usize>,
        names: Vec<String>,
    },
    /// `name%03d.raw <min> <max> <step> [subdim]`.
    Pattern {
        format: String,
        min: i64,
        max: i64,
        step: i64,
        subdim: Option<usize>,
    },
}

/// Where the data starts after `line skip` lines: `byte skip`, or -1 for
/// "the last bytes of the file".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteSkip {
    Bytes(u64),
    FromEnd,
}

#[derive(Clone, Debug)]
pub struct Header {
    pub scalar: ScalarType,
    pub sizes: Vec<u64>,
    pub encoding: Encoding,
    pub endian: Option<ByteOrder>,
    pub line_skip: u64,
    pub byte_skip: ByteSkip,
    pub space: Option<Space>,
    pub space_dimension: Option<usize>,
    /// One entry per axis; `None` where the header says `none`.
    pub space_directions: Option<Vec<Option<Vec<f64>>>>,
    pub space_origin: Option<Vec<f64>>,
    pub spacings: Option<Vec<f64>>,
    pub axis_mins: Option<Vec<f64>>,
    pub axis_maxs: Option<Vec<f64>>,
    pub centers: Option<Vec<Center>>,
    pub kinds: Option<Vec<Kind>>,
    pub data_file: Option<DataFile>,
    /// Bytes of header text including the blank line (where attached data starts).
    pub data_offset: usize,
}

pub(super) fn bad(message: impl Into<String>) -> LoadErrorKind {
    LoadErrorKind::BadHeader(message.into())
}

/// Finds the end of the header in `bytes`: the offset just past the first
/// empty line, or `None` if there is none yet.
pub fn header_end(bytes: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(n) = bytes[start..].iter().position(|&b| b == b'\n') {
        let line = &bytes[start..start + n];
        if line.is_empty() || line == b"\r" {
            return Some(start + n + 1);
        }
        start += n + 1;
    }
    None
}

/// Parses the header at the start of `bytes`. `complete` says `bytes` holds
/// the whole file, so a header running to its end (a detached `.nhdr`
/// without the final blank line) is accepted.
pub fn parse(bytes: &[u8], complete: bool) -> Result<Header, LoadErrorKind> {
    if !super::looks_like_nrrd(bytes) {
        return Err(LoadErrorKind::NotRecognised(
            "no NRRD magic (`NRRD000N`) at the start".into(),
        ));
    }
    let data_offset = match header_end(bytes) {
        Some(end) => end,
        None if complete => bytes.len(),
        None => {
            return Err(bad(format!(
                "no blank line ends the header within its first {} bytes",
                bytes.len()
            )));
        }
    };
    if data_offset > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "the header is {data_offset} bytes, more than the {MAX_HEADER_BYTES} accepted"
        )));
    }
    let text = String::from_utf8_lossy(&bytes[..data_offset]);
    let mut fields = Fields::default();
    let mut lines = text.lines().skip(1); // the magic
    while let Some(line) = lines.next() {
        let line = line.trim();
        if line.is_empty() {
            break;
        }
        if line.starts_with('#') {
            continue;
        }
        let kv = line.find(":=");
        let colon = line.find(':');
        let Some(colon) = colon.filter(|&c| kv != Some(c)) else {
            continue; // key/value pair (or a line with no field): not geometry
        };
        let name: String = line[..colon]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let value = line[colon + 1..].trim();
        if name == "datafile" {
            fields.data_file = Some(parse_data_file(value, &mut lines)?);
        } else {
            fields.set(name, value.to_string());
        }
    }
    fields.finish(data_offset)
}

/// The `key:=value` pairs of the header at the start of `bytes` (up to the
/// blank line), in order, unescaped as teem reads them (`\n` a newline,
/// `\\` a backslash).
pub fn key_values(bytes: &[u8]) -> Vec<(String, String)> {
    let end = header_end(bytes).unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(&bytes[..end]);
    text.lines()
        .skip(1)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let kv = l.find(":=")?;
            // A field line (`name: value`) whose value holds `:=` is not a pair.
            if l.find(':') != Some(kv) {
                return None;
            }
            Some((unescape(&l[..kv]), unescape(&l[kv + 2..])))
        })
        .collect()
}

/// teem's `airUnescape`: `\n` is a newline, `\\` a backslash, any other
/// backslash stays.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('n')) => {
                chars.next();
                out.push('\n');
            }
            ('\\', Some('\\')) => {
                chars.next();
                out.push('\\');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The raw text of each field, last one winning.
#[derive(Default)]
struct Fields {
    values: Vec<(String, String)>,
    data_file: Option<DataFile>,
}

impl Fields {
    fn set(&mut self, name: String, value: String) {
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, value));
    }

    /// The value of the first of `names` present (fields with aliases).
    fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|want| {
            self.values
                .iter()
                .find(|(n, _)| n == want)
                .map(|(_, v)| v.as_str())
        })
    }

    fn finish(self, data_offset: usize) -> Result<Header, LoadErrorKind> {
        let required = |name: &str| {
            self.get(&[name])
                .ok_or_else(|| bad(format!("the required field `{name}` is missing")))
        };
        let scalar = parse_type(required("type")?)?;
        let dim_text = required("dimension")?;
        let dimension: usize = dim_text
            .parse()
            .map_err(|_| bad(format!("dimension `{dim_text}` is not a whole number")))?;
        if !(1..=MAX_DIMENSION).contains(&dimension) {
            return Err(bad(format!(
                "dimension {dimension} is outside 1..={MAX_DIMENSION}"
            )));
        }
        let sizes = words(required("sizes")?, "sizes", dimension)?
            .iter()
            .map(|w| match w.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(bad(format!("size `{w}` is not a positive whole number"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let encoding = parse_encoding(required("encoding")?)?;
        let endian = match self.get(&["endian"]) {
            None => None,
            Some(v) => Some(match v.to_ascii_lowercase().as_str() {
                "little" => ByteOrder::Little,
                "big" => ByteOrder::Big,
                _ => return Err(bad(format!("endian `{v}` is neither little nor big"))),
            }),
        };
        let line_skip = match self.get(&["lineskip"]) {
            None => 0,
            Some(v) => v
                .parse()
                .map_err(|_| bad(format!("line skip `{v}` is not a whole number")))?,
        };
        let byte_skip = match self.get(&["byteskip"]) {
            None => ByteSkip::Bytes(0),
            Some("-1") => ByteSkip::FromEnd,
            Some(v) => ByteSkip::Bytes(
                v.parse()
                    .map_err(|_| bad(format!("byte skip `{v}` is not -1 or a whole number")))?,
            ),
        };
        let space = self.get(&["space"]).map(parse_space).transpose()?;
        let space_dimension = match self.get(&["spacedimension"]) {
            None => None,
            Some(v) => Some(match v.parse::<usize>() {
                Ok(n) if (1..=MAX_DIMENSION).contains(&n) => n,
                _ => return Err(bad(format!("space dimension `{v}` is not in 1..=16"))),
            }),
        };
        let per_axis_numbers = |names: &[&str], what: &str| {
            self.get(names)
                .map(|v| {
                    words(v, what, dimension)?
                        .iter()
                        .map(|w| parse_number(w, what))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
        };
        let spacings = per_axis_numbers(&["spacings"], "spacings")?;
        let axis_mins = per_axis_numbers(&["axismins"], "axis mins")?;
        let axis_maxs = per_axis_numbers(&["axismaxs"], "axis maxs")?;
        let centers = self
            .get(&["centers", "centerings"])
            .map(|v| {
                words(v, "centers", dimension)?
                    .iter()
                    .map(|w| parse_center(w))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let kinds = self
            .get(&["kinds"])
            .map(|v| {
                words(v, "kinds", dimension)?
                    .iter()
                    .map(|w| parse_kind(w))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let space_directions = self
            .get(&["spacedirections"])
            .map(|v| parse_directions(v, dimension))
            .transpose()?;
        let space_origin = self
            .get(&["spaceorigin"])
            .map(|v| parse_vector(v.trim(), "space origin"))
            .transpose()?;
        Ok(Header {
            scalar,
            sizes,
            encoding,
            endian,
            line_skip,
            byte_skip,
            space,
            space_dimension,
            space_directions,
            space_origin,
            spacings,
            axis_mins,
            axis_maxs,
            centers,
            kinds,
            data_file: self.data_file,
            data_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Header, LoadErrorKind> {
        parse(text.as_bytes(), true)
    }

    const BASIC: &str = "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 5 6\nencoding: raw\n";

    #[test]
    fn minimal_header_and_data_offset() {
        let text = format!("{BASIC}endian: big\n\nDATA");
        let h = parse(text.as_bytes(), false).unwrap();
        assert_eq!(h.scalar, ScalarType::I16);
        assert_eq!(h.sizes, vec![4, 5, 6]);
        assert_eq!(h.endian, Some(ByteOrder::Big));
        assert_eq!(&text.as_bytes()[h.data_offset..], b"DATA");
    }

    #[test]
    fn crlf_case_comments_and_unknown_fields() {
        let text = "NRRD0005  \r\n# a comment\r\nTYPE: Unsigned Short \r\nDimension:3\r\n\
                    sizes:  2 3   4 \r\nEncoding: GZ\r\nfoo bar: 7\r\nSegment0_Name:=a: b\r\n\
                    line skip: 2\r\nbyteskip: -1\r\n\r\nxx";
        let h = parse(text.as_bytes(), false).unwrap();
        assert_eq!(h.scalar, ScalarType::U16);
        assert_eq!(h.sizes, vec![2, 3, 4]);
        assert_eq!(h.encoding, Encoding::Gzip);
        assert_eq!(h.line_skip, 2);
        assert_eq!(h.byte_skip, ByteSkip::FromEnd);
        assert_eq!(&text.as_bytes()[h.data_offset..], b"xx");
    }

    #[test]
    fn every_type_spelling() {
        for (names, want) in [
            ("signed char|int8|int8_t", ScalarType::I8),
            ("uchar|unsigned char|uint8|uint8_t", ScalarType::U8),
            (
                "short|short int|signed short|signed short int|int16|int16_t",
                ScalarType::I16,
            ),
            (
                "ushort|unsigned short|unsigned short int|uint16|uint16_t",
                ScalarType::U16,
            ),
            ("int|signed int|int32|int32_t", ScalarType::I32),
            ("uint|unsigned int|uint32|uint32_t", ScalarType::U32),
            (
                "longlong|long long|long long int|signed long long|signed long long int|int64|int64_t",
                ScalarType::I64,
            ),
            (
                "ulonglong|unsigned long long|unsigned long long int|uint64|uint64_t",
                ScalarType::U64,
            ),
            ("float", ScalarType::F32),
            ("double", ScalarType::F64),
        ] {
            for name in names.split('|') {
                assert_eq!(parse_type(name).unwrap(), want, "{name}");
            }
        }
        assert!(matches!(
            parse_type("char"),
            Err(LoadErrorKind::BadHeader(_))
        ));
        assert!(matches!(
            parse_type("block"),
            Err(LoadErrorKind::Unsupported(_))
        ));
    }

    #[test]
    fn spaces_long_and_short() {
        for (name, want) in [
            ("left-posterior-superior", Space::Lps),
            ("LPS", Space::Lps),
            ("right anterior superior", Space::Ras),
            ("RAS", Space::Ras),
            ("LAS", Space::Las),
            ("scanner-xyz", Space::Other),
            ("3D-left-handed", Space::Other),
            ("RAST", Space::WithTime),
            ("scanner-xyz-time", Space::WithTime),
        ] {
            assert_eq!(parse_space(name).unwrap(), want, "{name}");
        }
        assert!(parse_space("up-down").is_err());
    }

    #[test]
    fn directions_with_none_and_inner_spaces() {
        let d = parse_directions("none ( 1, 0 ,0) (0,2,0)(0,0,3)", 4).unwrap();
        assert_eq!(d[0], None);
        assert_eq!(d[1], Some(vec![1.0, 0.0, 0.0]));
        assert_eq!(d[3], Some(vec![0.0, 0.0, 3.0]));
        assert!(parse_directions("(1,0,0) (0,1,0)", 3).is_err());
        assert!(parse_directions("(1,0,0) (0,1,0) (0,0,1) (1,1,1)", 3).is_err());
        assert!(parse_directions("(1,nan,0) (0,1,0) (0,0,1)", 3).is_err());
        assert!(parse_directions("(1,x,0) (0,1,0) (0,0,1)", 3).is_err());
        // Found by mutation: a multi-byte character where `none` may start.
        assert!(parse_directions("(1,0,0) ab\u{20ac} (0,0,1)", 3).is_err());
    }

    #[test]
    fn data_file_forms() {
        let h = parse_str(&format!("{BASIC}data file: LIST 2\na.raw\n b.raw \n")).unwrap();
        assert_eq!(
            h.data_file,
            Some(DataFile::List {
                subdim: Some(2),
                names: vec!["a.raw".into(), "b.raw".into()]
            })
        );
        let h = parse_str(&format!("{BASIC}datafile: s%03d.raw 1 11 2\n")).unwrap();
        assert!(matches!(
            h.data_file,
            Some(DataFile::Pattern {
                min: 1,
                max: 11,
                step: 2,
                subdim: None,
                ..
            })
        ));
        let h = parse_str(&format!("{BASIC}data file: my data.raw\n")).unwrap();
        assert_eq!(h.data_file, Some(DataFile::Single("my data.raw".into())));
    }

    #[test]
    fn refusals_name_the_problem() {
        let cases = [
            (
                "NRRD0004\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n",
                "type",
            ),
            (&BASIC.replace("sizes: 4 5 6", "sizes: 4 5"), "sizes"),
            (&BASIC.replace("sizes: 4 5 6", "sizes: 4 0 6"), "size `0`"),
            (&BASIC.replace("sizes: 4 5 6", "sizes: 4 -5 6"), "size `-5`"),
            (
                &BASIC.replace("dimension: 3", "dimension: 17"),
                "dimension 17",
            ),
            (&BASIC.replace("encoding: raw", "encoding: lzma"), "lzma"),
            (&format!("{BASIC}endian: middle\n"), "middle"),
            (&format!("{BASIC}kinds: domain domain wobbly\n"), "wobbly"),
            (&format!("{BASIC}space: up\n"), "space `up`"),
            (&format!("{BASIC}byte skip: -2\n"), "byte skip"),
        ];
        for (text, needle) in cases {
            let err = parse_str(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
        let err = parse(b"NRRD0004\ntype: short\n", false).unwrap_err();
        assert!(err.to_string().contains("blank line"), "{err}");
        assert!(matches!(
            parse(b"P5 2 2 255\n", true),
            Err(LoadErrorKind::NotRecognised(_))
        ));
    }
}
