//! One item of the SegmentSequence (PS3.3 C.8.20.2, Segment Description
//! Macro) written from a rayseg label and read back into one.
//!
//! Written: SegmentNumber (1..n in label order: DICOM numbers segments
//! consecutively from 1), SegmentLabel (the label's name), SegmentDescription
//! `rayseg label <value>` (so rayseg reads the label value back), the
//! algorithm type and name, RecommendedDisplayCIELabValue (the label's
//! colour), and the codes of the label's terminology: category, type (with
//! its modifier), anatomic region (with its modifier). A label without
//! terminology gets [`default_terminology`].

use dicom_core::VR;
use dicom_dictionary_std::tags;

use super::algorithm::{Algorithm, AlgorithmType};
use super::cielab::{dicom_lab_to_rgb, rgb_to_dicom_lab};
use super::dataset::{
    LO_MAX, Object, clean_text, code_item, code_seq, first_item, get_int, get_str, item, read_code,
    read_code_seq, seq, text, us,
};
use crate::annotate::terminology::{Code, Terminology};

/// Prefix of the SegmentDescription that carries the rayseg label value.
const LABEL_PREFIX: &str = "rayseg label ";

/// One segment as rayseg writes it or read it.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentDescription {
    /// SegmentNumber: 1..n (0 is a label map's background).
    pub number: u16,
    /// The rayseg label value.
    pub label: u8,
    pub name: String,
    pub color: [u8; 3],
    pub terminology: Terminology,
    pub algorithm: Algorithm,
}

/// Terminology of a label that has none: category and type SCT 85756007
/// "Tissue", 3D Slicer's default segment terminology (also highdicom's and
/// dcmqi's examples), as general as a segment can be coded.
pub fn default_terminology() -> Terminology {
    let tissue = Code::new("SCT", "85756007", "Tissue");
    Terminology::new(tissue.clone(), tissue)
}

/// The label's terminology with any empty category or type code replaced by
/// the default's.
pub fn complete_terminology(terminology: Option<&Terminology>) -> Terminology {
    let default = default_terminology();
    let Some(t) = terminology else {
        return default;
    };
    let usable = |c: &Code| !c.scheme.trim().is_empty() && !c.value.trim().is_empty();
    let mut t = t.clone();
    if !usable(&t.category) {
        t.category = default.category;
    }
    if !usable(&t.type_) {
        t.type_ = default.type_;
    }
    t
}

/// Background of a LABELMAP (segment 0), as highdicom writes it.
pub fn background_item() -> Object {
    let background = Code::new("DCM", "125040", "Background");
    item([
        code_seq(tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE, &background),
        us(tags::SEGMENT_NUMBER, &[0]),
        text(tags::SEGMENT_LABEL, VR::LO, "Background"),
        text(tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "MANUAL"),
        code_seq(tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, &background),
    ])
}

/// The SegmentSequence item of `s`.
pub fn segment_item(s: &SegmentDescription) -> Object {
    let t = &s.terminology;
    let mut type_item = code_item(&t.type_);
    if let Some(m) = &t.modifier {
        type_item.put(code_seq(
            tags::SEGMENTED_PROPERTY_TYPE_MODIFIER_CODE_SEQUENCE,
            m,
        ));
    }
    let mut out = item([
        seq(
            tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
            vec![code_item(&t.category)],
        ),
        us(tags::SEGMENT_NUMBER, &[s.number]),
        text(tags::SEGMENT_LABEL, VR::LO, &clean_text(&s.name, LO_MAX)),
        text(
            tags::SEGMENT_DESCRIPTION,
            VR::ST,
            &format!("{LABEL_PREFIX}{}", s.label),
        ),
        text(
            tags::SEGMENT_ALGORITHM_TYPE,
            VR::CS,
            s.algorithm.kind.dicom(),
        ),
        us(
            tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE,
            &rgb_to_dicom_lab(s.color),
        ),
        seq(tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, vec![type_item]),
    ]);
    if s.algorithm.kind != AlgorithmType::Manual {
        let name = s.algorithm.name.as_deref().unwrap_or("rayseg");
        out.put(text(
            tags::SEGMENT_ALGORITHM_NAME,
            VR::LO,
            &clean_text(name, LO_MAX),
        ));
    }
    if let Some(region) = &t.anatomic_region {
        let mut region_item = code_item(region);
        if let Some(m) = &t.anatomic_region_modifier {
            region_item.put(code_seq(tags::ANATOMIC_REGION_MODIFIER_SEQUENCE, m));
        }
        out.put(seq(tags::ANATOMIC_REGION_SEQUENCE, vec![region_item]));
    }
    out
}

