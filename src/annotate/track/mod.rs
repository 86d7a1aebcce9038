//! Lesion tracking over time points and response assessment (RECIST 1.1 and
//! volumetric).
//!
//! Each time point is a label map on its own scan's grid. Lesions are the
//! connected components of each label (or each label value, `by_label`);
//! follow-up lesions are matched to the lesions tracked so far (see
//! [`matching`]) in baseline space, through caller-supplied transforms:
//! registration is the caller's job. Every follow-up is matched against each
//! lesion's latest appearance, so a lesion that vanishes and comes back
//! keeps its id. Responses: [`recist`] and [`volumetric`].

pub mod lesions;
pub mod matching;
pub mod measure;
pub mod recist;
pub mod report;
pub mod volumetric;

use glam::DMat4;
use thiserror::Error;

use crate::annotate::effects::mask::Neighbours;
use crate::volume::Volume;
use lesions::{Component, find_lesions};
use matching::{Appearance, Link, match_lesions, to_baseline};
use measure::{Measurement, combine, measure, slice_thickness_mm, voxel_volume_ml};
use recist::{
    Category, RECIST_1_1, Sums, Thresholds, measurable_min_mm, non_target_response,
    overall_response, target_response,
};
use report::{
    Categories, LesionAt, LesionTrack, MatchedBy, OptionsReport, RecistResponse, Status,
    TimePointInfo, TimePointResponse, TrackReport, VolumetricResponse, percent,
};
use volumetric::VOLUMETRIC;

/// RECIST 1.1: at most 5 target lesions (section 4.2).
pub const MAX_TARGETS: usize = 5;

/// Default centroid distance within which unmatched lesions are paired.
pub const DEFAULT_MATCH_DISTANCE_MM: f64 = 10.0;

const MATCHING: &str = "follow-up voxel centres mapped to the nearest baseline voxel; pairs \
    taken greedily by shared voxels (largest first, one to one); a left-over component \
    overlapping a matched lesion is a fragment of it (long axes added); a left-over lesion \
    overlapping a matched component has merged into it; the rest paired greedily by centroid \
    distance within the threshold; each follow-up against every lesion's latest appearance";

/// One time point: a label map on its scan's grid.
#[derive(Clone, Debug, PartialEq)]
pub struct TimePoint {
    /// Shown in the report (a file name, a date).
    pub name: String,
    pub shape: [usize; 3],
    /// Voxel index to this scan's RAS mm.
    pub ras_from_voxel: DMat4,
    /// One label per voxel, i fastest.
    pub labels: Vec<u8>,
}

