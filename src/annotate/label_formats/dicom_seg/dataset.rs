//! Small helpers for building and reading DICOM data sets with dicom-object:
//! typed elements, sequences, coded entries, and DS/LO/SH text within the
//! limits of their value representations (PS3.5 6.2).

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

use crate::annotate::terminology::Code;

pub type Object = InMemDicomObject;
pub type Element = InMemElement;

/// Longest value of an SH (characters).
pub const SH_MAX: usize = 16;
/// Longest value of an LO or a PN component group (characters).
pub const LO_MAX: usize = 64;

pub fn text(tag: Tag, vr: VR, value: &str) -> Element {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

pub fn texts(tag: Tag, vr: VR, values: &[String]) -> Element {
    DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.iter().cloned().collect()),
    )
}

pub fn empty(tag: Tag, vr: VR) -> Element {
    DataElement::new(tag, vr, PrimitiveValue::Empty)
}

pub fn us(tag: Tag, values: &[u16]) -> Element {
    DataElement::new(
        tag,
        VR::US,
        PrimitiveValue::U16(values.iter().copied().collect()),
    )
}

pub fn ul(tag: Tag, values: &[u32]) -> Element {
    DataElement::new(
        tag,
        VR::UL,
        PrimitiveValue::U32(values.iter().copied().collect()),
    )
}

pub fn at(tag: Tag, value: Tag) -> Element {
    DataElement::new(tag, VR::AT, PrimitiveValue::from(value))
}

/// An integer string (IS).
pub fn is(tag: Tag, value: i64) -> Element {
    text(tag, VR::IS, &value.to_string())
}

/// A decimal string (DS) of one or more numbers.
pub fn ds(tag: Tag, values: &[f64]) -> Element {
    let values: Vec<String> = values.iter().map(|&x| ds_text(x)).collect();
    texts(tag, VR::DS, &values)
}

