//! The patient, study and frame-of-reference attributes a Segmentation
//! carries: copied from the source series so a PACS files it with the study,
//! or de-identified (PS3.15 Annex E, Basic Application Level Confidentiality
//! Profile) for sharing.
//!
//! De-identified: names, IDs, birth date, sex, study date and time, accession
//! number, study ID and referring physician are emptied (they are type 2;
//! `--pseudonym` fills PatientName and PatientID instead); descriptions and
//! everything else identifying are not written at all; every UID taken from
//! the source (study, series, instances, frame of reference) is replaced by
//! [`super::uid::mapped_uid`], so references stay consistent with a copy of
//! the series de-identified with the same secret; PatientIdentityRemoved is
//! YES, DeidentificationMethod(CodeSequence) names DCM 113100, and
//! LongitudinalTemporalInformationModified is REMOVED (dates are gone).
//! Before writing, [`find_leaks`] checks that no identifying value of the
//! source appears anywhere in the object.

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;

use super::dataset::{Element, Object, code_seq, empty, get_str, text};
use super::uid::{mapped_uid, random_uid};
use crate::annotate::terminology::Code;

/// How to de-identify.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deidentify {
    /// Keys the UID mapping; the same secret gives the same UIDs.
    pub secret: String,
    /// PatientName and PatientID of the de-identified object (else empty).
    pub pseudonym: Option<String>,
}

impl Deidentify {
    pub fn uid(&self, original: &str) -> String {
        mapped_uid(original, &self.secret)
    }
}

/// Patient (and Patient Study), General Study, Clinical Trial Subject and
/// Study attributes copied from the source when not de-identifying.
const COPIED: [Tag; 27] = [
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::ISSUER_OF_PATIENT_ID,
    tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
    tags::PATIENT_BIRTH_DATE,
    tags::PATIENT_SEX,
    tags::OTHER_PATIENT_I_DS_SEQUENCE,
    tags::PATIENT_IDENTITY_REMOVED,
    tags::DEIDENTIFICATION_METHOD,
    tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
    tags::PATIENT_AGE,
    tags::PATIENT_SIZE,
    tags::PATIENT_WEIGHT,
    tags::STUDY_INSTANCE_UID,
    tags::STUDY_DATE,
    tags::STUDY_TIME,
    tags::STUDY_ID,
    tags::ACCESSION_NUMBER,
    tags::REFERRING_PHYSICIAN_NAME,
    tags::STUDY_DESCRIPTION,
    tags::CLINICAL_TRIAL_SPONSOR_NAME,
    tags::CLINICAL_TRIAL_PROTOCOL_ID,
    tags::CLINICAL_TRIAL_SITE_ID,
    tags::CLINICAL_TRIAL_SITE_NAME,
    tags::CLINICAL_TRIAL_SUBJECT_ID,
    tags::CLINICAL_TRIAL_SUBJECT_READING_ID,
    tags::POSITION_REFERENCE_INDICATOR,
];

/// Type 2 attributes of the modules above: present, if empty.
const TYPE_2: [(Tag, VR); 10] = [
    (tags::PATIENT_NAME, VR::PN),
    (tags::PATIENT_ID, VR::LO),
    (tags::PATIENT_BIRTH_DATE, VR::DA),
    (tags::PATIENT_SEX, VR::CS),
    (tags::STUDY_DATE, VR::DA),
    (tags::STUDY_TIME, VR::TM),
    (tags::STUDY_ID, VR::SH),
    (tags::ACCESSION_NUMBER, VR::SH),
    (tags::REFERRING_PHYSICIAN_NAME, VR::PN),
    (tags::POSITION_REFERENCE_INDICATOR, VR::LO),
];

/// Source attributes whose values identify the patient or the study: none
/// of them may appear in a de-identified object.
const IDENTIFYING: [Tag; 21] = [
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::ISSUER_OF_PATIENT_ID,
    tags::PATIENT_BIRTH_DATE,
    tags::OTHER_PATIENT_NAMES,
    tags::PATIENT_ADDRESS,
    tags::PATIENT_MOTHER_BIRTH_NAME,
    tags::STUDY_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::SOP_INSTANCE_UID,
    tags::FRAME_OF_REFERENCE_UID,
    tags::STUDY_DATE,
    tags::SERIES_DATE,
    tags::ACQUISITION_DATE,
    tags::CONTENT_DATE,
    tags::STUDY_ID,
    tags::ACCESSION_NUMBER,
    tags::REFERRING_PHYSICIAN_NAME,
    tags::INSTITUTION_NAME,
    tags::OPERATORS_NAME,
    tags::PERFORMING_PHYSICIAN_NAME,
];

