//! Metadata extraction: the few attributes the loader needs, read defensively.
//! Nothing patient-identifying is read or kept.

use dicom_core::VR;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::{InMemDicomObject, Tag};
use glam::DVec3;

use crate::volume::LoadErrorKind;

pub(crate) type Object = InMemDicomObject;

/// RescaleSlope / RescaleIntercept (identity when absent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rescale {
    pub slope: f64,
    pub intercept: f64,
}

impl Rescale {
    pub const IDENTITY: Rescale = Rescale {
        slope: 1.0,
        intercept: 0.0,
    };

    pub fn is_identity(&self) -> bool {
        self.slope == 1.0 && self.intercept == 0.0
    }

    pub fn is_integral(&self) -> bool {
        self.slope.fract() == 0.0 && self.intercept.fract() == 0.0
    }
}

/// Plane geometry of one frame (or one single-frame file).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct PlaneGeometry {
    pub position_lps_mm: Option<DVec3>,
    /// Row cosine then column cosine (ImageOrientationPatient), LPS.
    pub orientation: Option<[f64; 6]>,
    /// PixelSpacing: [row spacing (between rows), column spacing (between columns)].
    pub pixel_spacing_mm: Option<[f64; 2]>,
    pub slice_thickness_mm: Option<f64>,
    pub spacing_between_slices_mm: Option<f64>,
}

/// The image-level attributes of one DICOM object.
#[derive(Clone, Debug)]
pub(crate) struct ImageHeader {
    pub rows: u32,
    pub columns: u32,
    pub frames: u32,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub photometric: String,
    pub modality: String,
    pub sop_class_uid: String,
    pub series_uid: Option<String>,
    pub series_description: String,
    pub instance_number: Option<i64>,
    pub geometry: PlaneGeometry,
    pub rescale: Rescale,
    /// Filled in by callers that know the file's meta group.
    pub transfer_syntax: String,
    /// Applied instead of `rescale` when present.
    pub modality_lut: Option<super::lut::ModalityLut>,
    /// What was tolerated while reading the header.
    pub warnings: Vec<String>,
}

pub(crate) const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";

/// Value of `tag` as text or numbers. Elements stored as UN (explicit VR
/// files written by tools that did not know the VR) are reinterpreted with
/// the dictionary's VR, as pydicom and GDCM do.
enum Raw {
    Text(String),
    Numbers(Vec<f64>),
}

fn raw_value(obj: &Object, tag: Tag) -> Option<Raw> {
    let elem = obj.get(tag)?;
    if elem.vr() != VR::UN {
        return match elem.vr() {
            VR::US | VR::UL | VR::SS | VR::SL | VR::FL | VR::FD => {
                elem.to_multi_float64().ok().map(Raw::Numbers)
            }
            _ => elem.to_str().ok().map(|s| Raw::Text(s.into_owned())),
        };
    }
    let bytes = elem.to_bytes().ok()?;
    let vr = StandardDataDictionary.by_tag(tag)?.vr().relaxed();
    let numbers = |width: usize, f: fn(&[u8]) -> f64| {
        Raw::Numbers(bytes.chunks_exact(width).map(f).collect())
    };
    Some(match vr {
        VR::US => numbers(2, |c| f64::from(u16::from_le_bytes([c[0], c[1]]))),
        VR::SS => numbers(2, |c| f64::from(i16::from_le_bytes([c[0], c[1]]))),
        VR::UL => numbers(4, |c| {
            f64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        }),
        VR::SL => numbers(4, |c| {
            f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        }),
        _ => Raw::Text(String::from_utf8_lossy(&bytes).into_owned()),
    })
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}

pub(crate) fn get_str(obj: &Object, tag: Tag) -> Option<String> {
    let Raw::Text(s) = raw_value(obj, tag)? else {
        return None;
    };
    let s = trim(&s);
    (!s.is_empty()).then(|| s.to_string())
}

pub(crate) fn get_f64s(obj: &Object, tag: Tag) -> Option<Vec<f64>> {
    let v = match raw_value(obj, tag)? {
        Raw::Numbers(v) => v,
        Raw::Text(s) => s
            .split('\\')
            .map(|part| trim(part).parse::<f64>().ok())
            .collect::<Option<Vec<f64>>>()?,
    };
    (!v.is_empty() && v.iter().all(|x| x.is_finite())).then_some(v)
}

pub(crate) fn get_f64(obj: &Object, tag: Tag) -> Option<f64> {
    get_f64s(obj, tag)?.first().copied()
}

