//! Lesion tracking and response: hand-built multi-time-point label maps with
//! known axial diameters, the pure RECIST 1.1 rules against an independent
//! integer-arithmetic oracle and a hand-written Table 1, and `rayseg track`.
//!
//! Lesions are boxes on a 64×64×20 grid of 1×1×5 mm voxels: a box spanning
//! `di`, `dj` voxel steps in i and j has a long axis of hypot(di, dj) mm (the
//! diagonal between corner voxel centres), chosen as Pythagorean triples.

use std::ops::RangeInclusive;
use std::process::Command;

use glam::{DMat4, DVec3, DVec4};
use rayseg::annotate::stats::label_stats;
use rayseg::annotate::track::recist::{
    Category, RECIST_1_1, Rule, Sums, non_target_response, overall_response, target_response,
};
use rayseg::annotate::track::report::{MatchedBy, Status, TrackReport};
use rayseg::annotate::track::volumetric::VOLUMETRIC;
use rayseg::annotate::track::{TimePoint, TrackError, TrackOptions, track};
use rayseg::volume::{Modality, Volume, VoxelData, nifti::save_label_map};

const SHAPE: [usize; 3] = [64, 64, 20];
const VOXEL_ML: f64 = 0.005;

fn grid() -> DMat4 {
    DMat4::from_diagonal(DVec4::new(1.0, 1.0, 5.0, 1.0))
}

#[derive(Clone)]
struct Map(Vec<u8>);

impl Map {
    fn new() -> Map {
        Map(vec![0; SHAPE.iter().product()])
    }
    /// Fills an inclusive voxel box with `label`; returns the voxel count.
    fn set(
        &mut self,
        label: u8,
        i: RangeInclusive<usize>,
        j: RangeInclusive<usize>,
        k: RangeInclusive<usize>,
    ) -> &mut Map {
        for z in k {
            for y in j.clone() {
                for x in i.clone() {
                    self.0[x + SHAPE[0] * (y + SHAPE[1] * z)] = label;
                }
            }
        }
        self
    }
}

fn scan(name: &str, map: &Map) -> TimePoint {
    TimePoint {
        name: name.into(),
        shape: SHAPE,
        ras_from_voxel: grid(),
        labels: map.0.clone(),
    }
}

fn run(maps: &[Map], options: &TrackOptions) -> TrackReport {
    let scans: Vec<TimePoint> = maps
        .iter()
        .enumerate()
        .map(|(t, m)| scan(&format!("T{t}"), m))
        .collect();
    track(&scans, &vec![DMat4::IDENTITY; maps.len() - 1], options).unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} != {b}"
    );
}

fn lesion(r: &TrackReport, id: u32) -> &rayseg::annotate::track::report::LesionTrack {
    r.lesions.iter().find(|l| l.id == id).unwrap()
}

fn status(r: &TrackReport, id: u32, t: usize) -> Status {
    let l = lesion(r, id);
    l.time_points[t - l.first_time_point].status
}

fn long(r: &TrackReport, id: u32, t: usize) -> f64 {
    let l = lesion(r, id);
    l.time_points[t - l.first_time_point]
        .measurement
        .long_axis_mm
}

/// (target, overall) RECIST categories per follow-up.
fn recist(r: &TrackReport) -> Vec<(Category, Category)> {
    r.responses
        .iter()
        .map(|x| (x.recist.categories.target, x.recist.categories.overall))
        .collect()
}

use Category::{
    CompleteResponse as CR, NonCrNonPd, NotApplicable as NA, NotEvaluable as NE,
    PartialResponse as PR, ProgressiveDisease as PD, StableDisease as SD,
};