impl TimePoint {
    /// A label map on `image`'s grid.
    pub fn on_grid_of(name: impl Into<String>, image: &Volume, labels: Vec<u8>) -> TimePoint {
        TimePoint {
            name: name.into(),
            shape: image.shape,
            ras_from_voxel: image.ras_from_voxel,
            labels,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Connectivity {
    /// Faces (scipy.ndimage.label's and ITK's default).
    #[default]
    Six,
    /// Faces, edges and corners.
    TwentySix,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrackOptions {
    /// Each label value is one lesion, its id across time points.
    pub by_label: bool,
    pub connectivity: Connectivity,
    /// Centroid distance (baseline RAS) within which lesions left unmatched
    /// by overlap are paired.
    pub match_distance_mm: f64,
    /// Target lesion ids (baseline lesions, at most 5) in place of the
    /// largest measurable ones; not checked for measurability: a reader's
    /// choice.
    pub targets: Option<Vec<u32>>,
}

impl Default for TrackOptions {
    fn default() -> Self {
        TrackOptions {
            by_label: false,
            connectivity: Connectivity::Six,
            match_distance_mm: DEFAULT_MATCH_DISTANCE_MM,
            targets: None,
        }
    }
}

#[derive(Debug, Error)]
pub enum TrackError {
    #[error("no time points")]
    NoTimePoints,
    #[error("{got} transforms for {want} follow-up time points (one per follow-up)")]
    TransformCount { got: usize, want: usize },
    #[error(
        "time point {index} ({name}): label map has {got} voxels but its grid {shape:?} has {want}"
    )]
    GridMismatch {
        index: usize,
        name: String,
        got: usize,
        want: usize,
        shape: [usize; 3],
    },
    #[error("time point {index} ({name}): voxel-to-RAS matrix is not finite and invertible")]
    BadGrid { index: usize, name: String },
    #[error("transform of follow-up {index} is not finite and invertible")]
    BadTransform { index: usize },
    #[error("match distance {0} mm is not a finite number >= 0")]
    BadMatchDistance(f64),
    #[error("target {id} is not a baseline lesion (baseline lesions: {available:?})")]
    UnknownTarget { id: u32, available: Vec<u32> },
    #[error("target {0} given twice")]
    DuplicateTarget(u32),
    #[error("{0} targets given; RECIST 1.1 allows at most {MAX_TARGETS}")]
    TooManyTargets(usize),
}

fn invertible(m: &DMat4) -> bool {
    m.is_finite()
        && {
            let d = m.determinant();
            d.is_finite() && d.abs() > 1e-12
        }
        && m.row(3) == glam::DVec4::W
}

/// A component's track (index into the tracks) and how it joined it.
type TrackLink = (usize, MatchedBy);

/// One lesion across time points while tracking.
struct Track {
    id: u32,
    label: u8,
    first: usize,
    /// Latest appearance in baseline space.
    last: Appearance,
    entries: Vec<LesionAt>,
}

impl Track {
    fn present_at(&self, t: usize) -> bool {
        t >= self.first && self.entries[t - self.first].status.present()
    }
    fn at(&self, t: usize) -> Option<&LesionAt> {
        t.checked_sub(self.first).and_then(|i| self.entries.get(i))
    }
}

fn entry(t: usize, status: Status, m: Measurement, parts: usize) -> LesionAt {
    LesionAt {
        time_point: t,
        status,
        measurement: m,
        parts,
        matched_by: None,
        merged_into: None,
        long_axis_change_from_baseline_pct: None,
        long_axis_change_from_nadir_pct: None,
        volume_change_from_baseline_pct: None,
        volume_change_from_nadir_pct: None,
    }
}

/// Tracks lesions over `scans` (the first is the baseline) and assesses the
/// response at each follow-up. `moving_ras_from_baseline_ras[t - 1]` maps a
/// baseline RAS point (mm) to follow-up `t`'s RAS (ITK: fixed = baseline,
/// moving = follow-up); the identity when the scans share scanner
/// coordinates.
pub fn track(
    scans: &[TimePoint],
    moving_ras_from_baseline_ras: &[DMat4],
    options: &TrackOptions,
) -> Result<TrackReport, TrackError> {
    let Some(baseline) = scans.first() else {
        return Err(TrackError::NoTimePoints);
    };
    if moving_ras_from_baseline_ras.len() != scans.len() - 1 {
        return Err(TrackError::TransformCount {
            got: moving_ras_from_baseline_ras.len(),
            want: scans.len() - 1,
        });
    }
    let d = options.match_distance_mm;
    if !(d.is_finite() && d >= 0.0) {
        return Err(TrackError::BadMatchDistance(d));
    }
    for (index, s) in scans.iter().enumerate() {
        let want = crate::volume::voxel_count(s.shape);
        if want != Some(s.labels.len()) {
            return Err(TrackError::GridMismatch {
                index,
                name: s.name.clone(),
                got: s.labels.len(),
                want: want.unwrap_or(usize::MAX),
                shape: s.shape,
            });
        }
        if !invertible(&s.ras_from_voxel) {
            return Err(TrackError::BadGrid {
                index,
                name: s.name.clone(),
            });
        }
    }
    let mut ras_from_baseline = vec![DMat4::IDENTITY];
    for (i, m) in moving_ras_from_baseline_ras.iter().enumerate() {
        if !invertible(m) {
            return Err(TrackError::BadTransform { index: i + 1 });
        }
        ras_from_baseline.push(*m);
    }
    let neighbours = match options.connectivity {
        Connectivity::Six => Neighbours::Six,
        Connectivity::TwentySix => Neighbours::TwentySix,
    };
    let base_voxel_from_ras = baseline.ras_from_voxel.inverse();
    let found: Vec<Vec<Component>> = scans
        .iter()
        .map(|s| find_lesions(s.shape, &s.labels, options.by_label, neighbours))
        .collect();

    let mut tracks: Vec<Track> = Vec::new();
    for (t, scan) in scans.iter().enumerate() {
        let comps = &found[t];
        let measured: Vec<Measurement> = comps.iter().map(|c| measure(scan, c)).collect();
        let baseline_from_here = ras_from_baseline[t].inverse();
        let appear: Vec<Appearance> = comps
            .iter()
            .map(|c| {
                to_baseline(
                    scan,
                    c,
                    &baseline_from_here,
                    baseline.shape,
                    &base_voxel_from_ras,
                )
            })
            .collect();
        // Per component: (track index, link) or new.
        let (links, merged_into): (Vec<Option<TrackLink>>, Vec<Option<usize>>) = if t == 0 {
            (vec![None; comps.len()], Vec::new())
        } else if options.by_label {
            let links = comps
                .iter()
                .map(|c| {
                    let i = tracks.iter().position(|k| k.id == u32::from(c.label))?;
                    Some((i, MatchedBy::Label))
                })
                .collect();
            (links, vec![None; tracks.len()])
        } else {
            let last: Vec<&Appearance> = tracks.iter().map(|k| &k.last).collect();
            let m = match_lesions(&last, &appear, options.match_distance_mm);
            let links = m
                .current
                .iter()
                .map(|l| {
                    l.map(|(i, link)| {
                        let by = match link {
                            Link::Overlap { voxels } | Link::Fragment { voxels } => {
                                MatchedBy::Overlap { voxels }
                            }
                            Link::Distance { mm } => MatchedBy::Distance { mm },
                        };
                        (i, by)
                    })
                })
                .collect();
            (links, m.merged_into)
        };
        let existing = tracks.len();
        let mut parts: Vec<Vec<usize>> = vec![Vec::new(); existing];
        for (c, link) in links.iter().enumerate() {
            match link {
                Some((i, _)) => parts[*i].push(c),
                None => {
                    let id = if options.by_label {
                        u32::from(comps[c].label)
                    } else {
                        tracks.iter().map(|k| k.id).max().unwrap_or(0) + 1
                    };
                    let status = if t == 0 {
                        Status::Baseline
                    } else {
                        Status::New
                    };
                    tracks.push(Track {
                        id,
                        label: comps[c].label,
                        first: t,
                        last: appear[c].clone(),
                        entries: vec![entry(t, status, measured[c], 1)],
                    });
                }
            }
        }
        for (i, own) in parts.iter().enumerate() {
            let was_present = tracks[i].present_at(t - 1);
            if own.is_empty() {
                let into = merged_into.get(i).copied().flatten().map(|j| tracks[j].id);
                let status = match (into, was_present) {
                    (Some(_), _) => Status::Merged,
                    (None, true) => Status::Disappeared,
                    (None, false) => Status::Absent,
                };
                let mut e = entry(t, status, Measurement::default(), 0);
                e.merged_into = into;
                tracks[i].entries.push(e);
                continue;
            }
            let ms: Vec<Measurement> = own.iter().map(|&c| measured[c]).collect();
            let m = if ms.len() == 1 { ms[0] } else { combine(&ms) };
            let status = if was_present {
                Status::Present
            } else {
                Status::Reappeared
            };
            let mut e = entry(t, status, m, own.len());
            // The part matched first (by overlap or distance), not a fragment.
            e.matched_by = links[own[0]].map(|(_, by)| by);
            let unions: Vec<Appearance> = own.iter().map(|&c| appear[c].clone()).collect();
            tracks[i].last = Appearance::union(&unions);
            tracks[i].entries.push(e);
        }
    }
    tracks.sort_by_key(|k| k.id);
    for k in &mut tracks {
        lesion_changes(k);
    }

    // Targets and non-targets among the baseline lesions.
    let thickness = slice_thickness_mm(&baseline.ras_from_voxel);
    let min_long_mm = measurable_min_mm(thickness);
    let at_baseline: Vec<&Track> = tracks.iter().filter(|k| k.first == 0).collect();
    let (targets, chosen) = match &options.targets {
        Some(given) => {
            if given.len() > MAX_TARGETS {
                return Err(TrackError::TooManyTargets(given.len()));
            }
            for (n, id) in given.iter().enumerate() {
                if given[..n].contains(id) {
                    return Err(TrackError::DuplicateTarget(*id));
                }
                if !at_baseline.iter().any(|k| k.id == *id) {
                    return Err(TrackError::UnknownTarget {
                        id: *id,
                        available: at_baseline.iter().map(|k| k.id).collect(),
                    });
                }
            }
            (given.clone(), "given")
        }
        None => {
            let mut measurable: Vec<&&Track> = at_baseline
                .iter()
                .filter(|k| {
                    k.entries[0].measurement.long_axis_mm >= min_long_mm - recist::TOLERANCE
                })
                .collect();
            measurable.sort_by(|a, b| {
                let (x, y) = (a.entries[0].measurement, b.entries[0].measurement);
                y.long_axis_mm
                    .total_cmp(&x.long_axis_mm)
                    .then(a.id.cmp(&b.id))
            });
            let ids = measurable.iter().take(MAX_TARGETS).map(|k| k.id).collect();
            (ids, "largest measurable")
        }
    };
    let non_targets: Vec<u32> = at_baseline
        .iter()
        .map(|k| k.id)
        .filter(|id| !targets.contains(id))
        .collect();
    let by_id = |id: u32| tracks.iter().find(|k| k.id == id);
    let sum_at = |t: usize, f: fn(&Measurement) -> f64| -> f64 {
        targets
            .iter()
            .filter_map(|&id| by_id(id)?.at(t))
            .map(|e| f(&e.measurement))
            .sum()
    };
    // A lesion merged into another has not disappeared: it still counts
    // against CR (its diameter is in the lesion it joined).
    let present_of = |ids: &[u32], t: usize| {
        ids.iter()
            .filter(|&&id| {
                by_id(id)
                    .and_then(|k| k.at(t))
                    .is_some_and(|e| e.status.present() || e.status == Status::Merged)
            })
            .count()
    };
    let long_sums: Vec<f64> = (0..scans.len())
        .map(|t| sum_at(t, |m| m.long_axis_mm))
        .collect();
    let volume_sums: Vec<f64> = (0..scans.len())
        .map(|t| sum_at(t, |m| m.volume_ml))
        .collect();
    let mut responses: Vec<TimePointResponse> = Vec::new();
    for t in 1..scans.len() {
        let new_lesions: Vec<u32> = tracks
            .iter()
            .filter(|k| k.first > 0 && k.present_at(t))
            .map(|k| k.id)
            .collect();
        let targets_present = present_of(&targets, t);
        let non_targets_present = present_of(&non_targets, t);
        let previous = responses.last();
        let assess = |sums: &[f64], th: &Thresholds, previous_overall: Option<Category>| {
            let s = Sums {
                sum: sums[t],
                baseline: sums[0],
                nadir: sums[..t].iter().copied().fold(f64::INFINITY, f64::min),
                present: targets_present,
            };
            let (target, target_rule) = target_response(targets.len(), &s, th);
            let (non_target, non_target_rule) =
                non_target_response(non_targets.len(), non_targets_present);
            let reappeared = previous_overall == Some(Category::CompleteResponse)
                && targets_present + non_targets_present > 0;
            let (overall, overall_rule) =
                overall_response(target, non_target, !new_lesions.is_empty(), reappeared);
            let categories = Categories {
                targets_present,
                target,
                target_rule,
                non_target,
                non_target_rule,
                overall,
                overall_rule,
            };
            (s, categories)
        };
        let (s, categories) = assess(
            &long_sums,
            &RECIST_1_1,
            previous.map(|r| r.recist.categories.overall),
        );
        let recist = RecistResponse {
            sum_mm: s.sum,
            baseline_sum_mm: s.baseline,
            nadir_sum_mm: s.nadir,
            change_from_baseline_pct: percent(s.sum, s.baseline),
            change_from_nadir_mm: s.sum - s.nadir,
            change_from_nadir_pct: percent(s.sum, s.nadir),
            categories,
        };
        let (s, categories) = assess(
            &volume_sums,
            &VOLUMETRIC,
            previous.map(|r| r.volumetric.categories.overall),
        );
        let volumetric = VolumetricResponse {
            sum_ml: s.sum,
            baseline_sum_ml: s.baseline,
            nadir_sum_ml: s.nadir,
            change_from_baseline_pct: percent(s.sum, s.baseline),
            change_from_nadir_ml: s.sum - s.nadir,
            change_from_nadir_pct: percent(s.sum, s.nadir),
            categories,
        };
        responses.push(TimePointResponse {
            time_point: t,
            new_lesions,
            recist,
            volumetric,
        });
    }

    let mut notes = vec![
        "Non-target progression ('unequivocal progression') is a reader's judgement and is not \
         assessed: non-target response is CR or Non-CR/Non-PD only."
            .to_string(),
        "Organs and lymph nodes are not known: targets are the largest measurable lesions \
         without the two-per-organ limit, and every lesion is measured by its long axis."
            .to_string(),
    ];
    if at_baseline.is_empty() {
        notes.push(
            "No lesion at baseline: responses are not evaluable (NE) unless a new lesion (PD)."
                .to_string(),
        );
    } else if targets.is_empty() {
        notes.push(format!(
            "No measurable lesion at baseline (long axis >= {min_long_mm:.1} mm): target response \
             NA, overall response from non-target lesions (RECIST 1.1 Table 2)."
        ));
    }
    let time_points = scans
        .iter()
        .enumerate()
        .map(|(i, s)| TimePointInfo {
            index: i,
            name: s.name.clone(),
            shape: s.shape,
            voxel_volume_ml: voxel_volume_ml(&s.ras_from_voxel),
            slice_thickness_mm: slice_thickness_mm(&s.ras_from_voxel),
            ras_from_baseline_ras: ras_from_baseline[i].transpose().to_cols_array_2d(),
            lesion_count: found[i].len(),
        })
        .collect();
    let role = |k: &Track| {
        if targets.contains(&k.id) {
            "target"
        } else if k.first == 0 {
            "non-target"
        } else {
            "new"
        }
    };
    let lesions = tracks
        .iter()
        .map(|k| LesionTrack {
            id: k.id,
            label: k.label,
            first_time_point: k.first,
            role: role(k),
            time_points: k.entries.clone(),
        })
        .collect();
    Ok(TrackReport {
        time_points,
        options: OptionsReport {
            lesions: if options.by_label {
                "labels"
            } else {
                "components"
            },
            connectivity: (!options.by_label).then_some(match options.connectivity {
                Connectivity::Six => 6,
                Connectivity::TwentySix => 26,
            }),
            match_distance_mm: options.match_distance_mm,
            matching: if options.by_label {
                "by label value"
            } else {
                MATCHING
            },
        },
        measurable_min_long_axis_mm: min_long_mm,
        targets,
        targets_chosen: chosen,
        non_targets,
        lesions,
        responses,
        recist_thresholds: RECIST_1_1,
        volumetric_thresholds: VOLUMETRIC,
        notes,
    })
}

/// Per-lesion percent changes from its baseline size and from its nadir
/// (smallest size at the earlier time points it was tracked).
fn lesion_changes(k: &mut Track) {
    let at_baseline = k.first == 0;
    for n in 1..k.entries.len() {
        let (before, rest) = k.entries.split_at_mut(n);
        let e = &mut rest[0];
        let nadir = |f: fn(&Measurement) -> f64| {
            before
                .iter()
                .map(|b| f(&b.measurement))
                .fold(f64::INFINITY, f64::min)
        };
        let m = e.measurement;
        let first = before[0].measurement;
        if at_baseline {
            e.long_axis_change_from_baseline_pct = percent(m.long_axis_mm, first.long_axis_mm);
            e.volume_change_from_baseline_pct = percent(m.volume_ml, first.volume_ml);
        }
        e.long_axis_change_from_nadir_pct = percent(m.long_axis_mm, nadir(|m| m.long_axis_mm));
        e.volume_change_from_nadir_pct = percent(m.volume_ml, nadir(|m| m.volume_ml));
    }
}