pub(crate) fn get_int(obj: &Object, tag: Tag) -> Option<i64> {
    let v = get_f64(obj, tag)?;
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

/// First item of a sequence attribute.
pub(crate) fn first_item(obj: &Object, tag: Tag) -> Option<&Object> {
    obj.get(tag)?.items()?.first()
}

fn positive(x: Option<f64>) -> Option<f64> {
    x.filter(|v| *v > 0.0)
}

/// Reads the plane attributes found directly in `obj` (a data set or a
/// functional-group item: PlanePosition/PlaneOrientation/PixelMeasures).
pub(crate) fn plane_geometry(obj: &Object) -> PlaneGeometry {
    let position_lps_mm = get_f64s(obj, tags::IMAGE_POSITION_PATIENT)
        .filter(|v| v.len() >= 3)
        .map(|v| DVec3::new(v[0], v[1], v[2]));
    let orientation = get_f64s(obj, tags::IMAGE_ORIENTATION_PATIENT)
        .filter(|v| v.len() >= 6)
        .map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]);
    let pixel_spacing_mm = get_f64s(obj, tags::PIXEL_SPACING)
        .filter(|v| v.len() >= 2 && v[0] > 0.0 && v[1] > 0.0)
        .map(|v| [v[0], v[1]]);
    PlaneGeometry {
        position_lps_mm,
        orientation,
        pixel_spacing_mm,
        slice_thickness_mm: positive(get_f64(obj, tags::SLICE_THICKNESS)),
        spacing_between_slices_mm: positive(get_f64(obj, tags::SPACING_BETWEEN_SLICES)),
    }
}

/// Fills the fields `over` lacks from `base` (per-frame over shared over top level).
pub(crate) fn merge_geometry(over: PlaneGeometry, base: &PlaneGeometry) -> PlaneGeometry {
    PlaneGeometry {
        position_lps_mm: over.position_lps_mm.or(base.position_lps_mm),
        orientation: over.orientation.or(base.orientation),
        pixel_spacing_mm: over.pixel_spacing_mm.or(base.pixel_spacing_mm),
        slice_thickness_mm: over.slice_thickness_mm.or(base.slice_thickness_mm),
        spacing_between_slices_mm: over
            .spacing_between_slices_mm
            .or(base.spacing_between_slices_mm),
    }
}

pub(crate) fn rescale(obj: &Object) -> Option<Rescale> {
    let slope = get_f64(obj, tags::RESCALE_SLOPE);
    let intercept = get_f64(obj, tags::RESCALE_INTERCEPT);
    if slope.is_none() && intercept.is_none() {
        return None;
    }
    Some(Rescale {
        // A zero slope would erase the image; treat it as absent like GDCM does.
        slope: slope.filter(|s| *s != 0.0).unwrap_or(1.0),
        intercept: intercept.unwrap_or(0.0),
    })
}

