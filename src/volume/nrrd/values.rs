//! Values of NRRD header fields: type names, encodings, spaces, kinds,
//! centers, vectors, `space directions` and `data file`, each parsed on its
//! own so that one field's error names that field.

use super::header::{Center, DataFile, Encoding, Kind, MAX_DIMENSION, Space, bad};
use crate::volume::LoadErrorKind;
use crate::volume::raw::ScalarType;

/// Whitespace-separated words, exactly one per axis.
pub(super) fn words<'a>(
    value: &'a str,
    what: &str,
    dimension: usize,
) -> Result<Vec<&'a str>, LoadErrorKind> {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() != dimension {
        return Err(bad(format!(
            "`{what}` has {} entries for {dimension} axes",
            words.len()
        )));
    }
    Ok(words)
}

/// A number, where `nan` (any case) means "not given".
pub(super) fn parse_number(word: &str, what: &str) -> Result<f64, LoadErrorKind> {
    word.parse::<f64>()
        .map_err(|_| bad(format!("`{what}` entry `{word}` is not a number")))
}

/// NRRD type names (teem's list, any case, spaces collapsed).
pub fn parse_type(value: &str) -> Result<ScalarType, LoadErrorKind> {
    let name = value.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(match name.to_ascii_lowercase().as_str() {
        "signed char" | "int8" | "int8_t" => ScalarType::I8,
        "uchar" | "unsigned char" | "uint8" | "uint8_t" => ScalarType::U8,
        "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => {
            ScalarType::I16
        }
        "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => {
            ScalarType::U16
        }
        "int" | "signed int" | "int32" | "int32_t" => ScalarType::I32,
        "uint" | "unsigned int" | "uint32" | "uint32_t" => ScalarType::U32,
        "longlong"
        | "long long"
        | "long long int"
        | "signed long long"
        | "signed long long int"
        | "int64"
        | "int64_t" => ScalarType::I64,
        "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => {
            ScalarType::U64
        }
        "float" => ScalarType::F32,
        "double" => ScalarType::F64,
        "block" => {
            return Err(LoadErrorKind::Unsupported(
                "NRRD type `block` (opaque blocks of bytes, not numbers)".into(),
            ));
        }
        _ => return Err(bad(format!("unknown NRRD type `{value}`"))),
    })
}

pub(super) fn parse_encoding(value: &str) -> Result<Encoding, LoadErrorKind> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "raw" => Encoding::Raw,
        "gzip" | "gz" => Encoding::Gzip,
        "bzip2" | "bz2" => Encoding::Bzip2,
        "ascii" | "text" | "txt" => Encoding::Ascii,
        "hex" => Encoding::Hex,
        "zrl" => {
            return Err(LoadErrorKind::Unsupported(
                "NRRD encoding `zrl` (zero run-length)".into(),
            ));
        }
        _ => return Err(bad(format!("unknown NRRD encoding `{value}`"))),
    })
}

pub(super) fn parse_space(value: &str) -> Result<Space, LoadErrorKind> {
    let name: String = value
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .collect::<String>()
        .to_ascii_lowercase();
    Ok(match name.as_str() {
        "rightanteriorsuperior" | "ras" => Space::Ras,
        "leftanteriorsuperior" | "las" => Space::Las,
        "leftposteriorsuperior" | "lps" => Space::Lps,
        "scannerxyz" | "3drighthanded" | "3dlefthanded" => Space::Other,
        "rightanteriorsuperiortime"
        | "rast"
        | "leftanteriorsuperiortime"
        | "last"
        | "leftposteriorsuperiortime"
        | "lpst"
        | "scannerxyztime"
        | "scannerxyzt"
        | "3drighthandedtime"
        | "3dlefthandedtime" => Space::WithTime,
        _ => return Err(bad(format!("unknown NRRD space `{value}`"))),
    })
}

pub(super) fn parse_center(word: &str) -> Result<Center, LoadErrorKind> {
    Ok(match word.to_ascii_lowercase().as_str() {
        "cell" => Center::Cell,
        "node" => Center::Node,
        "???" | "none" => Center::Unknown,
        _ => return Err(bad(format!("unknown centering `{word}`"))),
    })
}

