//! Building the Segmentation object: BINARY (Segmentation Storage, one
//! bit-packed frame per segment and slice the segment is on) or LABELMAP
//! (Label Map Segmentation Storage, DICOM 2024 Supplement 243: one 8-bit
//! frame per slice whose values are segment numbers), laid out as highdicom
//! lays it out, in Explicit VR Little Endian.

use std::io::Write;
use std::path::{Path, PathBuf};

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject};
use thiserror::Error;

use super::dataset::{
    LO_MAX, Object, at, clean_text, code_seq, ds, empty, is, item, seq, text, texts, ul, us,
};
use super::deidentify::{Deidentify, find_leaks, identifying_values, patient_study};
use super::segment::{SegmentDescription, background_item, segment_item};
use super::source::SourceSeries;
use super::uid::{implementation_class_uid, random_uid};
use crate::annotate::terminology::Code;

pub const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";
pub const LABEL_MAP_SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.7";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// Which kind of Segmentation to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentationType {
    Binary,
    Labelmap,
}

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("the mask has no labelled voxel: a Segmentation needs at least one segment")]
    Empty,
    #[error("{} segments: a label map Segmentation holds at most 255", .0)]
    TooManySegments(usize),
    #[error("the mask has {got} voxels but the source series has {want}")]
    Size { got: usize, want: usize },
    #[error(
        "refusing to write: the de-identified object still holds identifying source values in \
         {tags:?}"
    )]
    Leak { tags: Vec<Tag> },
    #[error("{}: {message}", path.display())]
    Dicom { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Everything a Segmentation is built from.
pub struct WriteRequest<'a> {
    pub kind: SegmentationType,
    /// One label per voxel of the source grid, `i` fastest.
    pub labels: &'a [u8],
    pub source: &'a SourceSeries,
    /// One per label written, numbered 1..n in order.
    pub segments: &'a [SegmentDescription],
    pub deidentify: Option<&'a Deidentify>,
    /// ContentCreatorName (PN); ignored when de-identifying.
    pub content_creator: &'a str,
    pub series_number: i64,
    pub series_description: &'a str,
}

/// `name` as a PN value: a bare user name ("jdoe") becomes a family name
/// ("jdoe^"), since a PN without a component separator is the retired form.
fn person_name(name: &str) -> String {
    let name = clean_text(name, LO_MAX);
    if name.contains('^') {
        name
    } else {
        format!("{name}^")
    }
}

