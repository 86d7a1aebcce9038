//! Label maps on disk: one reader and one writer for every label-map format,
//! chosen by the file name's extension or by an explicit format name (the
//! CLI's `--format`).
//!
//! | format | extensions | label names, colours, terminology, review |
//! |---|---|---|
//! | NIfTI-1 | `.nii`, `.nii.gz` | JSON sidecar (`<name>.labels.json`) |
//! | NRRD | `.nrrd`, `.nhdr` | JSON sidecar |
//! | MetaImage | `.mha`, `.mhd` | JSON sidecar |
//! | 3D Slicer segmentation | `.seg.nrrd`, `.seg.nhdr` | the NRRD header, as Slicer keeps them |
//!
//! Every label map is one u8 label per voxel of the image being labelled
//! (`labels[i + ni·(j + nj·k)]`); readers copy a file on the image's grid (a
//! Slicer segmentation may be a box of it, as Slicer crops to its segments'
//! extent) and resample any other grid onto it by nearest neighbour in world
//! space, with a warning ([`resample`]); writers give the file the image's
//! geometry. Without a sidecar, names come from an ITK-SNAP file, an nnU-Net
//! `dataset.json` or TotalSegmentator's header extension
//! ([`label_files`]). Writes are atomic (a temporary file in the same folder,
//! then a rename).

pub mod dicom_seg;
mod grid;
mod metaimage;
mod nifti;
mod nrrd;
mod resample;
mod seg_nrrd;

use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use grid::{GridError, MAX_LABEL, Placement, labels_on_grid};
pub use nifti::{NiftiExtension, embedded_names, nifti_extensions};
pub use resample::{
    GridGeometry, OnImageGrid, labels_onto_image, resample_nearest, resample_onto_image,
};

use crate::annotate::label_files::{self, LabelFileError};
use crate::annotate::labels::LabelSet;
use crate::volume::{LoadError, LoadOptions, Volume};

/// A label-map file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabelFormat {
    /// NIfTI-1 u8 (`.nii`, `.nii.gz`) and a JSON sidecar.
    Nifti,
    /// 3D Slicer segmentation (`.seg.nrrd`): segments in the NRRD header.
    SegNrrd,
    /// Plain u8 NRRD (`.nrrd`, `.nhdr`) and a JSON sidecar.
    Nrrd,
    /// MetaImage u8 (`.mha`, `.mhd`) and a JSON sidecar.
    MetaImage,
}

/// What a label-map file held, on the image's grid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelMapFile {
    /// One label per image voxel, `i` fastest.
    pub labels: Vec<u8>,
    /// Names, colours, terminology and review status, where the file (or its
    /// sidecar) has them.
    pub label_set: Option<LabelSet>,
    /// What the reader wants the user to know (overlapping segments
    /// flattened, values renumbered, loader warnings).
    pub warnings: Vec<String>,
}

#[derive(Debug, Error)]
pub enum LabelFormatError {
    #[error(
        "{}: not a known label-map format (the name ends in none of .nii, .nii.gz, .seg.nrrd, \
         .nrrd, .nhdr, .mha, .mhd; give the format by name)",
        path.display()
    )]
    UnknownExtension { path: PathBuf },
    #[error("unknown label-map format {name:?}: one of nifti, seg.nrrd, nrrd, metaimage")]
    UnknownFormat { name: String },
    #[error("{}: the name says {named} but {asked} was asked for", path.display())]
    FormatMismatch {
        path: PathBuf,
        named: LabelFormat,
        asked: LabelFormat,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    LabelFile(#[from] LabelFileError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Grid {
        path: PathBuf,
        #[source]
        source: GridError,
    },
    /// A Slicer segmentation whose header fields make no sense.
    #[error("{}: {message}", path.display())]
    Segmentation { path: PathBuf, message: String },
    #[error("{}: label map has {got} voxels but the image grid {shape:?} has {want}", path.display())]
    Size {
        path: PathBuf,
        got: usize,
        want: usize,
        shape: [usize; 3],
    },
    /// Something the format cannot hold.
    #[error("{}: {message}", path.display())]
    Unwritable { path: PathBuf, message: String },
    #[error("{}: is the image being labelled; refusing to overwrite it", path.display())]
    OverwritesImage { path: PathBuf },
}

