//! DICOM: single files, multi-frame files and series folders.
//!
//! Voxel (i, j, k) = (column, row, slice), slices ascending along the normal
//! row_cosine × column_cosine (ITK's convention); geometry in RAS+ mm.

mod decode;
mod geometry;
mod header;
mod jpeg12;
mod jpeg2k;
mod lut;
mod multiframe;
mod part10;
mod rle;
mod series;
mod syntax;
mod transcode;
mod walk;

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{FileDicomObject, InMemDicomObject, OpenFileOptions};

use super::{LoadError, LoadErrorKind, LoadOptions, Modality, Provenance, Volume};
use header::ImageHeader;

pub(crate) type FileObject = FileDicomObject<InMemDicomObject>;

/// Loads one DICOM file (single- or multi-frame).
pub fn load_dicom_file(path: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    let _ = options;
    let (obj, warnings) = open_full(path)?;
    load_object(&obj, path, warnings)
}

/// Loads one DICOM object from memory (the fuzz target's entry point).
pub fn load_dicom_bytes(
    bytes: &[u8],
    path: &Path,
    options: &LoadOptions,
) -> Result<Volume, LoadError> {
    let _ = options;
    let (obj, warnings) = parse_bytes(bytes, path)?;
    load_object(&obj, path, warnings)
}

/// Loads the series in a folder (the largest one, or `options.series_uid`).
pub fn load_series_dir(path: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    series::load_series_dir(path, options)
}

/// Reads a file and parses it up to and including PixelData; also returns
/// what had to be tolerated to read it.
pub(crate) fn open_full(path: &Path) -> Result<(FileObject, Vec<String>), LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::io(path, e))?;
    parse_bytes(&bytes, path)
}

/// Why the DICOM parser could not read a data set.
#[derive(Debug, thiserror::Error)]
enum ParseError {
    #[error(transparent)]
    Panic(#[from] DecoderPanic),
    #[error(transparent)]
    Read(#[from] dicom_object::ReadError),
}

fn parse(bytes: &[u8]) -> Result<FileObject, ParseError> {
    Ok(guard(|| {
        OpenFileOptions::new()
            .read_to(tags::PIXEL_DATA)
            .read_preamble(ReadPreamble::Always)
            .from_reader(bytes)
    })??)
}

/// Third-party parsing or decoding code panicked on malformed input; holds
/// the panic's message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("malformed data made the decoder fail ({0})")]
pub(crate) struct DecoderPanic(String);

/// Runs third-party parsing/decoding code, turning a panic on malformed
/// input (e.g. the RLE decoder indexing past a short segment) into an error.
pub(crate) fn guard<T>(f: impl FnOnce() -> T) -> Result<T, DecoderPanic> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        DecoderPanic(what)
    })
}

fn parse_bytes(bytes: &[u8], path: &Path) -> Result<(FileObject, Vec<String>), LoadError> {
    let fail = |kind| LoadError::new(path, kind);
    let part10 = part10::canonicalise(bytes).map_err(fail)?;
    let obj = parse(&part10.bytes).or_else(|err| recover(&part10.bytes, path, &err))?;
    Ok((obj, part10.warnings))
}

/// The parser reads one element past PixelData, so bytes trailing it fail
/// the parse; where the length walk could not locate PixelData, retry with
/// the input cut after each candidate PixelData. Otherwise say what is wrong.
fn recover(bytes: &[u8], path: &Path, parse_error: &ParseError) -> Result<FileObject, LoadError> {
    for end in syntax::pixel_data_ends(bytes) {
        if let Some(head) = bytes.get(..end)
            && let Ok(obj) = parse(head)
        {
            return Ok(obj);
        }
    }
    Err(LoadError::new(
        path,
        syntax::diagnose(bytes, &parse_error.to_string()),
    ))
}

pub(crate) fn transfer_syntax(obj: &FileObject) -> String {
    obj.meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string()
}

/// Header of a fully read object, with the pixel-data and syntax checks
/// that come before any decoding.
pub(crate) fn checked_header(obj: &FileObject) -> Result<(ImageHeader, String), LoadErrorKind> {
    let ts = transfer_syntax(obj);
    syntax::check_supported(&ts)?;
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(LoadErrorKind::NoPixelData(
            "the data set has no PixelData (7FE0,0010): not an image".into(),
        ));
    }
    let hdr = header::image_header(obj)?;
    Ok((hdr, ts))
}

fn load_object(
    obj: &FileObject,
    path: &Path,
    mut warnings: Vec<String>,
) -> Result<Volume, LoadError> {
    let fail = |kind| LoadError::new(path, kind);
    let (hdr, ts) = checked_header(obj).map_err(fail)?;
    warnings.extend(hdr.warnings.iter().cloned());
    let frames = decode::decode_frames(obj, &hdr).map_err(fail)?;
    let infos = multiframe::frame_infos(obj, &hdr, &mut warnings);

    let (stack, data) = if hdr.is_segmentation() && hdr.bits_allocated == 1 {
        let (stack, data, unplaced) =
            multiframe::segmentation_labels(&frames, &infos).map_err(fail)?;
        if unplaced > 0 {
            warnings.push(format!(
                "{unplaced} SEG frame(s) off the slice grid ignored"
            ));
        }
        (stack, data)
    } else {
        let geometries: Vec<_> = infos.iter().map(|i| i.geometry).collect();
        let (kept, dropped) = geometry::filter_orientation(&geometries);
        warnings.extend(dropped);
        let kept_geometries: Vec<_> = kept
            .iter()
            .filter_map(|&i| geometries.get(i).copied())
            .collect();
        let mut stack = geometry::stack_geometry(&kept_geometries, false);
        // Map back from the kept subset to frame numbers.
        stack.order = stack
            .order
            .iter()
            .filter_map(|&i| kept.get(i).copied())
            .collect();
        let slices: Vec<_> = stack
            .order
            .iter()
            .filter_map(|&f| {
                Some(decode::Slice {
                    frames: &frames,
                    index: f,
                    rescale: infos.get(f)?.rescale,
                })
            })
            .collect();
        let data = decode::assemble(&slices, &hdr).map_err(fail)?;
        (stack, data)
    };
    warnings.extend(stack.warnings);
    let shape = [hdr.columns as usize, hdr.rows as usize, stack.order.len()];
    let format = if hdr.frames > 1 {
        "dicom-multiframe"
    } else {
        "dicom"
    };
    let mut volume = Volume::new(
        shape,
        data,
        stack.ras_from_voxel,
        Modality::from_dicom_code(&hdr.modality),
    )
    .map_err(|e| fail(e.into()))?;
    volume.warnings.splice(0..0, warnings);
    volume.provenance = Provenance {
        format: format.into(),
        volumes_in_source: 1,
        volume_index: 0,
        series_uid: hdr.series_uid.clone(),
        other_series: Vec::new(),
        transfer_syntax: Some(ts),
    };
    Ok(volume)
}