/// UTC date (DA) and time (TM) now.
fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}{month:02}{day:02}"),
        format!("{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

fn code(scheme: &str, value: &str, meaning: &str) -> Code {
    Code::new(scheme, value, meaning)
}

/// The frames: (segment index, slice k), segment-major then k ascending, as
/// highdicom orders them; BINARY omits a segment's empty slices.
fn frames(req: &WriteRequest, slice_voxels: usize, nk: usize) -> Vec<(usize, usize)> {
    match req.kind {
        SegmentationType::Labelmap => (0..nk).map(|k| (0, k)).collect(),
        SegmentationType::Binary => {
            let mut present = vec![[false; 256]; nk];
            for (k, slice) in req.labels.chunks_exact(slice_voxels).enumerate() {
                for &l in slice {
                    present[k][l as usize] = true;
                }
            }
            let mut out = Vec::new();
            for (s, seg) in req.segments.iter().enumerate() {
                out.extend(
                    (0..nk)
                        .filter(|&k| present[k][seg.label as usize])
                        .map(|k| (s, k)),
                );
            }
            out
        }
    }
}

/// PixelData: 1 bit per pixel, least significant bit first, frames packed
/// back to back across byte boundaries (PS3.5 8.1.1); or one byte per pixel
/// holding the segment number.
fn pixel_data(req: &WriteRequest, frames: &[(usize, usize)], slice_voxels: usize) -> Vec<u8> {
    let mut out;
    match req.kind {
        SegmentationType::Binary => {
            out = vec![0u8; (frames.len() * slice_voxels).div_ceil(8)];
            let mut bit = 0usize;
            for &(s, k) in frames {
                let label = req.segments[s].label;
                let slice = &req.labels[k * slice_voxels..(k + 1) * slice_voxels];
                for &l in slice {
                    if l == label {
                        out[bit / 8] |= 1 << (bit % 8);
                    }
                    bit += 1;
                }
            }
        }
        SegmentationType::Labelmap => {
            let mut number = [0u8; 256];
            for s in req.segments {
                number[s.label as usize] = s.number as u8;
            }
            out = Vec::with_capacity(frames.len() * slice_voxels);
            for &(_, k) in frames {
                let slice = &req.labels[k * slice_voxels..(k + 1) * slice_voxels];
                out.extend(slice.iter().map(|&l| number[l as usize]));
            }
        }
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Builds the Segmentation of `req` (no file is touched).
pub fn build(req: &WriteRequest) -> Result<FileDicomObject<InMemDicomObject>, WriteError> {
    let src = req.source;
    let nk = src.slices.len();
    let slice_voxels = req.labels.len().checked_div(nk).unwrap_or(0);
    if nk == 0 || slice_voxels * nk != req.labels.len() {
        return Err(WriteError::Size {
            got: req.labels.len(),
            want: slice_voxels * nk,
        });
    }
    if req.segments.is_empty() {
        return Err(WriteError::Empty);
    }
    if req.kind == SegmentationType::Labelmap && req.segments.len() > 255 {
        return Err(WriteError::TooManySegments(req.segments.len()));
    }
    let (rows, columns) = (src.rows, src.columns);
    let deid = req.deidentify;
    let map_uid = |uid: &str| deid.map_or_else(|| uid.to_owned(), |d| d.uid(uid));

    let frames = frames(req, slice_voxels, nk);
    if frames.is_empty() {
        return Err(WriteError::Empty);
    }
    let sop_instance_uid = random_uid();
    let dimension_uid = random_uid();
    let (sop_class, type_name, bits) = match req.kind {
        SegmentationType::Binary => (SEGMENTATION_STORAGE, "BINARY", 1u16),
        SegmentationType::Labelmap => (LABEL_MAP_SEGMENTATION_STORAGE, "LABELMAP", 8),
    };
    let (date, time) = match deid {
        // Annex E: dates and times are dummies when de-identified.
        Some(_) => ("19000101".to_owned(), "000000".to_owned()),
        None => utc_now(),
    };

    let mut obj = Object::new_empty();
    obj.put(text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"));
    obj.put(texts(
        tags::IMAGE_TYPE,
        VR::CS,
        &["DERIVED".into(), "PRIMARY".into()],
    ));
    if deid.is_none() {
        obj.put(text(tags::INSTANCE_CREATION_DATE, VR::DA, &date));
        obj.put(text(tags::INSTANCE_CREATION_TIME, VR::TM, &time));
    }
    obj.put(text(tags::SOP_CLASS_UID, VR::UI, sop_class));
    obj.put(text(tags::SOP_INSTANCE_UID, VR::UI, &sop_instance_uid));
    for e in patient_study(&src.header, deid) {
        obj.put(e);
    }
    // Equipment, series and content.
    obj.put(text(tags::MODALITY, VR::CS, "SEG"));
    obj.put(text(tags::MANUFACTURER, VR::LO, "rayseg"));
    obj.put(text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "rayseg"));
    obj.put(text(tags::DEVICE_SERIAL_NUMBER, VR::LO, "0"));
    obj.put(text(
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    ));
    obj.put(text(tags::SERIES_INSTANCE_UID, VR::UI, &random_uid()));
    obj.put(is(tags::SERIES_NUMBER, req.series_number));
    if deid.is_none() && !req.series_description.is_empty() {
        obj.put(text(
            tags::SERIES_DESCRIPTION,
            VR::LO,
            &clean_text(req.series_description, LO_MAX),
        ));
    }
    obj.put(is(tags::INSTANCE_NUMBER, 1));
    obj.put(text(tags::CONTENT_DATE, VR::DA, &date));
    obj.put(text(tags::CONTENT_TIME, VR::TM, &time));
    obj.put(text(tags::CONTENT_LABEL, VR::CS, "SEGMENTATION"));
    obj.put(empty(tags::CONTENT_DESCRIPTION, VR::LO));
    match deid {
        None if !req.content_creator.trim().is_empty() => obj.put(text(
            tags::CONTENT_CREATOR_NAME,
            VR::PN,
            &person_name(req.content_creator),
        )),
        _ => obj.put(empty(tags::CONTENT_CREATOR_NAME, VR::PN)),
    };

    // References: every instance of the series, each frame its slice's.
    let instance_items = src
        .instances
        .iter()
        .map(|(class, instance)| {
            item([
                text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
                text(
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    &map_uid(instance),
                ),
            ])
        })
        .collect();
    obj.put(seq(
        tags::REFERENCED_SERIES_SEQUENCE,
        vec![item([
            seq(tags::REFERENCED_INSTANCE_SEQUENCE, instance_items),
            text(tags::SERIES_INSTANCE_UID, VR::UI, &map_uid(&src.series_uid)),
        ])],
    ));

    // Multi-frame dimensions, as highdicom writes them.
    obj.put(seq(
        tags::DIMENSION_ORGANIZATION_SEQUENCE,
        vec![item([text(
            tags::DIMENSION_ORGANIZATION_UID,
            VR::UI,
            &dimension_uid,
        )])],
    ));
    let dimension = |pointer: Tag, group: Tag, label: &str| {
        item([
            text(tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dimension_uid),
            at(tags::DIMENSION_INDEX_POINTER, pointer),
            at(tags::FUNCTIONAL_GROUP_POINTER, group),
            text(tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, label),
        ])
    };
    let position_dimension = dimension(
        tags::IMAGE_POSITION_PATIENT,
        tags::PLANE_POSITION_SEQUENCE,
        "Image Position Patient",
    );
    let dimensions = match req.kind {
        SegmentationType::Binary => vec![
            dimension(
                tags::REFERENCED_SEGMENT_NUMBER,
                tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                "Referenced Segment Number",
            ),
            position_dimension,
        ],
        SegmentationType::Labelmap => {
            // One frame per slice of a regular stack: a 3-D volume.
            obj.put(text(tags::DIMENSION_ORGANIZATION_TYPE, VR::CS, "3D"));
            vec![position_dimension]
        }
    };
    obj.put(seq(tags::DIMENSION_INDEX_SEQUENCE, dimensions));

    // Image pixel and segmentation image modules.
    obj.put(us(tags::SAMPLES_PER_PIXEL, &[1]));
    obj.put(text(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    ));
    obj.put(is(tags::NUMBER_OF_FRAMES, frames.len() as i64));
    obj.put(us(tags::ROWS, &[rows]));
    obj.put(us(tags::COLUMNS, &[columns]));
    obj.put(us(tags::BITS_ALLOCATED, &[bits]));
    obj.put(us(tags::BITS_STORED, &[bits]));
    obj.put(us(tags::HIGH_BIT, &[bits - 1]));
    obj.put(us(tags::PIXEL_REPRESENTATION, &[0]));
    if req.kind == SegmentationType::Labelmap {
        obj.put(us(tags::PIXEL_PADDING_VALUE, &[0]));
    }
    obj.put(text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"));
    obj.put(text(tags::PRESENTATION_LUT_SHAPE, VR::CS, "IDENTITY"));
    obj.put(text(tags::SEGMENTATION_TYPE, VR::CS, type_name));
    let mut segment_items = Vec::with_capacity(req.segments.len() + 1);
    if req.kind == SegmentationType::Labelmap {
        segment_items.push(background_item());
    }
    segment_items.extend(req.segments.iter().map(segment_item));
    obj.put(seq(tags::SEGMENT_SEQUENCE, segment_items));
    // One label per voxel: segments never overlap.
    obj.put(text(tags::SEGMENTS_OVERLAP, VR::CS, "NO"));

    // Functional groups: geometry shared, position and source per frame.
    let thickness = src
        .slice_thickness_mm
        .unwrap_or(src.spacing_between_slices_mm);
    obj.put(seq(
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![item([
            seq(
                tags::PLANE_ORIENTATION_SEQUENCE,
                vec![item([ds(
                    tags::IMAGE_ORIENTATION_PATIENT,
                    &src.orientation,
                )])],
            ),
            seq(
                tags::PIXEL_MEASURES_SEQUENCE,
                vec![item([
                    ds(tags::SLICE_THICKNESS, &[thickness]),
                    ds(
                        tags::SPACING_BETWEEN_SLICES,
                        &[src.spacing_between_slices_mm],
                    ),
                    ds(tags::PIXEL_SPACING, &src.pixel_spacing_mm),
                ])],
            ),
        ])],
    ));
    let per_frame = frames
        .iter()
        .map(|&(s, k)| {
            let slice = &src.slices[k];
            let source_image = item([
                text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, &slice.sop_class_uid),
                text(
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    &map_uid(&slice.sop_instance_uid),
                ),
                text(tags::SPATIAL_LOCATIONS_PRESERVED, VR::CS, "YES"),
                code_seq(
                    tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                    &code(
                        "DCM",
                        "121322",
                        "Source image for image processing operation",
                    ),
                ),
            ]);
            let position = k as u32 + 1;
            let index_values = match req.kind {
                SegmentationType::Binary => vec![u32::from(req.segments[s].number), position],
                SegmentationType::Labelmap => vec![position],
            };
            let mut group = item([
                seq(
                    tags::DERIVATION_IMAGE_SEQUENCE,
                    vec![item([
                        seq(tags::SOURCE_IMAGE_SEQUENCE, vec![source_image]),
                        code_seq(
                            tags::DERIVATION_CODE_SEQUENCE,
                            &code("DCM", "113076", "Segmentation"),
                        ),
                    ])],
                ),
                seq(
                    tags::FRAME_CONTENT_SEQUENCE,
                    vec![item([ul(tags::DIMENSION_INDEX_VALUES, &index_values)])],
                ),
                seq(
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![item([ds(
                        tags::IMAGE_POSITION_PATIENT,
                        &slice.position_lps_mm,
                    )])],
                ),
            ]);
            if req.kind == SegmentationType::Binary {
                group.put(seq(
                    tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                    vec![item([us(
                        tags::REFERENCED_SEGMENT_NUMBER,
                        &[req.segments[s].number],
                    )])],
                ));
            }
            group
        })
        .collect();
    obj.put(seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(pixel_data(req, &frames, slice_voxels).into()),
    ));

    if deid.is_some() {
        let values = identifying_values(&src.header, src.instances.iter().map(|(_, i)| i.as_str()));
        let leaks = find_leaks(&obj, &values);
        if !leaks.is_empty() {
            return Err(WriteError::Leak { tags: leaks });
        }
    }
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_instance_uid.as_str())
        .transfer_syntax(EXPLICIT_VR_LE)
        .implementation_class_uid(implementation_class_uid())
        .implementation_version_name(format!("RAYSEG_{}", env!("CARGO_PKG_VERSION")));
    obj.with_meta(meta).map_err(|e| WriteError::Dicom {
        path: PathBuf::new(),
        message: e.to_string(),
    })
}

/// Writes `obj` to `path` atomically (a temporary file in the same folder,
/// then a rename).
pub fn write_file(path: &Path, obj: &FileDicomObject<InMemDicomObject>) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = crate::atomic_file::temp_file_for(path).map_err(io)?;
    {
        let mut out = std::io::BufWriter::new(tmp.as_file_mut());
        obj.write_all(&mut out).map_err(|e| WriteError::Dicom {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        out.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_well_formed() {
        let (d, t) = utc_now();
        assert_eq!((d.len(), t.len()), (8, 6));
        assert!(d.as_str() > "20240101" && d.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn creators_are_person_names() {
        assert_eq!(person_name("jdoe"), "jdoe^");
        assert_eq!(person_name("Reader^Rae"), "Reader^Rae");
    }
}