impl LabelFormatError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        LabelFormatError::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn grid(path: &Path, source: GridError) -> Self {
        LabelFormatError::Grid {
            path: path.to_owned(),
            source,
        }
    }
}

impl LabelFormat {
    pub const ALL: [LabelFormat; 4] = [
        LabelFormat::Nifti,
        LabelFormat::SegNrrd,
        LabelFormat::Nrrd,
        LabelFormat::MetaImage,
    ];

    /// The format a file name's extension names (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Self, LabelFormatError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let ends = |suffixes: &[&str]| suffixes.iter().any(|s| name.ends_with(s));
        if ends(&[".seg.nrrd", ".seg.nhdr"]) {
            Ok(LabelFormat::SegNrrd)
        } else if ends(&[".nii", ".nii.gz"]) {
            Ok(LabelFormat::Nifti)
        } else if ends(&[".nrrd", ".nhdr"]) {
            Ok(LabelFormat::Nrrd)
        } else if ends(&[".mha", ".mhd"]) {
            Ok(LabelFormat::MetaImage)
        } else {
            Err(LabelFormatError::UnknownExtension {
                path: path.to_owned(),
            })
        }
    }

    /// The format a name gives: `nifti`, `seg.nrrd` (or `slicer`), `nrrd`,
    /// `metaimage`, or any of their extensions; case-insensitive, a leading
    /// dot allowed.
    pub fn from_name(name: &str) -> Result<Self, LabelFormatError> {
        let key = name.trim().trim_start_matches('.').to_ascii_lowercase();
        match key.as_str() {
            "nifti" | "nii" | "nii.gz" => Ok(LabelFormat::Nifti),
            "seg.nrrd" | "seg-nrrd" | "segnrrd" | "seg.nhdr" | "slicer" => Ok(LabelFormat::SegNrrd),
            "nrrd" | "nhdr" => Ok(LabelFormat::Nrrd),
            "metaimage" | "mha" | "mhd" => Ok(LabelFormat::MetaImage),
            _ => Err(LabelFormatError::UnknownFormat { name: name.into() }),
        }
    }

    /// The name [`Self::from_name`] takes.
    pub fn name(self) -> &'static str {
        match self {
            LabelFormat::Nifti => "nifti",
            LabelFormat::SegNrrd => "seg.nrrd",
            LabelFormat::Nrrd => "nrrd",
            LabelFormat::MetaImage => "metaimage",
        }
    }

    /// The usual extension (no leading dot) of a file written in this format.
    pub fn extension(self) -> &'static str {
        match self {
            LabelFormat::Nifti => "nii.gz",
            LabelFormat::SegNrrd => "seg.nrrd",
            LabelFormat::Nrrd => "nrrd",
            LabelFormat::MetaImage => "mha",
        }
    }

    /// True when label names and colours go to a JSON sidecar (every format
    /// but Slicer's, which keeps them in its header).
    pub fn uses_sidecar(self) -> bool {
        self != LabelFormat::SegNrrd
    }

    /// Formats whose files share a container: a Slicer segmentation is a NRRD
    /// file (Slicer reads and writes plain `.nrrd` segmentations too).
    fn family(self) -> u8 {
        match self {
            LabelFormat::Nifti => 0,
            LabelFormat::SegNrrd | LabelFormat::Nrrd => 1,
            LabelFormat::MetaImage => 2,
        }
    }
}

impl std::fmt::Display for LabelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for LabelFormat {
    type Err = LabelFormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabelFormat::from_name(s)
    }
}

/// The format a label map written to `path` gets: `asked`, unless the name
/// says a format of another container (`out.nii.gz` as NRRD), else the
/// extension's. Callers check it before long work whose result it saves.
pub fn output_format(
    path: &Path,
    asked: Option<LabelFormat>,
) -> Result<LabelFormat, LabelFormatError> {
    resolve(path, asked)
}

fn resolve(path: &Path, asked: Option<LabelFormat>) -> Result<LabelFormat, LabelFormatError> {
    let named = LabelFormat::from_path(path);
    match (asked, named) {
        (None, named) => named,
        (Some(asked), Ok(named)) if named.family() != asked.family() => {
            Err(LabelFormatError::FormatMismatch {
                path: path.to_owned(),
                named,
                asked,
            })
        }
        (Some(asked), _) => Ok(asked),
    }
}