pub fn seq(tag: Tag, items: Vec<Object>) -> Element {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

pub fn item(elements: impl IntoIterator<Item = Element>) -> Object {
    InMemDicomObject::from_element_iter(elements)
}

/// `x` as a DS value: at most 16 characters, as many significant digits as
/// fit (the shortest exact form when it fits), never `-0`.
pub fn ds_text(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let x = if x == 0.0 { 0.0 } else { x };
    let shortest = format!("{x}");
    if shortest.len() <= 16 {
        return shortest;
    }
    // Otherwise the closest of the fixed and exponent forms that fit.
    let fixed = (0..16).map(|d| trim_fraction(format!("{x:.d$}")));
    let exponent = (0..12).map(|d| format!("{x:.d$e}"));
    fixed
        .chain(exponent)
        .filter(|s| s.len() <= 16)
        .filter_map(|s| Some(((s.parse::<f64>().ok()? - x).abs(), s)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(
            || "0".into(),
            |(_, s)| if s == "-0" { "0".into() } else { s },
        )
}

fn trim_fraction(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// `s` as a value of a text VR: no backslash (the value separator) or
/// control characters, at most `max` characters.
pub fn clean_text(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| match c {
            '\\' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A coded entry (Code Sequence Macro, PS3.3 Table 8.8-1): CodeValue when it
/// fits an SH, else LongCodeValue, or URNCodeValue for a URN or URL.
pub fn code_item(code: &Code) -> Object {
    let value = code.value.trim();
    let value_element = if value.starts_with("urn:") || value.contains("://") {
        text(tags::URN_CODE_VALUE, VR::UR, value)
    } else if value.chars().count() > SH_MAX {
        text(tags::LONG_CODE_VALUE, VR::UC, &clean_text(value, 1024))
    } else {
        text(tags::CODE_VALUE, VR::SH, &clean_text(value, SH_MAX))
    };
    item([
        value_element,
        text(
            tags::CODING_SCHEME_DESIGNATOR,
            VR::SH,
            &clean_text(&code.scheme, SH_MAX),
        ),
        text(
            tags::CODE_MEANING,
            VR::LO,
            &clean_text(&code.meaning, LO_MAX),
        ),
    ])
}

/// `code_item` wrapped in a one-item sequence.
pub fn code_seq(tag: Tag, code: &Code) -> Element {
    seq(tag, vec![code_item(code)])
}

/// A coded entry read back (any of the three value attributes).
pub fn read_code(item: &Object) -> Option<Code> {
    let value = [
        tags::CODE_VALUE,
        tags::LONG_CODE_VALUE,
        tags::URN_CODE_VALUE,
    ]
    .into_iter()
    .find_map(|t| get_str(item, t))?;
    Some(Code {
        scheme: get_str(item, tags::CODING_SCHEME_DESIGNATOR).unwrap_or_default(),
        value,
        meaning: get_str(item, tags::CODE_MEANING).unwrap_or_default(),
    })
}

/// The first item's code of a code sequence.
pub fn read_code_seq(obj: &Object, tag: Tag) -> Option<Code> {
    read_code(first_item(obj, tag)?)
}

/// A text value, trimmed of DICOM padding; `None` when absent or empty.
pub fn get_str(obj: &Object, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.value().to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_owned())
}

/// Every number of a numeric or numeric-string value.
pub fn get_f64s(obj: &Object, tag: Tag) -> Option<Vec<f64>> {
    let v = obj.get(tag)?.value().to_multi_float64().ok()?;
    v.iter().all(|x| x.is_finite()).then_some(v)
}

pub fn get_f64(obj: &Object, tag: Tag) -> Option<f64> {
    get_f64s(obj, tag)?.first().copied()
}

pub fn get_ints(obj: &Object, tag: Tag) -> Option<Vec<i64>> {
    obj.get(tag)?.value().to_multi_int::<i64>().ok()
}

pub fn get_int(obj: &Object, tag: Tag) -> Option<i64> {
    get_ints(obj, tag)?.first().copied()
}

pub fn items(obj: &Object, tag: Tag) -> &[Object] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

pub fn first_item(obj: &Object, tag: Tag) -> Option<&Object> {
    items(obj, tag).first()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_values_fit_sixteen_characters() {
        for (x, want) in [
            (0.0, "0"),
            (-0.0, "0"),
            (2.5, "2.5"),
            (-128.69, "-128.69"),
            (0.810547, "0.810547"),
            (-3.0468759536743195, "-3.0468759536743"),
            (1.0 / 3.0, "0.33333333333333"),
            (123456789.12345679, "123456789.123457"),
            (1e-20, "1e-20"),
            (-1.2345678901234567e25, "-1.2345678901e25"),
        ] {
            let s = ds_text(x);
            assert_eq!(s, want, "{x}");
            assert!(s.len() <= 16);
            let back: f64 = s.parse().unwrap();
            assert!((back - x).abs() <= 1e-9 * x.abs(), "{x} {s}");
        }
    }

    #[test]
    fn codes_pick_the_value_attribute_that_fits() {
        let short = Code::new("SCT", "85756007", "Tissue");
        assert_eq!(read_code(&code_item(&short)), Some(short.clone()));
        assert!(code_item(&short).get(tags::CODE_VALUE).is_some());
        let long = Code::new("SCT", "1234567890123456789", "Long");
        let item = code_item(&long);
        assert!(item.get(tags::LONG_CODE_VALUE).is_some());
        assert_eq!(read_code(&item), Some(long));
        let urn = Code::new("X", "urn:oid:1.2.3", "U");
        assert!(code_item(&urn).get(tags::URN_CODE_VALUE).is_some());
    }

    #[test]
    fn text_is_cleaned_and_cut() {
        assert_eq!(clean_text(" a\\b\nc ", 64), "a/b c");
        assert_eq!(clean_text("ééééé", 3), "ééé");
    }
}
