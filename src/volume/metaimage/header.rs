//! MetaImage header text: `Key = Value` lines up to `ElementDataFile`, read
//! the way ITK's MetaIO reads them (checked against SimpleITK 2.5.7):
//!
//! * keys are case-sensitive and end at the first `=` or `:`; unknown keys
//!   are skipped; a key given twice keeps its last value;
//! * booleans are true when the value starts with `T`, `t` or `1`;
//! * arrays take their first NDims values (NDims² for matrices), extra
//!   values are ignored;
//! * the origin is `ImagePosition`, else `Origin`, else `Offset`, else
//!   `Position`, and the matrix `TransformMatrix`, else `Rotation`, else
//!   `Orientation`, whatever order the lines come in (MetaIO reads them in
//!   that order, each overwriting the one before);
//! * `ElementSize` is the spacing only where `ElementSpacing` is absent;
//! * `MET_LONG`/`MET_ULONG` are 4 bytes (MetaIO's `MET_ValueTypeSize`),
//!   whatever `long` is on the writing machine.
//!
//! Deliberately stricter than MetaIO: non-integer sizes, too few array
//! values and zero spacing are errors here (MetaIO truncates, reads on into
//! the next line, or fails later with a less useful message).

use crate::volume::raw::{ByteOrder, ScalarType};
use crate::volume::{LoadErrorKind, Modality};

/// A header that has not named its data file by this many bytes is refused.
pub const MAX_HEADER_BYTES: usize = 4 << 20;

/// Keys this reader knows, spelled as MetaIO spells them.
const KNOWN_KEYS: &[&str] = &[
    "ObjectType",
    "ObjectSubType",
    "NDims",
    "DimSize",
    "ElementSpacing",
    "ElementSize",
    "Offset",
    "Position",
    "Origin",
    "ImagePosition",
    "TransformMatrix",
    "Rotation",
    "Orientation",
    "CenterOfRotation",
    "AnatomicalOrientation",
    "ElementType",
    "ElementNumberOfChannels",
    "ElementByteOrderMSB",
    "BinaryDataByteOrderMSB",
    "BinaryData",
    "CompressedData",
    "CompressedDataSize",
    "HeaderSize",
    "Modality",
    "ElementDataFile",
];

/// Where the voxel bytes are.
#[derive(Clone, Debug, PartialEq)]
pub enum DataFile {
    /// In the header's own file, after the `ElementDataFile` line.
    Local,
    /// One detached file, relative to the header's folder unless absolute.
    File(String),
    /// File names on the lines after the header, each file holding the first
    /// `file_dims` axes (`LIST 2D`: one slice per file; default NDims − 1).
    List { file_dims: usize },
    /// `name%03d.raw [first [last [step]]]`: one file per index of the
    /// slowest axis, numbered `first, first + step, ...` (MetaIO's defaults:
    /// first 1, step 1).
    Pattern {
        format: String,
        first: i64,
        step: i64,
    },
}

/// `HeaderSize`: where the data starts in its file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HeaderSize {
    /// Right after the header (LOCAL) or at the start of a data file.
    Auto,
    /// `-1`: the data are the last bytes of the file.
    AtEnd,
    /// From this byte of the file (for LOCAL too: counted from the file's start).
    Bytes(u64),
}

/// A parsed header; every number checked but not yet multiplied out.
#[derive(Clone, Debug)]
pub struct Header {
    pub ndims: usize,
    pub dims: Vec<u64>,
    /// May be negative (ITK flips the direction instead; the affine is the same).
    pub spacing: Vec<f64>,
    pub origin: Vec<f64>,
    /// NDims² values as written: run `c` (values `c·n .. c·n + n`) is the LPS
    /// direction of axis `c`, i.e. ITK's direction column `c`.
    pub transform: Vec<f64>,
    pub scalar: ScalarType,
    pub channels: u64,
    pub order: ByteOrder,
    pub binary: bool,
    pub compressed: bool,
    /// `CompressedDataSize`; 0 means unknown, as in MetaIO.
    pub compressed_size: Option<u64>,
    pub header_size: HeaderSize,
    pub modality: Modality,
    pub anatomical_orientation: Option<String>,
    pub data_file: DataFile,
    /// Offset just past the `ElementDataFile` line.
    pub data_start: usize,
    pub warnings: Vec<String>,
}