/// Reads a label map onto `image`'s grid. The format is `format`, else the
/// extension's; a file whose name has no label-map extension is read when
/// its first bytes are NRRD, MetaImage, NIfTI or DICOM (`DICM` at byte 128),
/// and is [`LabelFormatError::UnknownExtension`] otherwise.
///
/// A NRRD file holding 3D Slicer segment fields is read as a segmentation
/// whatever its name (Slicer writes plain `.nrrd` segmentations too).
pub fn read_label_map(
    path: &Path,
    image: &Volume,
    format: Option<LabelFormat>,
) -> Result<LabelMapFile, LabelFormatError> {
    let format = match resolve(path, format) {
        Ok(f) => f,
        Err(e @ LabelFormatError::UnknownExtension { .. }) => return read_unnamed(path, image, e),
        Err(e) => return Err(e),
    };
    match format {
        LabelFormat::Nifti => nifti::read(path, image),
        LabelFormat::SegNrrd | LabelFormat::Nrrd => nrrd::read(path, image),
        LabelFormat::MetaImage => metaimage::read(path, image),
    }
}

/// Reads a label map on its own grid, with no image to label: `compare`,
/// `consensus` and `provenance` take label maps alone. The grid is the file's
/// (returned as the volume read from it; its values are the labels).
pub fn read_label_map_alone(
    path: &Path,
    format: Option<LabelFormat>,
) -> Result<(Volume, LabelMapFile), LabelFormatError> {
    // A Segmentation's own grid is its frames', not what the image loader makes of it.
    if dicom_seg::is_segmentation_file(path) {
        return dicom_seg::read_alone(path);
    }
    let grid = crate::volume::load(path, &LoadOptions::default())?;
    let file = read_label_map(path, &grid, format)?;
    Ok((grid, file))
}

/// A file without a label-map extension: by its first bytes.
fn read_unnamed(
    path: &Path,
    image: &Volume,
    unknown: LabelFormatError,
) -> Result<LabelMapFile, LabelFormatError> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1024).read_to_end(&mut head))
        .map_err(|e| LabelFormatError::io(path, e))?;
    if crate::volume::nrrd::looks_like_nrrd(&head) {
        nrrd::read(path, image)
    } else if crate::volume::metaimage::looks_like_metaimage(&head) {
        metaimage::read(path, image)
    } else if crate::volume::nifti::looks_like_nifti(&head) {
        nifti::read(path, image)
    } else if head.get(128..132) == Some(b"DICM") {
        if dicom_seg::is_segmentation_file(path) {
            return dicom_seg::read(path, image);
        }
        let volume = crate::volume::dicom::load_dicom_file(path, &LoadOptions::default())?;
        plain(path, image, volume)
    } else {
        Err(unknown)
    }
}

/// A label map read as a volume, put on the image grid (copied when it is
/// the image grid, else resampled by nearest neighbour with a warning), with
/// names from the sidecar, an ITK-SNAP file beside it, an nnU-Net
/// `dataset.json`, or a TotalSegmentator label table in its NIfTI header, in
/// that order (see [`label_files`]).
fn plain(path: &Path, image: &Volume, volume: Volume) -> Result<LabelMapFile, LabelFormatError> {
    let on_image =
        resample::labels_onto_image(image, &volume).map_err(|e| LabelFormatError::grid(path, e))?;
    let mut warnings = volume.warnings;
    warnings.extend(on_image.warnings);
    let names = match label_files::find_names(path, &mut warnings)? {
        Some(names) => Some(names),
        None => nifti::embedded_names(path, &mut warnings),
    };
    let label_set = names.map(|names| {
        if names.source != label_files::NamesSource::Sidecar {
            warnings.push(names.note());
        }
        warnings.extend(names.warnings);
        names.label_set
    });
    Ok(LabelMapFile {
        labels: on_image.labels,
        label_set,
        warnings,
    })
}