/// A SegmentSequence item read back: its number and the label value its
/// description names, if any, besides the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadSegment {
    pub number: u16,
    /// The label value rayseg wrote in SegmentDescription.
    pub rayseg_label: Option<u8>,
    pub name: String,
    pub color: Option<[u8; 3]>,
    pub terminology: Option<Terminology>,
    pub algorithm: Algorithm,
}

pub fn read_segment_item(s: &Object) -> Option<ReadSegment> {
    let number = u16::try_from(get_int(s, tags::SEGMENT_NUMBER)?).ok()?;
    let name = get_str(s, tags::SEGMENT_LABEL).unwrap_or_else(|| format!("segment {number}"));
    let rayseg_label = get_str(s, tags::SEGMENT_DESCRIPTION)
        .and_then(|d| d.strip_prefix(LABEL_PREFIX)?.trim().parse::<u8>().ok())
        .filter(|&l| l != 0);
    let color = s
        .get(tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE)
        .and_then(|e| e.value().to_multi_int::<u16>().ok())
        .and_then(|v| <[u16; 3]>::try_from(v).ok())
        .map(dicom_lab_to_rgb);
    let category = read_code_seq(s, tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE);
    let type_item = first_item(s, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE);
    let type_ = type_item.and_then(read_code);
    let terminology = match (category, type_) {
        (None, None) => None,
        (category, type_) => {
            let mut t = Terminology::new(category.unwrap_or_default(), type_.unwrap_or_default());
            t.modifier = type_item.and_then(|i| {
                read_code_seq(i, tags::SEGMENTED_PROPERTY_TYPE_MODIFIER_CODE_SEQUENCE)
            });
            let region = first_item(s, tags::ANATOMIC_REGION_SEQUENCE);
            t.anatomic_region = region.and_then(read_code);
            t.anatomic_region_modifier =
                region.and_then(|r| read_code_seq(r, tags::ANATOMIC_REGION_MODIFIER_SEQUENCE));
            Some(t)
        }
    };
    let kind = get_str(s, tags::SEGMENT_ALGORITHM_TYPE)
        .and_then(|t| AlgorithmType::from_dicom(&t))
        .unwrap_or(AlgorithmType::Manual);
    let algorithm = Algorithm {
        kind,
        name: get_str(s, tags::SEGMENT_ALGORITHM_NAME).filter(|_| kind != AlgorithmType::Manual),
    };
    Some(ReadSegment {
        number,
        rayseg_label,
        name,
        color,
        terminology,
        algorithm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip() {
        let mut t = Terminology::new(
            Code::new("SCT", "123037004", "Anatomical Structure"),
            Code::new("SCT", "39607008", "Lung"),
        );
        t.modifier = Some(Code::new("SCT", "24028007", "Right"));
        t.anatomic_region = Some(Code::new("SCT", "51185008", "Thorax"));
        let s = SegmentDescription {
            number: 2,
            label: 7,
            name: "right lung".into(),
            color: [128, 174, 128],
            terminology: t.clone(),
            algorithm: Algorithm {
                kind: AlgorithmType::Automatic,
                name: Some("model".into()),
            },
        };
        let back = read_segment_item(&segment_item(&s)).unwrap();
        assert_eq!(
            back,
            ReadSegment {
                number: 2,
                rayseg_label: Some(7),
                name: s.name.clone(),
                color: Some(s.color),
                terminology: Some(t),
                algorithm: s.algorithm.clone(),
            }
        );
    }

    #[test]
    fn missing_codes_get_the_default() {
        assert_eq!(complete_terminology(None), default_terminology());
        let half = Terminology::new(Code::default(), Code::new("SCT", "10200004", "Liver"));
        let t = complete_terminology(Some(&half));
        assert_eq!(t.category, default_terminology().category);
        assert_eq!(t.type_.meaning, "Liver");
    }
}