/// The patient, study and frame-of-reference elements of the Segmentation,
/// from the source header; with `deid`, their de-identified replacements.
pub fn patient_study(source: &Object, deid: Option<&Deidentify>) -> Vec<Element> {
    let mut out: Vec<Element> = Vec::new();
    let study_uid = get_str(source, tags::STUDY_INSTANCE_UID);
    let frame_uid = get_str(source, tags::FRAME_OF_REFERENCE_UID);
    match deid {
        None => {
            out.extend(COPIED.iter().filter_map(|&t| source.get(t).cloned()));
            // Type 1 UIDs a broken source may lack: new ones keep the object valid.
            out.push(text(
                tags::STUDY_INSTANCE_UID,
                VR::UI,
                &study_uid.unwrap_or_else(random_uid),
            ));
            out.push(text(
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                &frame_uid.unwrap_or_else(random_uid),
            ));
        }
        Some(d) => {
            let pseudonym = d.pseudonym.as_deref().unwrap_or("");
            out.push(text(tags::PATIENT_NAME, VR::PN, pseudonym));
            out.push(text(tags::PATIENT_ID, VR::LO, pseudonym));
            let map = |uid: Option<String>| uid.map_or_else(random_uid, |u| d.uid(&u));
            out.push(text(tags::STUDY_INSTANCE_UID, VR::UI, &map(study_uid)));
            out.push(text(tags::FRAME_OF_REFERENCE_UID, VR::UI, &map(frame_uid)));
            out.push(text(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES"));
            out.push(text(
                tags::DEIDENTIFICATION_METHOD,
                VR::LO,
                "rayseg: PS3.15 E Basic Profile, UIDs hashed",
            ));
            out.push(code_seq(
                tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
                &Code::new("DCM", "113100", "Basic Application Confidentiality Profile"),
            ));
            out.push(text(
                tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
                VR::CS,
                "REMOVED",
            ));
        }
    }
    for (tag, vr) in TYPE_2 {
        if !out.iter().any(|e| e.header().tag == tag) {
            out.push(empty(tag, vr));
        }
    }
    out
}

/// The identifying values of the source header (see [`IDENTIFYING`]), and
/// every instance UID of the series.
pub fn identifying_values<'a>(
    source: &Object,
    instance_uids: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut values: Vec<String> = IDENTIFYING
        .iter()
        .filter_map(|&t| get_str(source, t))
        .flat_map(|v| v.split('\\').map(str::to_owned).collect::<Vec<_>>())
        .map(|v| v.trim().to_owned())
        .filter(|v| v.len() >= 2)
        .collect();
    values.extend(instance_uids.into_iter().map(str::to_owned));
    values.sort();
    values.dedup();
    values
}

/// Tags of `obj` (at any depth) holding one of `values`: a de-identified
/// object must have none.
pub fn find_leaks(obj: &Object, values: &[String]) -> Vec<Tag> {
    let mut found = Vec::new();
    walk(obj, values, &mut found);
    found
}

fn walk(obj: &Object, values: &[String], found: &mut Vec<Tag>) {
    for e in obj.iter() {
        let tag = e.header().tag;
        if let Some(children) = e.items() {
            for child in children {
                walk(child, values, found);
            }
            continue;
        }
        if matches!(e.vr(), VR::OB | VR::OW | VR::UN | VR::US | VR::UL | VR::AT) {
            continue;
        }
        let Ok(text) = e.value().to_str() else {
            continue;
        };
        let leaks = text.split('\\').any(|v| {
            let v = v.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            !v.is_empty() && values.iter().any(|x| x == v)
        });
        if leaks {
            found.push(tag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Object {
        Object::from_element_iter([
            text(tags::PATIENT_NAME, VR::PN, "Doe^Jane"),
            text(tags::PATIENT_ID, VR::LO, "MRN123"),
            text(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
            text(tags::PATIENT_SEX, VR::CS, "F"),
            text(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3"),
            text(tags::FRAME_OF_REFERENCE_UID, VR::UI, "1.2.4"),
            text(tags::ACCESSION_NUMBER, VR::SH, "ACC9"),
            text(tags::STUDY_DATE, VR::DA, "20240102"),
            text(tags::STUDY_DESCRIPTION, VR::LO, "CT chest"),
            text(tags::INSTITUTION_NAME, VR::LO, "General Hospital"),
        ])
    }

    #[test]
    fn identified_copies_and_fills_type_2() {
        let out = Object::from_element_iter(patient_study(&source(), None));
        assert_eq!(
            get_str(&out, tags::PATIENT_NAME).as_deref(),
            Some("Doe^Jane")
        );
        assert_eq!(
            get_str(&out, tags::STUDY_INSTANCE_UID).as_deref(),
            Some("1.2.3")
        );
        assert_eq!(
            get_str(&out, tags::STUDY_DESCRIPTION).as_deref(),
            Some("CT chest")
        );
        assert!(out.get(tags::REFERRING_PHYSICIAN_NAME).is_some());
        assert!(out.get(tags::INSTITUTION_NAME).is_none());
    }

    #[test]
    fn deidentified_keeps_nothing_identifying() {
        let d = Deidentify::default();
        let out = Object::from_element_iter(patient_study(&source(), Some(&d)));
        let values = identifying_values(&source(), ["1.2.5"]);
        assert!(values.contains(&"MRN123".to_string()));
        assert_eq!(find_leaks(&out, &values), Vec::<Tag>::new());
        assert_eq!(get_str(&out, tags::PATIENT_NAME), None);
        assert!(
            out.get(tags::PATIENT_NAME).is_some(),
            "type 2: present, empty"
        );
        assert_eq!(
            get_str(&out, tags::STUDY_INSTANCE_UID),
            Some(d.uid("1.2.3"))
        );
        assert_eq!(
            get_str(&out, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
            Some("YES")
        );
        assert!(out.get(tags::STUDY_DESCRIPTION).is_none());
        // The check itself finds a copied value.
        let leaky = Object::from_element_iter(patient_study(&source(), None));
        let leaks = find_leaks(&leaky, &values);
        assert!(leaks.contains(&tags::PATIENT_ID) && leaks.contains(&tags::STUDY_INSTANCE_UID));
        let p = Deidentify {
            pseudonym: Some("SUBJ-01".into()),
            ..d
        };
        let out = Object::from_element_iter(patient_study(&source(), Some(&p)));
        assert_eq!(get_str(&out, tags::PATIENT_ID).as_deref(), Some("SUBJ-01"));
    }
}