/// Writes `labels` (one per voxel of `image`) and `label_set` as `format`,
/// else as the extension says; returns the files written (the label map, a
/// detached data file where the format has one, the sidecar). Unknown
/// extensions without a format, and a format whose container the name
/// contradicts (`out.nii.gz` as NRRD), are errors.
pub fn write_label_map(
    path: &Path,
    labels: &[u8],
    label_set: &LabelSet,
    image: &Volume,
    format: Option<LabelFormat>,
) -> Result<Vec<PathBuf>, LabelFormatError> {
    let format = resolve(path, format)?;
    if labels.len() != image.voxel_count() {
        return Err(LabelFormatError::Size {
            path: path.to_owned(),
            got: labels.len(),
            want: image.voxel_count(),
            shape: image.shape,
        });
    }
    label_files::validate(label_set, path)?;
    let mut written = match format {
        LabelFormat::Nifti => nifti::write(path, labels, image)?,
        LabelFormat::SegNrrd => seg_nrrd::write(path, labels, label_set, image)?,
        LabelFormat::Nrrd => nrrd::write(path, labels, image, &[])?,
        LabelFormat::MetaImage => metaimage::write(path, labels, image)?,
    };
    if format.uses_sidecar() {
        written.push(label_files::save_sidecar(path, label_set)?);
    }
    Ok(written)
}

/// Refuses to write a label map over the image it labels.
pub fn ensure_not_image(output: &Path, image: &Path) -> Result<(), LabelFormatError> {
    let same = match (output.canonicalize(), image.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => output == image,
    };
    if same {
        return Err(LabelFormatError::OverwritesImage {
            path: output.to_owned(),
        });
    }
    Ok(())
}

/// zlib level of compressed label maps (as the NIfTI writer's: see there).
const COMPRESSION_LEVEL: u32 = 4;
/// Bytes per independently compressed gzip piece (as the NIfTI writer's).
const GZIP_CHUNK: usize = 1 << 20;

/// Writes `path` atomically: `write` fills a temporary file in the same
/// folder, which then replaces `path`.
fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), LabelFormatError> {
    let io = |e| LabelFormatError::io(path, e);
    let mut tmp = crate::atomic_file::temp_file_for(path).map_err(io)?;
    {
        let mut out = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut out).map_err(io)?;
        out.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// `x` as the shortest decimal that reads back exactly, without `-0`.
fn num(x: f64) -> String {
    format!("{}", if x == 0.0 { 0.0 } else { x })
}

/// `path` with its last `suffix` (matched case-insensitively) replaced by
/// `with`: the detached data file next to a `.nhdr` or `.mhd`.
fn sibling(path: &Path, suffix: &str, with: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = if name.to_ascii_lowercase().ends_with(suffix) {
        &name[..name.len() - suffix.len()]
    } else {
        name.as_str()
    };
    path.with_file_name(format!("{stem}{with}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names_and_paths() {
        for f in LabelFormat::ALL {
            assert_eq!(LabelFormat::from_name(f.name()).unwrap(), f);
            let p = PathBuf::from(format!("a/labels.{}", f.extension()));
            assert_eq!(LabelFormat::from_path(&p).unwrap(), f);
        }
        assert_eq!(
            LabelFormat::from_path(Path::new("X.SEG.NRRD")).unwrap(),
            LabelFormat::SegNrrd
        );
        assert_eq!(
            LabelFormat::from_path(Path::new("x.nhdr")).unwrap(),
            LabelFormat::Nrrd
        );
        assert_eq!(
            ".MHD".parse::<LabelFormat>().unwrap(),
            LabelFormat::MetaImage
        );
        let e = LabelFormat::from_path(Path::new("dir/out.png")).unwrap_err();
        assert!(e.to_string().contains("dir/out.png"), "{e}");
        assert!(LabelFormat::from_name("png").is_err());
    }

    #[test]
    fn explicit_formats_must_fit_the_container() {
        let nii = Path::new("out.nii.gz");
        assert!(matches!(
            resolve(nii, Some(LabelFormat::Nrrd)),
            Err(LabelFormatError::FormatMismatch { .. })
        ));
        assert_eq!(
            resolve(Path::new("out.nrrd"), Some(LabelFormat::SegNrrd)).unwrap(),
            LabelFormat::SegNrrd
        );
        assert_eq!(
            resolve(Path::new("out.labels"), Some(LabelFormat::MetaImage)).unwrap(),
            LabelFormat::MetaImage
        );
    }

    #[test]
    fn siblings_and_numbers() {
        assert_eq!(
            sibling(Path::new("d/x.NHDR"), ".nhdr", ".raw.gz"),
            Path::new("d/x.raw.gz")
        );
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(-3.0468759536743195), "-3.0468759536743195");
    }
}