/// Reads the image header; `Err` says what is wrong with it
/// ([`LoadErrorKind::BadHeader`]).
pub(crate) fn image_header(obj: &super::FileObject) -> Result<ImageHeader, LoadErrorKind> {
    let bad = LoadErrorKind::BadHeader;
    let missing = |what: &str| bad(format!("{what} is missing"));
    let rows = get_int(obj, tags::ROWS).ok_or_else(|| missing("Rows (0028,0010)"))?;
    let columns = get_int(obj, tags::COLUMNS).ok_or_else(|| missing("Columns (0028,0011)"))?;
    let mut warnings = Vec::new();
    let bits_allocated =
        get_int(obj, tags::BITS_ALLOCATED).ok_or_else(|| missing("BitsAllocated (0028,0100)"))?;
    let bits_stored = get_int(obj, tags::BITS_STORED).unwrap_or(bits_allocated);
    let samples_per_pixel = get_int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let pixel_representation = get_int(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0);
    if rows <= 0 || columns <= 0 || rows > 65535 || columns > 65535 {
        return Err(bad(format!(
            "Rows {rows} × Columns {columns} is not a valid image size"
        )));
    }
    let size = [rows, columns, samples_per_pixel, bits_allocated];
    let frames = match number_of_frames(obj) {
        Ok(n) => n,
        Err(invalid) => infer_frames(obj, size, &invalid, &mut warnings)?,
    };
    if frames <= 0 || frames > i64::from(u32::MAX) {
        return Err(bad(format!("NumberOfFrames {frames} is not valid")));
    }
    if !matches!(bits_allocated, 1 | 8 | 16 | 32) {
        return Err(bad(format!(
            "BitsAllocated {bits_allocated} is not 1, 8, 16 or 32"
        )));
    }
    if bits_stored <= 0 || bits_stored > bits_allocated {
        return Err(bad(format!(
            "BitsStored {bits_stored} does not fit BitsAllocated {bits_allocated}"
        )));
    }
    if !(1..=4).contains(&samples_per_pixel) {
        return Err(bad(format!(
            "SamplesPerPixel {samples_per_pixel} is not valid"
        )));
    }
    let implicit_vr = super::transfer_syntax(obj) == super::syntax::IMPLICIT_VR_LE;
    let (modality_lut, lut_warning) =
        super::lut::modality_lut(obj, pixel_representation == 1, implicit_vr);
    warnings.extend(lut_warning);
    Ok(ImageHeader {
        rows: rows as u32,
        columns: columns as u32,
        frames: frames as u32,
        samples_per_pixel: samples_per_pixel as u16,
        bits_allocated: bits_allocated as u16,
        bits_stored: bits_stored as u16,
        signed: pixel_representation == 1,
        photometric: get_str(obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default(),
        modality: get_str(obj, tags::MODALITY).unwrap_or_default(),
        sop_class_uid: get_str(obj, tags::SOP_CLASS_UID).unwrap_or_default(),
        series_uid: get_str(obj, tags::SERIES_INSTANCE_UID),
        series_description: get_str(obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        instance_number: get_int(obj, tags::INSTANCE_NUMBER),
        geometry: plane_geometry(obj),
        rescale: rescale(obj).unwrap_or(Rescale::IDENTITY),
        transfer_syntax: String::new(),
        modality_lut,
        warnings,
    })
}

/// A NumberOfFrames that is present but not a whole number; holds its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("NumberOfFrames {0:?} is not a whole number")]
struct InvalidNumberOfFrames(String);

/// NumberOfFrames: 1 when absent; `Err` when present but not a whole number
/// (badVR.dcm has "1A").
fn number_of_frames(obj: &Object) -> Result<i64, InvalidNumberOfFrames> {
    if obj.get(tags::NUMBER_OF_FRAMES).is_none() {
        return Ok(1);
    }
    match get_int(obj, tags::NUMBER_OF_FRAMES) {
        Some(n) => Ok(n),
        None => Err(InvalidNumberOfFrames(
            get_str(obj, tags::NUMBER_OF_FRAMES).unwrap_or_default(),
        )),
    }
}

/// An invalid NumberOfFrames: the count the pixel data holds, with a warning
/// (never a silent 1); an error when the pixel data cannot tell either.
fn infer_frames(
    obj: &Object,
    [rows, columns, samples, bits]: [i64; 4],
    invalid: &InvalidNumberOfFrames,
    warnings: &mut Vec<String>,
) -> Result<i64, LoadErrorKind> {
    use dicom_core::DicomValue;
    let frame_bits = rows * columns * samples * bits;
    let inferred = match obj.get(tags::PIXEL_DATA).map(|e| e.value()) {
        Some(DicomValue::Primitive(v)) if frame_bits > 0 => {
            let bytes = v.calculate_byte_len() as i64;
            (bytes * 8 / frame_bits).max(1)
        }
        Some(DicomValue::PixelSequence(seq)) => {
            let table = seq.offset_table().len() as i64;
            if table > 0 { table } else { 1 }
        }
        _ => return Err(LoadErrorKind::BadHeader(invalid.to_string())),
    };
    warnings.push(format!(
        "{invalid}; {inferred} frame(s) taken from the pixel data"
    ));
    Ok(inferred)
}

impl ImageHeader {
    pub fn is_segmentation(&self) -> bool {
        self.sop_class_uid == SEGMENTATION_STORAGE
    }

    /// Bytes of native (uncompressed) pixel data the header implies, checked.
    pub fn native_pixel_bytes(&self) -> Option<u64> {
        let samples = u64::from(self.rows)
            .checked_mul(u64::from(self.columns))?
            .checked_mul(u64::from(self.frames))?
            .checked_mul(u64::from(self.samples_per_pixel))?;
        if self.bits_allocated == 1 {
            Some(samples.div_ceil(8))
        } else {
            samples.checked_mul(u64::from(self.bits_allocated / 8))
        }
    }

    pub fn pixels_per_frame(&self) -> usize {
        self.rows as usize * self.columns as usize
    }
}
