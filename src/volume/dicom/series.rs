//! Series folders: discovery (headers only), series choice, size checks,
//! then parallel decoding of the chosen files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use dicom_object::file::ReadPreamble;
use rayon::prelude::*;

use super::header::{ImageHeader, image_header};
use super::{decode, geometry, part10};
use crate::volume::{
    LoadError, LoadErrorKind, LoadOptions, Modality, Provenance, SeriesSummary, Volume,
};

/// One image file of the folder, from its header.
struct Candidate {
    path: PathBuf,
    hdr: ImageHeader,
}

const NO_UID: &str = "(no SeriesInstanceUID)";

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| LoadError::io(dir, e))?;
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        // Symlinked folders are not followed (no loops); symlinked files are.
        if kind.is_dir() {
            collect_files(&entry.path(), out)?;
        } else {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Header of a DICOM image file, read up to (not including) PixelData.
/// `None` for anything that is not a readable DICOM image.
fn read_candidate(path: &Path) -> Option<Candidate> {
    use std::io::Read;
    let mut head = Vec::with_capacity(136);
    std::fs::File::open(path)
        .ok()?
        .take(136)
        .read_to_end(&mut head)
        .ok()?;
    if !part10::could_be_dicom(&head) {
        return None;
    }
    // Whole file in memory so element lengths can be checked before parsing.
    let bytes = std::fs::read(path).ok()?;
    let part10 = part10::canonicalise(&bytes).ok()?;
    let obj = super::guard(|| {
        OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .read_preamble(ReadPreamble::Always)
            .from_reader(&part10.bytes[..])
    })
    .ok()?
    .ok()?;
    let hdr = image_header(&obj).ok()?;
    Some(Candidate {
        path: path.to_path_buf(),
        hdr,
    })
}

fn series_key(c: &Candidate) -> String {
    c.hdr.series_uid.clone().unwrap_or_else(|| NO_UID.into())
}

pub(crate) fn load_series_dir(dir: &Path, options: &LoadOptions) -> Result<Volume, LoadError> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    // Progress: the header scan is the first 30 %, decoding the rest.
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = |start: f32, span: f32, total: usize| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(p) = &options.progress {
            p.report(start + span * n as f32 / total.max(1) as f32);
        }
    };
    let candidates: Vec<Candidate> = files
        .par_iter()
        .filter_map(|p| {
            let c = read_candidate(p);
            tick(0.0, 0.3, files.len());
            c
        })
        .collect();
    if candidates.is_empty() {
        return Err(LoadError::new(dir, LoadErrorKind::NoDicom));
    }

    let mut by_series: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for c in candidates {
        by_series.entry(series_key(&c)).or_default().push(c);
    }
    let summaries: Vec<SeriesSummary> = by_series
        .iter()
        .map(|(uid, members)| SeriesSummary {
            series_uid: uid.clone(),
            images: members.len(),
            modality: members
                .first()
                .map(|c| c.hdr.modality.clone())
                .unwrap_or_default(),
            description: members
                .first()
                .map(|c| c.hdr.series_description.clone())
                .unwrap_or_default(),
        })
        .collect();
    let chosen_uid = match &options.series_uid {
        Some(wanted) => {
            if !by_series.contains_key(wanted.trim()) {
                let available: Vec<String> = summaries
                    .iter()
                    .map(|s| format!("{} ({} images, {})", s.series_uid, s.images, s.modality))
                    .collect();
                return Err(LoadError::new(
                    dir,
                    LoadErrorKind::BadOption(format!(
                        "series {wanted} is not in this folder; available: {}",
                        available.join("; ")
                    )),
                ));
            }
            wanted.trim().to_string()
        }
        // Most images; ties go to the smallest UID so the choice is stable.
        None => summaries
            .iter()
            .max_by(|a, b| {
                a.images
                    .cmp(&b.images)
                    .then(b.series_uid.cmp(&a.series_uid))
            })
            .map(|s| s.series_uid.clone())
            .unwrap_or_default(),
    };
    let other_series: Vec<SeriesSummary> = summaries
        .into_iter()
        .filter(|s| s.series_uid != chosen_uid)
        .collect();
    let mut members = by_series.remove(&chosen_uid).unwrap_or_default();

    let mut warnings = Vec::new();
    if !other_series.is_empty() {
        let list: Vec<String> = other_series
            .iter()
            .map(|s| format!("{} ({} images)", s.series_uid, s.images))
            .collect();
        warnings.push(format!(
            "folder holds {} other series, not loaded: {}",
            other_series.len(),
            list.join(", ")
        ));
    }

    // A series that is one multi-frame file loads as that file.
    if members.iter().any(|c| c.hdr.frames > 1) {
        if let [single] = members.as_slice() {
            let mut volume = super::load_dicom_file(&single.path, options)?;
            volume.warnings.splice(0..0, warnings);
            volume.provenance.other_series = other_series;
            return Ok(volume);
        }
        return Err(LoadError::new(
            dir,
            LoadErrorKind::Unsupported(format!(
                "series {chosen_uid} consists of several multi-frame files"
            )),
        ));
    }

    // Deterministic input order for ties; the geometry sort decides the rest.
    members.sort_by(|a, b| (a.hdr.instance_number, &a.path).cmp(&(b.hdr.instance_number, &b.path)));
    let geometries: Vec<_> = members.iter().map(|c| c.hdr.geometry).collect();
    let (kept, dropped) = geometry::filter_orientation(&geometries);
    warnings.extend(dropped);
    let members: Vec<Candidate> = members
        .into_iter()
        .enumerate()
        .filter(|(i, _)| kept.binary_search(i).is_ok())
        .map(|(_, c)| c)
        .collect();
    check_sizes(&members)?;

    let geometries: Vec<_> = members.iter().map(|c| c.hdr.geometry).collect();
    let stack = geometry::stack_geometry(&geometries, false);
    warnings.extend(stack.warnings);
    let ordered: Vec<&Candidate> = stack.order.iter().filter_map(|&i| members.get(i)).collect();
    let Some(first) = ordered.first() else {
        return Err(LoadError::new(dir, LoadErrorKind::NoDicom));
    };
    let (rows, columns) = (first.hdr.rows, first.hdr.columns);

    done.store(0, std::sync::atomic::Ordering::Relaxed);
    let decoded: Vec<(decode::StoredFrames<'static>, ImageHeader, Vec<String>)> = ordered
        .par_iter()
        .map(|c| {
            let d = decode_file(&c.path, rows, columns);
            tick(0.3, 0.7, ordered.len());
            d
        })
        .collect::<Result<_, _>>()?;
    let slices: Vec<_> = decoded
        .iter()
        .map(|(frames, hdr, _)| decode::Slice {
            frames,
            index: 0,
            rescale: hdr.rescale,
        })
        .collect();
    // What was tolerated in each file, said once however many files share it.
    for (_, _, tolerated) in &decoded {
        for w in tolerated {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
    }
    let Some((_, hdr0, _)) = decoded.first() else {
        return Err(LoadError::new(dir, LoadErrorKind::NoDicom));
    };
    let data = decode::assemble(&slices, hdr0).map_err(|e| LoadError::new(dir, e))?;
    let shape = [columns as usize, rows as usize, decoded.len()];
    let mut volume = Volume::new(
        shape,
        data,
        stack.ras_from_voxel,
        Modality::from_dicom_code(&hdr0.modality),
    )
    .map_err(|e| LoadError::new(dir, e.into()))?;
    volume.warnings.splice(0..0, warnings);
    volume.provenance = Provenance {
        format: "dicom-series".into(),
        volumes_in_source: 1,
        volume_index: 0,
        series_uid: hdr0.series_uid.clone(),
        other_series,
        transfer_syntax: None,
    };
    let syntaxes: std::collections::BTreeSet<&str> = decoded
        .iter()
        .map(|(_, h, _)| h.transfer_syntax.as_str())
        .collect();
    volume.provenance.transfer_syntax = Some(syntaxes.into_iter().collect::<Vec<_>>().join(", "));
    Ok(volume)
}

/// All images must share Rows × Columns; the odd one out is named.
fn check_sizes(members: &[Candidate]) -> Result<(), LoadError> {
    let mut counts: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    for c in members {
        *counts.entry((c.hdr.rows, c.hdr.columns)).or_default() += 1;
    }
    let Some((&(rows, cols), _)) = counts.iter().max_by_key(|(_, n)| **n) else {
        return Ok(());
    };
    match members
        .iter()
        .find(|c| (c.hdr.rows, c.hdr.columns) != (rows, cols))
    {
        None => Ok(()),
        Some(odd) => Err(LoadError::new(
            &odd.path,
            LoadErrorKind::InconsistentSeries(format!(
                "{} is {} rows × {} columns but the other images of series {} are {rows} × {cols}",
                odd.path.display(),
                odd.hdr.rows,
                odd.hdr.columns,
                series_key(odd)
            )),
        )),
    }
}

fn decode_file(
    path: &Path,
    rows: u32,
    columns: u32,
) -> Result<(decode::StoredFrames<'static>, ImageHeader, Vec<String>), LoadError> {
    let (obj, mut tolerated) = super::open_full(path)?;
    let fail = |kind| LoadError::new(path, kind);
    let (mut hdr, ts) = super::checked_header(&obj).map_err(fail)?;
    if (hdr.rows, hdr.columns) != (rows, columns) {
        return Err(fail(LoadErrorKind::InconsistentSeries(format!(
            "{} rows × {} columns, the series is {rows} × {columns}",
            hdr.rows, hdr.columns
        ))));
    }
    hdr.transfer_syntax = ts;
    tolerated.append(&mut hdr.warnings);
    let frames = decode::decode_frames(&obj, &hdr)
        .map_err(fail)?
        .into_owned();
    Ok((frames, hdr, tolerated))
}