/// Offset just past the `ElementDataFile` line, if `bytes` hold it.
pub fn header_end(bytes: &[u8]) -> Option<usize> {
    lines(bytes).find_map(|(key, _, end)| (key == "ElementDataFile").then_some(end))
}

/// `Key = Value` lines with the offset just past each; lines without a
/// separator (comments, blank lines) are skipped, as MetaIO skips them.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (String, String, usize)> + '_ {
    let bytes = &bytes[..bytes.len().min(MAX_HEADER_BYTES)];
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            let len = rest.iter().position(|&b| b == b'\n');
            let line = &rest[..len.unwrap_or(rest.len())];
            pos += len.map_or(rest.len(), |n| n + 1);
            let Some(sep) = line.iter().position(|&b| b == b'=' || b == b':') else {
                continue;
            };
            let text = |b: &[u8]| String::from_utf8_lossy(b.trim_ascii()).into_owned();
            return Some((text(&line[..sep]), text(&line[sep + 1..]), pos));
        }
        None
    })
}

/// Parses the header at the start of `bytes` (which may run on into data).
pub fn parse(bytes: &[u8]) -> Result<Header, LoadErrorKind> {
    let mut fields: Vec<(&'static str, String)> = Vec::new();
    let mut warnings = Vec::new();
    let mut data_start = None;
    for (key, value, end) in lines(bytes) {
        if let Some(&known) = KNOWN_KEYS.iter().find(|k| **k == key) {
            fields.push((known, value));
            if known == "ElementDataFile" {
                data_start = Some(end);
                break;
            }
        } else if let Some(known) = KNOWN_KEYS.iter().find(|k| k.eq_ignore_ascii_case(&key)) {
            warnings.push(format!(
                "header key '{key}' ignored: MetaImage keys are case-sensitive \
                 (ITK ignores it too; it means {known})"
            ));
        }
    }
    let Some(data_start) = data_start else {
        let why = if bytes.len() >= MAX_HEADER_BYTES {
            format!("no ElementDataFile line in the first {MAX_HEADER_BYTES} bytes")
        } else {
            "no ElementDataFile line: the header never says where the voxel data is".into()
        };
        return Err(LoadErrorKind::BadHeader(why));
    };
    let f = Fields(fields);
    Header::interpret(&f, data_start, warnings)
}

/// Known fields in file order; the last of a key wins.
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first of `keys` present (the one MetaIO lets win).
    fn first_of(&self, keys: &[&'static str]) -> Option<(&'static str, &str)> {
        keys.iter().find_map(|&k| self.get(k).map(|v| (k, v)))
    }
}

fn bad(message: String) -> LoadErrorKind {
    LoadErrorKind::BadHeader(message)
}

/// First `n` numbers of an array field.
fn numbers(key: &str, value: &str, n: usize, ndims: usize) -> Result<Vec<f64>, LoadErrorKind> {
    let values: Vec<f64> = value
        .split_ascii_whitespace()
        .take(n)
        .map(|t| number(key, t))
        .collect::<Result<_, _>>()?;
    if values.len() < n {
        return Err(bad(format!(
            "{key} has {} value(s) but NDims = {ndims} needs {n}",
            values.len()
        )));
    }
    Ok(values)
}

fn number(key: &str, token: &str) -> Result<f64, LoadErrorKind> {
    match token.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(bad(format!("{key} value '{token}' is not a finite number"))),
    }
}

