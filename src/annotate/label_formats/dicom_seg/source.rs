//! The source series a Segmentation references: every instance's header
//! (never its pixels' meaning), each slice of the image mapped to the
//! instance it came from by ImagePositionPatient. The [`Volume`] holds no
//! UIDs or patient data on purpose, so they are read here, from the files.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use glam::DVec3;
use thiserror::Error;

use super::dataset::{Object, get_f64, get_f64s, get_int, get_str};
use crate::volume::Volume;

/// Largest distance (voxels) of an instance's position from an image voxel
/// centre: DS rounding and the loader's mean slice step stay far below it.
const ON_GRID_VOXELS: f64 = 0.1;

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Mismatch { path: PathBuf, message: String },
}

/// One slice's instance.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSlice {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// ImagePositionPatient (LPS mm) as the file has it.
    pub position_lps_mm: [f64; 3],
}

/// The series behind an image, as a Segmentation needs it.
#[derive(Clone, Debug)]
pub struct SourceSeries {
    pub series_uid: String,
    pub rows: u16,
    pub columns: u16,
    /// ImageOrientationPatient: row then column cosines, LPS.
    pub orientation: [f64; 6],
    /// PixelSpacing: between rows, then between columns (mm).
    pub pixel_spacing_mm: [f64; 2],
    pub slice_thickness_mm: Option<f64>,
    /// Distance between slice planes along the normal (mm).
    pub spacing_between_slices_mm: f64,
    /// The instance of each image slice k.
    pub slices: Vec<SourceSlice>,
    /// Every instance of the series (SOP Class, SOP Instance): the slices',
    /// then any at duplicate positions.
    pub instances: Vec<(String, String)>,
    /// The first slice's header without PixelData: patient, study and frame
    /// of reference attributes are copied from it.
    pub header: Object,
}