/// Two targets A (30 mm), B (20 mm) and a 5 mm non-target C:
/// PR exactly at −30 %, PD needing the nadir, CR, then a 4 mm reappearance
/// after CR (PD by the reappearance rule, not by the sums).
#[test]
fn pr_at_exactly_30_percent_pd_from_nadir_cr_and_reappearance_after_cr() {
    let c = |m: &mut Map| {
        m.set(1, 40..=43, 40..=44, 10..=10);
    };
    let mut t0 = Map::new();
    t0.set(1, 5..=23, 5..=29, 8..=9)
        .set(1, 35..=47, 5..=21, 8..=9);
    c(&mut t0);
    let mut t1 = Map::new();
    t1.set(1, 5..=17, 5..=21, 8..=9)
        .set(1, 35..=44, 5..=17, 8..=9);
    c(&mut t1);
    let mut t2 = Map::new();
    t2.set(1, 5..=20, 5..=25, 8..=9)
        .set(1, 35..=43, 5..=20, 8..=9);
    c(&mut t2);
    let t3 = Map::new();
    let mut t4 = Map::new();
    t4.set(1, 5..=9, 5..=5, 8..=8);
    let r = run(&[t0, t1, t2, t3, t4], &TrackOptions::default());

    assert_eq!(r.targets, vec![1, 2]);
    assert_eq!(r.non_targets, vec![3]);
    for (t, a, b) in [
        (0, 30.0, 20.0),
        (1, 20.0, 15.0),
        (2, 25.0, 17.0),
        (3, 0.0, 0.0),
    ] {
        close(long(&r, 1, t), a, "A long axis");
        close(long(&r, 2, t), b, "B long axis");
    }
    close(long(&r, 3, 0), 5.0, "C long axis");
    close(long(&r, 1, 4), 4.0, "A reappeared");
    let sums: Vec<f64> = r.responses.iter().map(|x| x.recist.sum_mm).collect();
    let nadirs: Vec<f64> = r.responses.iter().map(|x| x.recist.nadir_sum_mm).collect();
    assert_eq!(sums, vec![35.0, 42.0, 0.0, 4.0]);
    assert_eq!(nadirs, vec![50.0, 35.0, 35.0, 0.0]);
    assert_eq!(
        recist(&r),
        vec![(PR, PR), (PD, PD), (CR, CR), (PR, PD)],
        "{}",
        r.to_text()
    );
    let rules: Vec<(Rule, Rule)> = r
        .responses
        .iter()
        .map(|x| {
            (
                x.recist.categories.target_rule,
                x.recist.categories.overall_rule,
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            (Rule::DecreaseFromBaseline, Rule::Table1),
            (Rule::IncreaseFromNadir, Rule::TargetProgression),
            (Rule::AllGone, Rule::Table1),
            (
                Rule::DecreaseFromBaseline,
                Rule::ReappearanceAfterCompleteResponse
            ),
        ]
    );
    // T2 is 16 % under baseline yet PD: +20 % and +7 mm over the nadir.
    let t2 = &r.responses[1].recist;
    close(
        t2.change_from_baseline_pct.unwrap(),
        -16.0,
        "T2 vs baseline",
    );
    close(t2.change_from_nadir_pct.unwrap(), 20.0, "T2 vs nadir");
    assert_eq!(r.responses[1].recist.categories.non_target, NonCrNonPd);
    assert_eq!(r.responses[2].recist.categories.non_target, CR);
    assert_eq!(status(&r, 1, 3), Status::Disappeared);
    assert_eq!(status(&r, 1, 4), Status::Reappeared);
    assert_eq!(status(&r, 2, 4), Status::Absent);
    assert!(r.responses[3].new_lesions.is_empty(), "A keeps its id");
    assert_eq!(r.lesions.len(), 3);

    // Volumetric: sums of target voxel counts.
    let vol = |n: usize| n as f64 * VOXEL_ML;
    let base = vol(19 * 25 * 2 + 13 * 17 * 2);
    let v: Vec<f64> = r.responses.iter().map(|x| x.volumetric.sum_ml).collect();
    let want = [
        vol(13 * 17 * 2 + 10 * 13 * 2),
        vol(16 * 21 * 2 + 9 * 16 * 2),
        0.0,
        vol(5),
    ];
    for (a, b) in v.iter().zip(want) {
        close(*a, b, "volume sum");
    }
    // T1: −49.6 % (not PR at −65 %); T2: +37 % over the nadir (not PD at
    // +73 %); T3 gone; T4 after CR.
    assert!((want[0] / base - 1.0) > -0.65);
    assert!(want[1] / want[0] < 1.73);
    let vcat: Vec<(Category, Category)> = r
        .responses
        .iter()
        .map(|x| {
            (
                x.volumetric.categories.target,
                x.volumetric.categories.overall,
            )
        })
        .collect();
    assert_eq!(vcat, vec![(SD, SD), (SD, SD), (CR, CR), (PD, PD)]);
}

/// +20 % over the nadir but only +4 mm: SD (the 5 mm rule), then +25 % and
/// exactly +5 mm: PD.
#[test]
fn five_mm_rule() {
    let mut t0 = Map::new();
    t0.set(1, 5..=17, 5..=21, 8..=9); // (12, 16): 20 mm
    let mut t1 = Map::new();
    t1.set(1, 5..=29, 5..=5, 8..=9); // (24, 0): 24 mm
    let mut t2 = Map::new();
    t2.set(1, 5..=20, 5..=25, 8..=9); // (15, 20): 25 mm
    let r = run(&[t0, t1, t2], &TrackOptions::default());
    assert_eq!(r.targets, vec![1]);
    close(long(&r, 1, 1), 24.0, "T1");
    assert_eq!(recist(&r), vec![(SD, SD), (PD, PD)], "{}", r.to_text());
    let c = &r.responses[0].recist;
    assert_eq!(c.categories.target_rule, Rule::IncreaseBelowAbsoluteMinimum);
    close(c.change_from_nadir_pct.unwrap(), 20.0, "T1 vs nadir");
    close(c.change_from_nadir_mm, 4.0, "T1 vs nadir mm");
    assert_eq!(r.responses[1].recist.nadir_sum_mm, 20.0);
    assert_eq!(r.responses[1].recist.categories.non_target, NA);
}

/// A new lesion is PD while present; the target stays SD.
#[test]
fn new_lesion_is_progression() {
    let a = |m: &mut Map| {
        m.set(1, 5..=17, 5..=21, 8..=9);
    };
    let mut t0 = Map::new();
    a(&mut t0);
    let mut t1 = t0.clone();
    t1.set(2, 40..=48, 40..=40, 12..=12);
    let mut t2 = Map::new();
    a(&mut t2);
    let r = run(&[t0, t1, t2], &TrackOptions::default());
    assert_eq!(recist(&r), vec![(SD, PD), (SD, SD)]);
    assert_eq!(r.responses[0].new_lesions, vec![2]);
    assert_eq!(
        r.responses[0].recist.categories.overall_rule,
        Rule::NewLesion
    );
    assert_eq!(r.responses[0].volumetric.categories.overall, PD);
    assert_eq!(lesion(&r, 2).role, "new");
    assert_eq!(status(&r, 2, 1), Status::New);
    assert_eq!(status(&r, 2, 2), Status::Disappeared);
    assert!(r.responses[1].new_lesions.is_empty());
}

/// A target that vanishes and comes back (no CR in between) keeps its id and
/// is added back to the sum.
#[test]
fn vanished_target_reappears_with_its_id() {
    let a = |m: &mut Map| {
        m.set(1, 5..=23, 5..=29, 8..=9); // 30 mm
    };
    let mut t0 = Map::new();
    a(&mut t0);
    t0.set(1, 35..=47, 5..=21, 8..=9); // 20 mm
    let mut t1 = Map::new();
    a(&mut t1);
    let mut t2 = Map::new();
    a(&mut t2);
    t2.set(1, 38..=41, 8..=12, 8..=8); // (3, 4): 5 mm, inside B's old box
    let r = run(&[t0, t1, t2], &TrackOptions::default());
    assert_eq!(status(&r, 2, 1), Status::Disappeared);
    assert_eq!(status(&r, 2, 2), Status::Reappeared);
    close(long(&r, 2, 2), 5.0, "B back");
    assert_eq!(r.lesions.len(), 2);
    // T1: 30 (−40 %) PR; T2: 35, nadir 30: +16.7 % → not PD; ≤ 35 → PR.
    assert_eq!(recist(&r), vec![(PR, PR), (PR, PR)]);
}

/// A follow-up on a moved grid matches through the given transform, and not
/// without it.
#[test]
fn moved_follow_up_matches_through_the_transform() {
    let mut m = Map::new();
    m.set(1, 5..=17, 5..=21, 8..=9)
        .set(2, 40..=48, 30..=38, 4..=6);
    let moved = DMat4::from_translation(DVec3::new(30.0, -20.0, 15.0))
        * DMat4::from_rotation_z(std::f64::consts::FRAC_PI_2);
    let base = scan("T0", &m);
    let mut follow = scan("T1", &m);
    follow.ras_from_voxel = moved * grid();
    let r = track(
        &[base.clone(), follow.clone()],
        &[moved],
        &TrackOptions::default(),
    )
    .unwrap();
    assert_eq!(r.lesions.len(), 2);
    for id in [1, 2] {
        assert_eq!(status(&r, id, 1), Status::Present);
        let at = &lesion(&r, id).time_points[1];
        assert!(matches!(at.matched_by, Some(MatchedBy::Overlap { .. })));
        close(long(&r, id, 1), long(&r, id, 0), "moved long axis");
    }
    assert_eq!(recist(&r), vec![(SD, SD)]);
    let r = track(
        &[base, follow],
        &[DMat4::IDENTITY],
        &TrackOptions::default(),
    )
    .unwrap();
    assert_eq!(r.lesions.len(), 4, "unregistered: all new");
    assert_eq!(r.responses[0].recist.categories.overall, PD);
}

/// No overlap (one slice apart): matched by centroid distance within the
/// threshold, new and disappeared beyond it.
#[test]
fn centroid_distance_fallback() {
    let mut t0 = Map::new();
    t0.set(1, 5..=17, 5..=21, 8..=8);
    let mut t1 = Map::new();
    t1.set(1, 5..=17, 5..=21, 9..=9);
    let r = run(&[t0.clone(), t1.clone()], &TrackOptions::default());
    assert_eq!(r.lesions.len(), 1);
    let at = &lesion(&r, 1).time_points[1];
    assert_eq!(at.matched_by, Some(MatchedBy::Distance { mm: 5.0 }));
    let strict = TrackOptions {
        match_distance_mm: 4.9,
        ..TrackOptions::default()
    };
    let r = run(&[t0, t1], &strict);
    assert_eq!(r.lesions.len(), 2);
    assert_eq!(status(&r, 1, 1), Status::Disappeared);
    assert_eq!(status(&r, 2, 1), Status::New);
}

/// Labels as lesion ids: matched by value wherever they move; a label in two
/// pieces is one lesion measured as `rayseg stats` measures the label.
#[test]
fn by_label() {
    let mut t0 = Map::new();
    t0.set(3, 5..=17, 5..=21, 8..=9)
        .set(7, 40..=46, 40..=48, 8..=8);
    let mut t1 = Map::new();
    t1.set(3, 5..=17, 5..=21, 8..=9)
        .set(3, 5..=8, 40..=44, 8..=8)
        .set(7, 40..=46, 5..=13, 15..=15);
    let options = TrackOptions {
        by_label: true,
        ..TrackOptions::default()
    };
    let r = run(&[t0.clone(), t1.clone()], &options);
    assert_eq!(
        r.lesions.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![3, 7]
    );
    assert_eq!(r.targets, vec![3, 7]);
    assert_eq!(
        lesion(&r, 7).time_points[1].matched_by,
        Some(MatchedBy::Label)
    );
    assert_eq!(status(&r, 7, 1), Status::Present);
    let image = Volume::new(
        SHAPE,
        VoxelData::U8(vec![0; t1.0.len()]),
        grid(),
        Modality::Ct,
    )
    .unwrap();
    let stats = label_stats(&image, &t1.0, None).unwrap();
    close(long(&r, 3, 1), stats[0].recist_long_mm, "label 3 as stats");
    close(
        lesion(&r, 3).time_points[1].measurement.short_axis_mm,
        stats[0].recist_short_mm,
        "label 3 short axis as stats",
    );
    assert!(r.responses[0].new_lesions.is_empty());
    // As components instead: label 7 moved away is new, its baseline gone,
    // and label 3's second piece is new too.
    let r = run(&[t0, t1], &TrackOptions::default());
    assert_eq!(r.lesions.len(), 4);
    assert_eq!(r.responses[0].new_lesions.len(), 2);
}

/// Two lesions that coalesce: the joint lesion follows the larger overlap,
/// the other is merged (0 mm). A lesion that splits: its fragments' long
/// axes add (RECIST 1.1).
#[test]
fn merge_and_split() {
    let mut t0 = Map::new();
    t0.set(1, 5..=17, 5..=21, 8..=8)
        .set(1, 19..=22, 5..=9, 8..=8);
    let mut t1 = Map::new();
    t1.set(1, 5..=22, 5..=21, 8..=8);
    let r = run(&[t0, t1.clone()], &TrackOptions::default());
    assert_eq!(r.lesions.len(), 2);
    assert_eq!(status(&r, 1, 1), Status::Present);
    assert_eq!(status(&r, 2, 1), Status::Merged);
    assert_eq!(lesion(&r, 2).time_points[1].merged_into, Some(1));
    close(
        long(&r, 1, 1),
        (17.0f64 * 17.0 + 16.0 * 16.0).sqrt(),
        "joint",
    );
    // The 5 mm non-target merged into the target has not disappeared.
    assert_eq!(r.non_targets, vec![2]);
    assert_eq!(r.responses[0].recist.categories.non_target, NonCrNonPd);

    let mut t2 = Map::new();
    t2.set(1, 5..=12, 5..=21, 8..=8)
        .set(1, 14..=22, 5..=9, 8..=8);
    let r = run(&[t1, t2], &TrackOptions::default());
    assert_eq!(r.lesions.len(), 1);
    let at = &lesion(&r, 1).time_points[1];
    assert_eq!(at.parts, 2);
    let want = (49.0f64 + 256.0).sqrt() + (64.0f64 + 16.0).sqrt();
    close(at.measurement.long_axis_mm, want, "fragments add");
    close(
        at.measurement.volume_ml,
        ((8 * 17) + (9 * 5)) as f64 * VOXEL_ML,
        "fragment volume",
    );
}

#[test]
fn targets_chosen_and_measurability() {
    // Six measurable lesions: the five largest are targets; a 9 mm one is
    // not measurable (10 mm minimum at 5 mm slices).
    let mut m = Map::new();
    let sizes = [(12, 16), (9, 12), (6, 8), (15, 20), (18, 24), (8, 15)];
    for (n, (di, dj)) in sizes.iter().enumerate() {
        let i0 = 2 + 10 * (n % 6);
        let k = 2 + 3 * n;
        m.set(1, i0..=i0 + di, 2..=2 + dj, k..=k);
    }
    m.set(1, 2..=11, 50..=50, 18..=18);
    let r = run(&[m.clone(), m.clone()], &TrackOptions::default());
    let longs: Vec<f64> = r.targets.iter().map(|&id| long(&r, id, 0)).collect();
    assert_eq!(longs, vec![30.0, 25.0, 20.0, 17.0, 15.0]);
    assert_eq!(r.non_targets.len(), 2);
    assert_eq!(r.measurable_min_long_axis_mm, 10.0);

    let given = TrackOptions {
        targets: Some(vec![7]),
        ..TrackOptions::default()
    };
    let r = run(&[m.clone(), m.clone()], &given);
    assert_eq!(r.targets, vec![7]);
    assert_eq!(r.targets_chosen, "given");
    let scans = [scan("a", &m), scan("b", &m)];
    for (targets, what) in [
        (vec![99], "unknown"),
        (vec![1, 1], "duplicate"),
        (vec![1, 2, 3, 4, 5, 6], "too many"),
    ] {
        let o = TrackOptions {
            targets: Some(targets),
            ..TrackOptions::default()
        };
        assert!(track(&scans, &[DMat4::IDENTITY], &o).is_err(), "{what}");
    }
}

#[test]
fn thick_slices_raise_the_measurable_minimum() {
    let mut m = Map::new();
    m.set(1, 5..=17, 5..=21, 8..=8); // 20 mm
    let mut s = scan("thick", &m);
    s.ras_from_voxel = DMat4::from_diagonal(DVec4::new(1.0, 1.0, 12.0, 1.0));
    let r = track(
        &[s.clone(), s],
        &[DMat4::IDENTITY],
        &TrackOptions::default(),
    )
    .unwrap();
    assert_eq!(r.measurable_min_long_axis_mm, 24.0);
    assert!(r.targets.is_empty());
    assert_eq!(r.non_targets, vec![1]);
    // Non-target disease only: Table 2.
    let c = &r.responses[0].recist.categories;
    assert_eq!(
        (c.target, c.non_target, c.overall),
        (NA, NonCrNonPd, NonCrNonPd)
    );
    assert_eq!(c.overall_rule, Rule::Table2);
}

#[test]
fn bad_input_is_an_error_or_not_evaluable_never_a_panic() {
    let empty = Map::new();
    let r = run(
        &[empty.clone(), empty.clone(), empty.clone()],
        &TrackOptions::default(),
    );
    assert!(r.lesions.is_empty());
    assert_eq!(recist(&r), vec![(NA, NE), (NA, NE)]);
    let mut new = Map::new();
    new.set(1, 1..=3, 1..=3, 1..=1);
    let r = run(&[empty.clone(), new], &TrackOptions::default());
    assert_eq!(recist(&r), vec![(NA, PD)]);

    let s = scan("a", &empty);
    assert!(matches!(
        track(&[s.clone(), s.clone()], &[], &TrackOptions::default()),
        Err(TrackError::TransformCount { got: 0, want: 1 })
    ));
    assert!(matches!(
        track(&[], &[], &TrackOptions::default()),
        Err(TrackError::NoTimePoints)
    ));
    let mut short = s.clone();
    short.labels.pop();
    assert!(matches!(
        track(
            &[s.clone(), short],
            &[DMat4::IDENTITY],
            &TrackOptions::default()
        ),
        Err(TrackError::GridMismatch { index: 1, .. })
    ));
    assert!(matches!(
        track(
            &[s.clone(), s.clone()],
            &[DMat4::ZERO],
            &TrackOptions::default()
        ),
        Err(TrackError::BadTransform { index: 1 })
    ));
    let nan = TrackOptions {
        match_distance_mm: f64::NAN,
        ..TrackOptions::default()
    };
    assert!(track(&[s.clone(), s], &[DMat4::IDENTITY], &nan).is_err());
}

// ---- The pure rules against independent oracles. ----

/// RECIST 1.1 target response in integer millimetres, written from the
/// guideline's words without floating point.
fn oracle_target(sum: i64, baseline: i64, nadir: i64, present: bool) -> Category {
    if !present {
        return CR;
    }
    // "at least a 20% increase ... from the smallest sum" and "an absolute
    // increase of at least 5 mm".
    if 5 * sum >= 6 * nadir && sum - nadir >= 5 {
        return PD;
    }
    // "at least a 30% decrease ... taking as reference the baseline sum".
    if 10 * sum <= 7 * baseline {
        return PR;
    }
    SD
}

#[test]
fn target_response_matches_an_integer_oracle_exhaustively() {
    let mut checked = 0;
    for baseline in 10..=60i64 {
        for nadir in 0..=baseline {
            for sum in 0..=90i64 {
                for present in [false, true] {
                    if !present && sum != 0 {
                        continue;
                    }
                    let s = Sums {
                        sum: sum as f64,
                        baseline: baseline as f64,
                        nadir: nadir as f64,
                        present: usize::from(present),
                    };
                    let (got, _) = target_response(2, &s, &RECIST_1_1);
                    let want = oracle_target(sum, baseline, nadir, present);
                    assert_eq!(got, want, "sum {sum} baseline {baseline} nadir {nadir}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100_000);
}

#[test]
fn target_response_hand_table() {
    // (sum, baseline, nadir, present) → category, each row by hand.
    let rows: [(f64, f64, f64, usize, Category); 14] = [
        (0.0, 50.0, 50.0, 0, CR),
        (0.0, 50.0, 50.0, 1, PR),  // present but measuring 0 mm: not CR
        (35.0, 50.0, 50.0, 2, PR), // exactly −30 %
        (35.1, 50.0, 50.0, 2, SD),
        (60.0, 50.0, 50.0, 2, PD), // exactly +20 %, +10 mm
        (59.9, 50.0, 50.0, 2, SD),
        (24.0, 20.0, 20.0, 1, SD), // +20 % but +4 mm
        (25.0, 20.0, 20.0, 1, PD), // +25 %, exactly +5 mm
        (30.0, 25.0, 25.0, 1, PD), // exactly +20 % and exactly +5 mm
        (42.0, 50.0, 35.0, 2, PD), // under baseline, +20 % over the nadir
        (34.0, 50.0, 30.0, 2, PR), // +13 % over the nadir: still PR
        (4.0, 35.0, 0.0, 1, PR),   // after CR, 4 mm: under 5 mm
        (5.0, 35.0, 0.0, 1, PD),   // after CR, 5 mm
        (45.0, 50.0, 40.0, 2, SD),
    ];
    for (sum, baseline, nadir, present, want) in rows {
        let s = Sums {
            sum,
            baseline,
            nadir,
            present,
        };
        assert_eq!(
            target_response(1, &s, &RECIST_1_1).0,
            want,
            "{sum} {baseline} {nadir} {present}"
        );
    }
    let s = Sums {
        sum: 10.0,
        baseline: 10.0,
        nadir: 10.0,
        present: 1,
    };
    assert_eq!(target_response(0, &s, &RECIST_1_1).0, NA);
    // Volumes: −65 % and +73 % inclusive, no absolute minimum.
    let v = |sum, baseline, nadir| {
        let s = Sums {
            sum,
            baseline,
            nadir,
            present: 1,
        };
        target_response(1, &s, &VOLUMETRIC).0
    };
    assert_eq!(v(35.0, 100.0, 100.0), PR);
    assert_eq!(v(35.5, 100.0, 100.0), SD);
    assert_eq!(v(1.73, 2.0, 1.0), PD);
    assert_eq!(v(1.72, 2.0, 1.0), SD);
}

#[test]
fn overall_response_is_recist_table_1_and_2() {
    // RECIST 1.1 Table 1 (targets at baseline) and Table 2 (non-targets
    // only), typed from the guideline; NE for no disease at all.
    let table: [(Category, Category, bool, Category); 20] = [
        (CR, CR, false, CR),
        (CR, NA, false, CR),
        (CR, NonCrNonPd, false, PR),
        (CR, NE, false, PR),
        (PR, NonCrNonPd, false, PR),
        (PR, CR, false, PR),
        (PR, NE, false, PR),
        (SD, NonCrNonPd, false, SD),
        (SD, CR, false, SD),
        (SD, NE, false, SD),
        (NE, NonCrNonPd, false, NE),
        (PD, CR, false, PD),
        (PD, NonCrNonPd, false, PD),
        (CR, CR, true, PD),
        (PR, NonCrNonPd, true, PD),
        (SD, CR, true, PD),
        (NA, CR, false, CR),
        (NA, NonCrNonPd, false, NonCrNonPd),
        (NA, NonCrNonPd, true, PD),
        (NA, NA, false, NE),
    ];
    for (target, non_target, new, want) in table {
        let got = overall_response(target, non_target, new, false).0;
        assert_eq!(got, want, "{target} {non_target} new={new}");
    }
    // Reappearance after an overall CR is PD whatever the sums say.
    assert_eq!(overall_response(PR, CR, false, true).0, PD);
    assert_eq!(non_target_response(2, 0).0, CR);
    assert_eq!(non_target_response(2, 1).0, NonCrNonPd);
    assert_eq!(non_target_response(0, 0).0, NA);
}

// ---- The CLI. ----

/// A patient in voxel coordinates (it moves with the scanner grid): an
/// off-centre ellipsoidal body with a brighter asymmetric organ, so that
/// registration has something to align.
fn anatomy() -> Vec<i16> {
    let mut v = Vec::with_capacity(SHAPE.iter().product());
    for k in 0..SHAPE[2] {
        for j in 0..SHAPE[1] {
            for i in 0..SHAPE[0] {
                let (x, y, z) = (i as f64, j as f64, k as f64 * 5.0);
                let body = ((x - 30.0) / 26.0).powi(2)
                    + ((y - 34.0) / 22.0).powi(2)
                    + ((z - 50.0) / 45.0).powi(2);
                let organ = ((x - 42.0) / 9.0).powi(2)
                    + ((y - 24.0) / 6.0).powi(2)
                    + ((z - 40.0) / 25.0).powi(2);
                v.push(if organ < 1.0 {
                    300
                } else if body < 1.0 {
                    40 + (x * 0.5) as i16
                } else {
                    -1000
                });
            }
        }
    }
    v
}

#[test]
fn cli_tracks_nifti_time_points_with_transforms() {
    let dir = tempfile::tempdir().unwrap();
    let moved = DMat4::from_translation(DVec3::new(12.0, -7.0, 10.0));
    let mut paths = Vec::new();
    let mut a = Map::new();
    a.set(1, 5..=23, 5..=29, 8..=9); // 30 mm
    let mut b = Map::new();
    b.set(1, 5..=17, 5..=21, 8..=9); // 20 mm: −33 % PR
    let mut c = Map::new();
    c.set(1, 5..=23, 5..=29, 8..=9)
        .set(1, 50..=55, 50..=50, 3..=3); // + new
    for (t, (map, m)) in [(a, DMat4::IDENTITY), (b, DMat4::IDENTITY), (c, moved)]
        .into_iter()
        .enumerate()
    {
        let image =
            Volume::new(SHAPE, VoxelData::I16(anatomy()), m * grid(), Modality::Ct).unwrap();
        let img = dir.path().join(format!("ct{t}.nii.gz"));
        let seg = dir.path().join(format!("seg{t}.nii.gz"));
        rayseg::volume::phantom::save_ct_nifti(&img, &image).unwrap();
        save_label_map(&seg, &map.0, &image).unwrap();
        paths.push((img, seg));
    }
    let write_t = |name: &str, m: DMat4| {
        let p = dir.path().join(name);
        let rows = m.transpose().to_cols_array_2d();
        let json = serde_json::json!({ "moving_ras_from_fixed_ras": rows });
        std::fs::write(&p, json.to_string()).unwrap();
        p
    };
    let t1 = write_t("t1.json", DMat4::IDENTITY);
    let t2 = write_t("t2.json", moved);
    let rayseg = |extra: &[&std::ffi::OsStr]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rayseg"));
        cmd.arg("track");
        for (img, seg) in &paths {
            cmd.arg("--scan").arg(img).arg(seg);
        }
        cmd.args(extra).output().unwrap()
    };
    let out = rayseg(&[
        "--transform".as_ref(),
        t1.as_os_str(),
        "--transform".as_ref(),
        t2.as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let responses = json["responses"].as_array().unwrap();
    let overall: Vec<&str> = responses
        .iter()
        .map(|r| r["recist"]["overall"].as_str().unwrap())
        .collect();
    assert_eq!(overall, vec!["PR", "PD"]);
    assert_eq!(responses[1]["recist"]["overall_rule"], "new_lesion");
    assert_eq!(responses[1]["new_lesions"], serde_json::json!([2]));
    // 30 mm again over a 20 mm nadir: the target sum is PD as well.
    assert_eq!(responses[1]["recist"]["target"], "PD");
    assert_eq!(json["lesions"][0]["time_points"][2]["status"], "present");
    assert_eq!(json["files"].as_array().unwrap().len(), 3);
    assert_eq!(json["targets"], serde_json::json!([1]));

    let out = rayseg(&[
        "--transform".as_ref(),
        t1.as_os_str(),
        "--transform".as_ref(),
        t2.as_os_str(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("RECIST 1.1") && text.contains("Volumetric"),
        "{text}"
    );

    // Without registration the moved time point's lesion is not matched.
    let out = rayseg(&["--no-register".as_ref(), "--json".as_ref()]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["lesions"][0]["time_points"][2]["status"],
        "disappeared"
    );
    // Absent: no position (the origin would be one).
    assert!(json["lesions"][0]["time_points"][2]["centroid_ras_mm"].is_null());
    assert_eq!(json["lesions"][0]["time_points"][2]["volume_ml"], 0.0);

    // Without --transform each follow-up is registered to the baseline: the
    // anatomy moved with the scanner grid, so the lesion is matched again.
    let out = rayseg(&["--json".as_ref()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("registered follow-up 2"), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["lesions"][0]["time_points"][2]["status"], "present");
    let overall: Vec<&str> = json["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["recist"]["overall"].as_str().unwrap())
        .collect();
    assert_eq!(overall, vec!["PR", "PD"]);
    let out = rayseg(&["--transform".as_ref(), t1.as_os_str()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("one per follow-up"));
}

#[test]
fn connectivity_6_by_default_26_on_request() {
    // Two boxes touching only along an edge.
    let mut m = Map::new();
    m.set(1, 5..=9, 5..=9, 8..=8)
        .set(1, 10..=14, 10..=14, 8..=8);
    assert_eq!(run(&[m.clone()], &TrackOptions::default()).lesions.len(), 2);
    let full = TrackOptions {
        connectivity: rayseg::annotate::track::Connectivity::TwentySix,
        ..TrackOptions::default()
    };
    let r = run(&[m], &full);
    assert_eq!(r.lesions.len(), 1);
    close(long(&r, 1, 0), (2.0f64 * 81.0).sqrt(), "joined diagonal");
    assert!(
        r.responses.is_empty(),
        "baseline only: no follow-up to assess"
    );
}