/// A whole number (MetaIO writes integers plainly; `5.0` is accepted too).
fn whole(key: &str, token: &str) -> Result<i64, LoadErrorKind> {
    let x = number(key, token)?;
    if x.fract() != 0.0 || x.abs() > 9_007_199_254_740_992.0 {
        return Err(bad(format!("{key} value '{token}' is not a whole number")));
    }
    Ok(x as i64)
}

fn single_whole(f: &Fields, key: &str) -> Result<Option<i64>, LoadErrorKind> {
    let Some(value) = f.get(key) else {
        return Ok(None);
    };
    let token = value
        .split_ascii_whitespace()
        .next()
        .ok_or_else(|| bad(format!("{key} has no value")))?;
    whole(key, token).map(Some)
}

/// MetaIO's truth test: the value starts with `T`, `t` or `1`.
fn truth(value: &str) -> bool {
    matches!(value.bytes().next(), Some(b'T' | b't' | b'1'))
}

fn element_type(name: &str) -> Result<ScalarType, LoadErrorKind> {
    Ok(match name {
        "MET_CHAR" => ScalarType::I8,
        "MET_UCHAR" => ScalarType::U8,
        "MET_SHORT" => ScalarType::I16,
        "MET_USHORT" => ScalarType::U16,
        "MET_INT" | "MET_LONG" => ScalarType::I32,
        "MET_UINT" | "MET_ULONG" => ScalarType::U32,
        "MET_LONG_LONG" => ScalarType::I64,
        "MET_ULONG_LONG" => ScalarType::U64,
        "MET_FLOAT" => ScalarType::F32,
        "MET_DOUBLE" => ScalarType::F64,
        other
            if other.starts_with("MET_") && other.ends_with("_ARRAY")
                || [
                    "MET_STRING",
                    "MET_ASCII_CHAR",
                    "MET_FLOAT_MATRIX",
                    "MET_OTHER",
                    "MET_NONE",
                ]
                .contains(&other) =>
        {
            return Err(LoadErrorKind::Unsupported(format!(
                "ElementType {other}: only scalar element types are read"
            )));
        }
        other => {
            return Err(LoadErrorKind::Unsupported(format!(
                "unknown ElementType '{other}'"
            )));
        }
    })
}

fn modality(value: Option<&str>) -> Modality {
    match value.map(|v| v.strip_prefix("MET_MOD_").unwrap_or(v)) {
        None | Some("UNKNOWN" | "") => Modality::Unknown,
        Some("CT") => Modality::Ct,
        Some("MR") => Modality::Mr,
        Some(other) => Modality::Other(other.to_string()),
    }
}