fn mismatch(path: &Path, message: String) -> SourceError {
    SourceError::Mismatch {
        path: path.to_owned(),
        message,
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let io = |source| SourceError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        // As the series loader: symlinked folders are not followed (no loops).
        if kind.is_dir() {
            collect_files(&entry.path(), out)?;
        } else {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn has_dicm_marker(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)
        .and_then(|f| f.take(132).read_to_end(&mut head))
        .is_ok()
        && head.get(128..132) == Some(b"DICM")
}

fn lps_to_ras(v: DVec3) -> DVec3 {
    DVec3::new(-v.x, -v.y, v.z)
}

/// One instance's header, read with the image loader's checks.
struct Header {
    obj: Object,
    sop_class_uid: String,
    sop_instance_uid: String,
    position: DVec3,
}

fn read_header(path: &Path) -> Option<Header> {
    if !has_dicm_marker(path) {
        return None;
    }
    let (file, _) = crate::volume::dicom::open_full(path).ok()?;
    let mut obj = file.into_inner();
    obj.remove_element(tags::PIXEL_DATA);
    let p = get_f64s(&obj, tags::IMAGE_POSITION_PATIENT)?;
    let position = DVec3::new(*p.first()?, *p.get(1)?, *p.get(2)?);
    Some(Header {
        sop_class_uid: get_str(&obj, tags::SOP_CLASS_UID)?,
        sop_instance_uid: get_str(&obj, tags::SOP_INSTANCE_UID)?,
        position,
        obj,
    })
}

/// Reads the series `image` was loaded from at `path` (a folder, searched
/// recursively, or one file) and maps each image slice to its instance.
/// Fails, naming `path`, when the files do not make exactly that grid.
pub fn read_source(path: &Path, image: &Volume) -> Result<SourceSeries, SourceError> {
    let mut files = Vec::new();
    if path.is_dir() {
        collect_files(path, &mut files)?;
        files.sort();
    } else {
        files.push(path.to_owned());
    }
    let wanted = image.provenance.series_uid.as_deref();
    let headers: Vec<Header> = files
        .iter()
        .filter_map(|f| read_header(f))
        .filter(|h| {
            wanted.is_none_or(|w| get_str(&h.obj, tags::SERIES_INSTANCE_UID).as_deref() == Some(w))
        })
        .collect();
    let Some(first) = headers.first() else {
        return Err(mismatch(
            path,
            "no DICOM image of the image's series here: --image must be the DICOM series \
             (folder or file) the mask labels"
                .into(),
        ));
    };
    if get_int(&first.obj, tags::NUMBER_OF_FRAMES).is_some_and(|n| n > 1) {
        return Err(mismatch(
            path,
            "the source is a multi-frame object: only series of single-frame images are \
             supported"
                .into(),
        ));
    }
    let [ni, nj, nk] = image.shape;
    let rows = get_int(&first.obj, tags::ROWS).unwrap_or(0);
    let columns = get_int(&first.obj, tags::COLUMNS).unwrap_or(0);
    let (Ok(rows), Ok(columns)) = (u16::try_from(rows), u16::try_from(columns)) else {
        return Err(mismatch(path, "Rows or Columns out of range".into()));
    };
    if (usize::from(columns), usize::from(rows)) != (ni, nj) {
        return Err(mismatch(
            path,
            format!(
                "the series' images are {columns}×{rows} pixels but the image grid is {ni}×{nj}"
            ),
        ));
    }
    let orientation: [f64; 6] = get_f64s(&first.obj, tags::IMAGE_ORIENTATION_PATIENT)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| mismatch(path, "no ImageOrientationPatient".into()))?;
    let pixel_spacing_mm: [f64; 2] = get_f64s(&first.obj, tags::PIXEL_SPACING)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| mismatch(path, "no PixelSpacing".into()))?;
    let row = DVec3::new(orientation[0], orientation[1], orientation[2]);
    let col = DVec3::new(orientation[3], orientation[4], orientation[5]);
    let normal = row.cross(col).normalize_or_zero();

    let mut by_slice: Vec<Option<usize>> = vec![None; nk];
    for (n, h) in headers.iter().enumerate() {
        let at = image.index_from_ras(lps_to_ras(h.position));
        let k = at.z.round();
        let off = (at - DVec3::new(0.0, 0.0, k)).abs().max_element();
        if off > ON_GRID_VOXELS || k < 0.0 || k >= nk as f64 {
            return Err(mismatch(
                path,
                format!(
                    "an image of the series lies at voxel ({:.2}, {:.2}, {:.2}) of the image \
                     grid, not on one of its {nk} slices: the image was not loaded from this \
                     series, or its slices are irregular",
                    at.x, at.y, at.z
                ),
            ));
        }
        by_slice[k as usize].get_or_insert(n);
    }
    // The in-plane axes must be the files' rows and columns: the far corner
    // of a slice lands on the far corner of the grid.
    let corner = first.position
        + row * pixel_spacing_mm[1] * (ni as f64 - 1.0)
        + col * pixel_spacing_mm[0] * (nj as f64 - 1.0);
    let at = image.index_from_ras(lps_to_ras(corner));
    if (at.x - (ni as f64 - 1.0)).abs() > ON_GRID_VOXELS
        || (at.y - (nj as f64 - 1.0)).abs() > ON_GRID_VOXELS
    {
        return Err(mismatch(
            path,
            "the series' rows and columns do not run along the image grid's i and j axes".into(),
        ));
    }
    let mut slices = Vec::with_capacity(nk);
    let mut used = vec![false; headers.len()];
    for (k, n) in by_slice.iter().enumerate() {
        let Some(&n) = n.as_ref() else {
            return Err(mismatch(
                path,
                format!("no image of the series lies on slice {k} of the image grid"),
            ));
        };
        used[n] = true;
        let h = &headers[n];
        slices.push(SourceSlice {
            sop_class_uid: h.sop_class_uid.clone(),
            sop_instance_uid: h.sop_instance_uid.clone(),
            position_lps_mm: h.position.to_array(),
        });
    }
    let mut instances: Vec<(String, String)> = slices
        .iter()
        .map(|s| (s.sop_class_uid.clone(), s.sop_instance_uid.clone()))
        .collect();
    instances.extend(
        headers
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(h, _)| (h.sop_class_uid.clone(), h.sop_instance_uid.clone())),
    );
    let step_ras = image.ras_from_voxel.z_axis.truncate();
    let spacing_between_slices_mm = step_ras.dot(lps_to_ras(normal)).abs();
    let first_slice = &headers[by_slice[0].unwrap_or(0)];
    Ok(SourceSeries {
        series_uid: get_str(&first_slice.obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        rows,
        columns,
        orientation,
        pixel_spacing_mm,
        slice_thickness_mm: get_f64(&first_slice.obj, tags::SLICE_THICKNESS),
        spacing_between_slices_mm,
        slices,
        instances,
        header: first_slice.obj.clone(),
    })
}
