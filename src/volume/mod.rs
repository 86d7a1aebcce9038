//! The CPU-side volume model: voxel values on a grid plus the geometry that
//! places that grid in patient space. Nothing here knows about GPUs or windows.

pub mod dicom;
mod error;
pub mod metaimage;
pub mod nifti;
pub mod nrrd;
pub mod phantom;
pub mod raw;
pub mod rescale;
mod stats;
pub mod summary;

use std::path::Path;

use glam::{DMat4, DVec3};

pub use error::{LoadError, LoadErrorKind, VolumeError};
pub use stats::ValueStats;

/// Voxel values, `i` fastest, then `j`, then `k` (index = i + ni·(j + nj·k)).
///
/// The stored integer type is kept when no scaling applies. Where a rescale
/// slope or intercept is not an integer, values are widened to `F64` so no
/// precision is lost (the same choice nibabel and SimpleITK make).
#[derive(Clone, PartialEq)]
pub enum VoxelData {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

macro_rules! each_variant {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::volume::VoxelData::U8($v) => $body,
            $crate::volume::VoxelData::I8($v) => $body,
            $crate::volume::VoxelData::U16($v) => $body,
            $crate::volume::VoxelData::I16($v) => $body,
            $crate::volume::VoxelData::U32($v) => $body,
            $crate::volume::VoxelData::I32($v) => $body,
            $crate::volume::VoxelData::F32($v) => $body,
            $crate::volume::VoxelData::F64($v) => $body,
        }
    };
}
pub(crate) use each_variant;

/// Only the type and length: a volume's values would flood any log.
impl std::fmt::Debug for VoxelData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.type_name(), self.len())
    }
}

impl VoxelData {
    pub fn len(&self) -> usize {
        each_variant!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value at a linear index as f64 (exact for every stored type).
    #[allow(clippy::unnecessary_cast)] // the macro's f64 arm casts f64 to f64
    pub fn get_f64(&self, index: usize) -> Option<f64> {
        each_variant!(self, v => v.get(index).map(|&x| x as f64))
    }

    /// Name of the stored element type, as numpy spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            VoxelData::U8(_) => "uint8",
            VoxelData::I8(_) => "int8",
            VoxelData::U16(_) => "uint16",
            VoxelData::I16(_) => "int16",
            VoxelData::U32(_) => "uint32",
            VoxelData::I32(_) => "int32",
            VoxelData::F32(_) => "float32",
            VoxelData::F64(_) => "float64",
        }
    }

    pub fn bytes_per_voxel(&self) -> usize {
        match self {
            VoxelData::U8(_) | VoxelData::I8(_) => 1,
            VoxelData::U16(_) | VoxelData::I16(_) => 2,
            VoxelData::U32(_) | VoxelData::I32(_) | VoxelData::F32(_) => 4,
            VoxelData::F64(_) => 8,
        }
    }

    /// Copies every value out as f32 (for display paths that want floats).
    #[allow(clippy::unnecessary_cast)] // the macro's f32 arm casts f32 to f32
    pub fn to_f32_vec(&self) -> Vec<f32> {
        each_variant!(self, v => v.iter().map(|&x| x as f32).collect())
    }
}

/// Imaging modality as far as the file tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modality {
    Ct,
    Mr,
    Other(String),
    /// NIfTI carries no modality.
    Unknown,
}

impl Modality {
    pub fn from_dicom_code(code: &str) -> Self {
        match code.trim() {
            "CT" => Modality::Ct,
            "MR" => Modality::Mr,
            "" => Modality::Unknown,
            other => Modality::Other(other.to_string()),
        }
    }

    /// The unit of the scaled values: Hounsfield units for CT only; MR and
    /// unknown images have plain values.
    pub fn value_unit(&self) -> Option<&'static str> {
        match self {
            Modality::Ct => Some("HU"),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Modality::Ct => "CT",
            Modality::Mr => "MR",
            Modality::Other(s) => s,
            Modality::Unknown => "unknown",
        }
    }
}

/// One series found in a DICOM folder (for the list of series not loaded).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SeriesSummary {
    pub series_uid: String,
    pub images: usize,
    pub modality: String,
    pub description: String,
}

/// Where a volume came from. No patient-identifying metadata is kept.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    /// "nifti-1", "nifti-2", "nrrd", "metaimage", "dicom", "dicom-multiframe",
    /// "dicom-series", "phantom".
    pub format: String,
    /// Number of volumes (4th dimension) in the source; 1 for 3-D data.
    pub volumes_in_source: usize,
    pub volume_index: usize,
    pub series_uid: Option<String>,
    /// Other series in the same folder that were not loaded.
    pub other_series: Vec<SeriesSummary>,
    pub transfer_syntax: Option<String>,
}

/// A 3-D scalar image with exact geometry.
#[derive(Clone, Debug)]
pub struct Volume {
    /// Grid size (i, j, k).
    pub shape: [usize; 3],
    pub data: VoxelData,
    /// Voxel size along i, j, k in millimetres (column norms of `ras_from_voxel`).
    pub spacing_mm: [f64; 3],
    /// Voxel index (i, j, k, 1) to RAS+ millimetres; nibabel's "affine".
    pub ras_from_voxel: DMat4,
    pub modality: Modality,
    /// Irregularities a reader must know about (tilt, gaps, fallbacks, ...).
    /// Loaders put theirs before the ones [`Volume::new`] adds (NaN voxels).
    pub warnings: Vec<String>,
    pub provenance: Provenance,
    stats: ValueStats,
}

/// Checked product of the grid dimensions.
pub fn voxel_count(shape: [usize; 3]) -> Option<usize> {
    shape[0].checked_mul(shape[1])?.checked_mul(shape[2])
}