/// Leading digits of a word such as `2D` (MetaIO applies `atof`).
fn leading_int(word: &str) -> usize {
    let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

fn data_file(value: &str, ndims: usize, dims: &[u64]) -> Result<DataFile, LoadErrorKind> {
    let words: Vec<&str> = value.split_ascii_whitespace().collect();
    if words.is_empty() {
        return Err(bad("ElementDataFile is empty".into()));
    }
    if value.eq_ignore_ascii_case("LOCAL") {
        return Ok(DataFile::Local);
    }
    if words[0] == "LIST" {
        let asked = words.get(1).map_or(0, |w| leading_int(w));
        // MetaIO: 0 (absent) or more than NDims means NDims − 1.
        let file_dims = if asked == 0 || asked > ndims {
            ndims - 1
        } else {
            asked
        };
        return Ok(DataFile::List { file_dims });
    }
    if !value.contains('%') {
        return Ok(DataFile::File(value.to_string()));
    }
    // A name with spaces is followed by exactly three numbers (MetaIO).
    let (name, nums) = if words.len() >= 5 {
        (
            words[..words.len() - 3].join(" "),
            &words[words.len() - 3..],
        )
    } else {
        (words[0].to_string(), &words[1..])
    };
    let key = "ElementDataFile";
    let count = dims[ndims - 1] as i64;
    let first = nums.first().map_or(Ok(1), |t| whole(key, t))?;
    let mut step = 1;
    if let Some(t) = nums.get(1) {
        // MetaIO's integer division, kept so the same files are named.
        step = (whole(key, t)? - first) / count;
    }
    if let Some(t) = nums.get(2) {
        step = whole(key, t)?;
    }
    if step <= 0 {
        return Err(bad(format!(
            "ElementDataFile pattern '{value}' does not step forward through {count} files"
        )));
    }
    if let Some(t) = nums.get(1) {
        let last = whole(key, t)?;
        let files = (last - first) / step + 1;
        if files < count {
            return Err(bad(format!(
                "ElementDataFile pattern '{value}' names {files} file(s) but DimSize needs {count}"
            )));
        }
    }
    format_index(&name, first)?; // the pattern itself must be one we can fill
    Ok(DataFile::Pattern {
        format: name,
        first,
        step,
    })
}

/// Fills a printf pattern holding one `%d`, `%i`, `%5d` or `%03d`
/// (`%%` is a literal percent sign).
pub fn format_index(pattern: &str, index: i64) -> Result<String, LoadErrorKind> {
    crate::volume::raw::fill_pattern(pattern, index).ok_or_else(|| {
        LoadErrorKind::Unsupported(format!(
            "ElementDataFile pattern '{pattern}': only one %d-style number is filled in"
        ))
    })
}

impl Header {
    fn interpret(
        f: &Fields,
        data_start: usize,
        mut warnings: Vec<String>,
    ) -> Result<Header, LoadErrorKind> {
        let ndims = single_whole(f, "NDims")?.ok_or_else(|| bad("no NDims".into()))?;
        if ndims < 1 {
            return Err(bad(format!("NDims = {ndims} is not a dimension count")));
        }
        if !(2..=4).contains(&ndims) {
            return Err(LoadErrorKind::Unsupported(format!(
                "NDims = {ndims}: only 2-D, 3-D and 4-D images are read"
            )));
        }
        let n = ndims as usize;
        let dim_text = f.get("DimSize").ok_or_else(|| bad("no DimSize".into()))?;
        let mut dims = Vec::with_capacity(n);
        for x in numbers("DimSize", dim_text, n, n)? {
            if x < 1.0 || x.fract() != 0.0 || x > 9_007_199_254_740_992.0 {
                return Err(bad(format!(
                    "DimSize {dim_text} has a size {x} that is not a positive whole number"
                )));
            }
            dims.push(x as u64);
        }
        let spacing = match f.first_of(&["ElementSpacing", "ElementSize"]) {
            Some((key, value)) => numbers(key, value, n, n)?,
            None => vec![1.0; n],
        };
        if spacing.contains(&0.0) {
            return Err(bad(format!(
                "ElementSpacing {spacing:?} has a zero spacing"
            )));
        }
        let origin = match f.first_of(&["ImagePosition", "Origin", "Offset", "Position"]) {
            Some((key, value)) => numbers(key, value, n, n)?,
            None => vec![0.0; n],
        };
        let transform = match f.first_of(&["TransformMatrix", "Rotation", "Orientation"]) {
            Some((key, value)) => numbers(key, value, n * n, n)?,
            None => (0..n * n).map(|i| f64::from(i % (n + 1) == 0)).collect(),
        };
        let scalar = element_type(
            f.get("ElementType")
                .ok_or_else(|| bad("no ElementType".into()))?,
        )?;
        let channels = single_whole(f, "ElementNumberOfChannels")?.unwrap_or(1);
        if channels < 1 {
            return Err(bad(format!(
                "ElementNumberOfChannels = {channels} is not positive"
            )));
        }
        // MetaIO reads ElementByteOrderMSB, then BinaryDataByteOrderMSB over it.
        let msb = f
            .first_of(&["BinaryDataByteOrderMSB", "ElementByteOrderMSB"])
            .is_some_and(|(_, v)| truth(v));
        let compressed_size = match single_whole(f, "CompressedDataSize")? {
            None | Some(0) => None,
            Some(s) if s < 0 => {
                return Err(bad(format!("CompressedDataSize = {s} is negative")));
            }
            Some(s) => Some(s as u64),
        };
        let header_size = match single_whole(f, "HeaderSize")? {
            None | Some(0) => HeaderSize::Auto,
            Some(-1) => HeaderSize::AtEnd,
            Some(s) if s < 0 => {
                return Err(bad(format!(
                    "HeaderSize = {s} is neither -1 nor a byte count"
                )));
            }
            Some(s) => HeaderSize::Bytes(s as u64),
        };
        if let Some(kind) = f.get("ObjectType").filter(|t| *t != "Image") {
            warnings.push(format!(
                "ObjectType = {kind} read as an image (ITK does the same)"
            ));
        }
        let data_file = data_file(f.get("ElementDataFile").unwrap_or(""), n, &dims)?;
        Ok(Header {
            ndims: n,
            dims,
            spacing,
            origin,
            transform,
            scalar,
            channels: channels as u64,
            order: if msb {
                ByteOrder::Big
            } else {
                ByteOrder::Little
            },
            binary: f.get("BinaryData").is_none_or(truth),
            compressed: f.get("CompressedData").is_some_and(truth),
            compressed_size,
            header_size,
            modality: modality(f.get("Modality")),
            anatomical_orientation: f.get("AnatomicalOrientation").map(str::to_string),
            data_file,
            data_start,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Header, LoadErrorKind> {
        parse(text.as_bytes())
    }

    const MIN: &str = "NDims = 3\nDimSize = 7 6 5\nElementType = MET_SHORT\n";

    #[test]
    fn tolerant_syntax() {
        let text = "ObjectType: Image\r\n  NDims =3 \r\n# a comment\r\nDimSize= 7  6 5 9\r\n\
                    ElementType =MET_USHORT\r\nElementByteOrderMSB = true\r\nFoo = bar\r\n\
                    ElementDataFile = local\r\n\x01\x02";
        let h = parse_text(text).unwrap();
        assert_eq!(h.dims, vec![7, 6, 5]);
        assert_eq!(h.scalar, ScalarType::U16);
        assert_eq!(h.order, ByteOrder::Big);
        assert_eq!(h.data_file, DataFile::Local);
        assert_eq!(&text.as_bytes()[h.data_start..], b"\x01\x02");
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    }

    #[test]
    fn precedence_follows_metaio_not_line_order() {
        let text = format!(
            "{MIN}Origin = 4 5 6\nOffset = 7 8 9\nPosition = 1 2 3\n\
             TransformMatrix = 1 0 0 0 1 0 0 0 1\nRotation = 0 1 0 1 0 0 0 0 1\n\
             ElementSize = 2 3 4\nBinaryDataByteOrderMSB = False\nElementByteOrderMSB = True\n\
             ElementDataFile = LOCAL\n"
        );
        let h = parse_text(&text).unwrap();
        assert_eq!(h.origin, vec![4.0, 5.0, 6.0]);
        assert_eq!(h.transform[0], 1.0);
        assert_eq!(h.spacing, vec![2.0, 3.0, 4.0]);
        assert_eq!(h.order, ByteOrder::Little);
    }

    #[test]
    fn wrong_case_key_is_ignored_with_a_warning() {
        let text = format!("{MIN}elementspacing = 2 2 2\nElementDataFile = LOCAL\n");
        let h = parse_text(&text).unwrap();
        assert_eq!(h.spacing, vec![1.0; 3]);
        assert!(h.warnings[0].contains("case-sensitive"), "{:?}", h.warnings);
    }

    #[test]
    fn long_is_four_bytes() {
        assert_eq!(element_type("MET_LONG").unwrap().bytes(), 4);
        assert_eq!(element_type("MET_ULONG").unwrap().bytes(), 4);
        assert_eq!(element_type("MET_ULONG_LONG").unwrap().bytes(), 8);
        assert!(matches!(
            element_type("MET_FOO"),
            Err(LoadErrorKind::Unsupported(_))
        ));
        assert!(matches!(
            element_type("MET_UCHAR_ARRAY"),
            Err(LoadErrorKind::Unsupported(_))
        ));
    }

    #[test]
    fn refusals() {
        let cases = [
            (
                "NDims = 3\nDimSize = 7 6\nElementType = MET_SHORT\nElementDataFile = LOCAL\n",
                "DimSize has 2",
            ),
            (
                "NDims = 3\nDimSize = 7 0 5\nElementType = MET_SHORT\nElementDataFile = LOCAL\n",
                "positive",
            ),
            (
                "NDims = 3\nDimSize = 7 6 5.5\nElementType = MET_SHORT\nElementDataFile = LOCAL\n",
                "whole",
            ),
            (
                &format!("{MIN}ElementSpacing = 1 0 1\nElementDataFile = LOCAL\n"),
                "zero",
            ),
            (
                &format!("{MIN}ElementSpacing = 1,2,3\nElementDataFile = LOCAL\n"),
                "not a finite",
            ),
            (
                &format!("{MIN}HeaderSize = -2\nElementDataFile = LOCAL\n"),
                "HeaderSize",
            ),
            (
                &format!("{MIN}ElementNumberOfChannels = 0\nElementDataFile = LOCAL\n"),
                "Channels",
            ),
            (MIN, "no ElementDataFile"),
        ];
        for (text, needle) in cases {
            let err = parse_text(text).unwrap_err();
            assert!(matches!(err, LoadErrorKind::BadHeader(_)), "{text}: {err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        let err = parse_text("NDims = 7\nElementDataFile = LOCAL\n").unwrap_err();
        assert!(matches!(err, LoadErrorKind::Unsupported(_)), "{err}");
    }

    #[test]
    fn detached_forms() {
        let df = |v: &str| data_file(v, 3, &[7, 6, 5]);
        assert_eq!(df("a b.raw").unwrap(), DataFile::File("a b.raw".into()));
        assert_eq!(df("LIST").unwrap(), DataFile::List { file_dims: 2 });
        assert_eq!(df("LIST 3D").unwrap(), DataFile::List { file_dims: 3 });
        assert_eq!(df("LIST 9D").unwrap(), DataFile::List { file_dims: 2 });
        let p = |format: &str, first, step| DataFile::Pattern {
            format: format.into(),
            first,
            step,
        };
        assert_eq!(df("s%03d.raw").unwrap(), p("s%03d.raw", 1, 1));
        assert_eq!(df("s%d.raw 2 10 2").unwrap(), p("s%d.raw", 2, 2));
        // MetaIO: step = (last − first) / count when no step is given.
        assert_eq!(df("s%d.raw 0 10").unwrap(), p("s%d.raw", 0, 2));
        assert_eq!(df("my s%d.raw 0 8 2").unwrap(), p("my s%d.raw", 0, 2));
        assert!(df("s%d.raw 1 3").is_err()); // step 0
        assert!(df("s%d.raw 1 4 1").is_err()); // 4 files for 5 slices
        assert!(matches!(df("s%s.raw"), Err(LoadErrorKind::Unsupported(_))));
        assert_eq!(format_index("x%04d_%%.raw", 7).unwrap(), "x0007_%.raw");
        assert_eq!(format_index("x%3i", 7).unwrap(), "x  7");
        assert!(format_index("x%d%d", 7).is_err());
    }

    #[test]
    fn modality_names() {
        assert_eq!(modality(Some("MET_MOD_CT")), Modality::Ct);
        assert_eq!(modality(Some("MET_MOD_MR")), Modality::Mr);
        assert_eq!(modality(Some("MET_MOD_US")), Modality::Other("US".into()));
        assert_eq!(modality(Some("MET_MOD_UNKNOWN")), Modality::Unknown);
        assert_eq!(modality(None), Modality::Unknown);
    }
}