/// Kinds that make an axis non-spatial (teem's range kinds).
pub(super) const RANGE_KINDS: &[&str] = &[
    "stub",
    "scalar",
    "list",
    "point",
    "vector",
    "covariant-vector",
    "normal",
    "2-vector",
    "3-color",
    "rgb-color",
    "hsv-color",
    "xyz-color",
    "4-color",
    "rgba-color",
    "3-vector",
    "3-gradient",
    "3-normal",
    "4-vector",
    "quaternion",
    "2d-symmetric-matrix",
    "2d-masked-symmetric-matrix",
    "2d-matrix",
    "2d-masked-matrix",
    "3d-symmetric-matrix",
    "3d-masked-symmetric-matrix",
    "3d-matrix",
    "3d-masked-matrix",
    "complex",
];

pub(super) fn parse_kind(word: &str) -> Result<Kind, LoadErrorKind> {
    let lower = word.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "???" | "none" => Kind::Unknown,
        "domain" | "space" => Kind::Domain,
        "time" => Kind::Time,
        k if RANGE_KINDS.contains(&k) => Kind::Range(word.to_string()),
        _ => return Err(bad(format!("unknown axis kind `{word}`"))),
    })
}

/// `(x,y,z)` with optional spaces; all-`nan` is allowed (unknown), a mix is not.
pub(super) fn parse_vector(text: &str, what: &str) -> Result<Vec<f64>, LoadErrorKind> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| bad(format!("`{what}` vector `{text}` is not in parentheses")))?;
    let values = inner
        .split(',')
        .map(|w| parse_number(w.trim(), what))
        .collect::<Result<Vec<_>, _>>()?;
    if values.iter().any(|v| v.is_nan()) && !values.iter().all(|v| v.is_nan()) {
        return Err(bad(format!(
            "`{what}` vector `{text}` mixes numbers and nan"
        )));
    }
    if values.iter().any(|v| v.is_infinite()) {
        return Err(bad(format!("`{what}` vector `{text}` is infinite")));
    }
    Ok(values)
}

/// `space directions`: one vector or `none` per axis.
pub(super) fn parse_directions(
    value: &str,
    dimension: usize,
) -> Result<Vec<Option<Vec<f64>>>, LoadErrorKind> {
    // Vectors may hold spaces, so split on the closing parenthesis, not on spaces.
    let mut out = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        if out.len() == dimension {
            return Err(bad(format!(
                "`space directions` has more than {dimension} entries"
            )));
        }
        if rest
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("none"))
        {
            out.push(None);
            rest = rest[4..].trim_start();
        } else {
            let end = rest.find(')').map_or(rest.len(), |i| i + 1);
            out.push(Some(parse_vector(rest[..end].trim(), "space directions")?));
            rest = rest[end..].trim_start();
        }
    }
    if out.len() != dimension {
        return Err(bad(format!(
            "`space directions` has {} entries for {dimension} axes",
            out.len()
        )));
    }
    Ok(out)
}

/// `data file:` value; for `LIST`, the remaining header lines are the names.
pub(super) fn parse_data_file<'a>(
    value: &str,
    lines: &mut impl Iterator<Item = &'a str>,
) -> Result<DataFile, LoadErrorKind> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let subdim = |w: Option<&&str>| {
        w.map(|w| {
            w.parse::<usize>()
                .ok()
                .filter(|&n| (1..=MAX_DIMENSION).contains(&n))
                .ok_or_else(|| bad(format!("data file sub-dimension `{w}` is not in 1..=16")))
        })
        .transpose()
    };
    match words.as_slice() {
        [] => Err(bad("`data file` names no file")),
        ["LIST", rest @ ..] if rest.len() <= 1 => {
            let names = lines
                .map(str::trim)
                .take_while(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            Ok(DataFile::List {
                subdim: subdim(rest.first())?,
                names,
            })
        }
        [format, min, max, step, rest @ ..] if rest.len() <= 1 && format.contains('%') => {
            let int = |w: &str| {
                w.parse::<i64>()
                    .map_err(|_| bad(format!("data file pattern number `{w}` is not an integer")))
            };
            Ok(DataFile::Pattern {
                format: format.to_string(),
                min: int(min)?,
                max: int(max)?,
                step: int(step)?,
                subdim: subdim(rest.first())?,
            })
        }
        // A single name, which may contain spaces.
        _ => Ok(DataFile::Single(value.to_string())),
    }
}