impl Volume {
    /// Builds a volume, checking that the data fills the grid exactly.
    /// Spacing is derived from the matrix so the two can never disagree.
    pub fn new(
        shape: [usize; 3],
        data: VoxelData,
        ras_from_voxel: DMat4,
        modality: Modality,
    ) -> Result<Self, VolumeError> {
        let n = voxel_count(shape).ok_or(VolumeError::Overflow(shape))?;
        if n == 0 {
            return Err(VolumeError::Empty(shape));
        }
        if data.len() != n {
            return Err(VolumeError::SizeMismatch {
                shape,
                needed: n,
                decoded: data.len(),
            });
        }
        if !ras_from_voxel.to_cols_array().iter().all(|x| x.is_finite()) {
            return Err(VolumeError::NonFiniteMatrix);
        }
        let spacing_mm = spacing_from_matrix(&ras_from_voxel);
        let stats = ValueStats::compute(&data);
        let mut warnings = Vec::new();
        if stats.nan > 0 {
            warnings.push(format!(
                "{} of {n} voxels are NaN (not a number): left out of min, max, mean, sum \
                 and nonzero",
                stats.nan
            ));
        }
        Ok(Volume {
            shape,
            data,
            spacing_mm,
            ras_from_voxel,
            modality,
            warnings,
            provenance: Provenance::default(),
            stats,
        })
    }

    pub fn voxel_count(&self) -> usize {
        self.data.len()
    }

    pub fn stats(&self) -> &ValueStats {
        &self.stats
    }

    /// (min, max) of the values after scaling.
    pub fn value_range(&self) -> (f64, f64) {
        (self.stats.min, self.stats.max)
    }

    pub fn linear_index(&self, ijk: [usize; 3]) -> Option<usize> {
        let [ni, nj, nk] = self.shape;
        (ijk[0] < ni && ijk[1] < nj && ijk[2] < nk).then(|| ijk[0] + ni * (ijk[1] + nj * ijk[2]))
    }

    pub fn value_at(&self, ijk: [usize; 3]) -> Option<f64> {
        self.data.get_f64(self.linear_index(ijk)?)
    }

    /// World position (RAS mm) of a voxel centre or any continuous index.
    pub fn ras_from_index(&self, ijk: DVec3) -> DVec3 {
        self.ras_from_voxel.transform_point3(ijk)
    }

    /// Continuous voxel index of a RAS point.
    pub fn index_from_ras(&self, ras_mm: DVec3) -> DVec3 {
        self.ras_from_voxel.inverse().transform_point3(ras_mm)
    }

    /// Volume of one voxel in mm³ (|det| of the 3×3 part, so oblique grids are right).
    pub fn voxel_volume_mm3(&self) -> f64 {
        glam::DMat3::from_mat4(self.ras_from_voxel)
            .determinant()
            .abs()
    }
}

pub fn spacing_from_matrix(m: &DMat4) -> [f64; 3] {
    [
        m.x_axis.truncate().length(),
        m.y_axis.truncate().length(),
        m.z_axis.truncate().length(),
    ]
}

/// Options for [`load`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Which volume of a 4-D file (0-based).
    pub volume_index: usize,
    /// Which series of a DICOM folder; default: the one with the most images.
    pub series_uid: Option<String>,
    /// Told the fraction done (0..=1) where a loader can know it (DICOM
    /// series: files scanned, then slices decoded).
    pub progress: Option<Progress>,
}

/// A progress callback, callable from loader worker threads.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(f32) + Send + Sync>);

impl Progress {
    pub fn report(&self, fraction: f32) {
        (self.0)(fraction.clamp(0.0, 1.0));
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// The file formats [`load`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Nifti,
    Dicom,
    Nrrd,
    MetaImage,
}

impl Format {
    /// The format a file name's extension names, if it names one. DICOM
    /// files often have no extension at all, so DICOM is never chosen here.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let ends = |suffixes: &[&str]| suffixes.iter().any(|s| name.ends_with(s));
        if ends(&[".nii", ".nii.gz"]) {
            Some(Format::Nifti)
        } else if ends(&[".nrrd", ".nhdr"]) {
            Some(Format::Nrrd)
        } else if ends(&[".mha", ".mhd"]) {
            Some(Format::MetaImage)
        } else {
            None
        }
    }

    /// The format the first bytes of a file show; DICOM when none matches
    /// (its reader says why the bytes are not DICOM either).
    pub fn sniff(head: &[u8]) -> Format {
        if nrrd::looks_like_nrrd(head) {
            Format::Nrrd
        } else if metaimage::looks_like_metaimage(head) {
            Format::MetaImage
        } else if nifti::looks_like_nifti(head) {
            Format::Nifti
        } else {
            Format::Dicom
        }
    }
}

/// Loads a NIfTI, NRRD or MetaImage file, a DICOM file, or a folder holding
/// a DICOM series. The format comes from the extension (`.nii`, `.nii.gz`,
/// `.nrrd`, `.nhdr`, `.mha`, `.mhd`), else from the file's first bytes.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError::io(path, e))?;
    if meta.is_dir() {
        return dicom::load_series_dir(path, options);
    }
    let format = match Format::from_extension(path) {
        Some(format) => format,
        None => Format::sniff(&read_head(path, 1024)?),
    };
    match format {
        Format::Nifti => nifti::load_nifti_file(path, options),
        Format::Nrrd => nrrd::load_nrrd_file(path, options),
        Format::MetaImage => metaimage::load_metaimage_file(path, options),
        Format::Dicom => dicom::load_dicom_file(path, options),
    }
}

/// Up to `len` first bytes of a file.
fn read_head(path: &Path, len: u64) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
    let mut head = Vec::new();
    file.take(len)
        .read_to_end(&mut head)
        .map_err(|e| LoadError::io(path, e))?;
    Ok(head)
}
