//! The lesion table across time points: lesions × time points (volume, long
//! and short axis), a status per lesion, the target sums and the responses.
//! The numbers are the lesion tracker's (`rayseg track`: components matched
//! through the registration, RECIST 1.1 and volumetric response); this module
//! only turns its report into rows and draws them, so the app and the CLI
//! cannot disagree.

use glam::DMat4;

use crate::annotate::labels::LabelSet;
use crate::annotate::track::report::{Status, TrackReport};
use crate::annotate::track::{TimePoint, TrackError, TrackOptions, track};

/// One lesion at one time point.
#[derive(Clone, Debug, PartialEq)]
pub struct LesionMeasure {
    pub volume_ml: f64,
    pub long_axis_mm: f64,
    pub short_axis_mm: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LesionRow {
    pub lesion_id: u32,
    /// The name of the label it was drawn with.
    pub name: String,
    /// "target", "non-target" or "new".
    pub role: String,
    /// One per time point; `None`: not present then.
    pub measures: Vec<Option<LesionMeasure>>,
    /// At the last time point: "new", "gone", "merged into N" or the long
    /// axis's change from baseline ("-25 %").
    pub status: String,
}

/// Per time point: the sums over the target lesions.
#[derive(Clone, Debug, PartialEq)]
pub struct TimePointSums {
    pub volume_ml: f64,
    pub long_axis_mm: f64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct LesionTable {
    pub time_points: Vec<String>,
    pub rows: Vec<LesionRow>,
    pub sums: Vec<TimePointSums>,
    /// Per time point after the baseline: RECIST 1.1 overall response and the
    /// volumetric one ("PR", "SD"...).
    pub recist: Vec<String>,
    pub volumetric: Vec<String>,
    /// RECIST 1.1 overall response at the last time point, in words.
    pub response: String,
}

/// Tracks the lesions of `scans` (the first is the baseline) with the
/// tracker's defaults, `moving_ras_from_baseline_ras` one per follow-up.
/// Runs on a worker: components and measurements touch every voxel.
pub fn compute(
    scans: &[TimePoint],
    moving_ras_from_baseline_ras: &[DMat4],
    names: &[Option<LabelSet>],
) -> Result<LesionTable, TrackError> {
    let report = track(
        scans,
        moving_ras_from_baseline_ras,
        &TrackOptions::default(),
    )?;
    Ok(from_report(&report, names))
}

/// The rows of a tracker report; `names[t]` names the labels of time point t.
pub fn from_report(report: &TrackReport, names: &[Option<LabelSet>]) -> LesionTable {
    let n = report.time_points.len();
    let rows = report
        .lesions
        .iter()
        .map(|lesion| {
            let mut measures = vec![None; n];
            for at in &lesion.time_points {
                if at.status.present() && at.time_point < n {
                    measures[at.time_point] = Some(LesionMeasure {
                        volume_ml: at.measurement.volume_ml,
                        long_axis_mm: at.measurement.long_axis_mm,
                        short_axis_mm: at.measurement.short_axis_mm,
                    });
                }
            }
            let name = names
                .get(lesion.first_time_point)
                .and_then(Option::as_ref)
                .and_then(|set| set.get(lesion.label))
                .map_or_else(|| format!("Label {}", lesion.label), |l| l.name.clone());
            let status = match lesion.time_points.last() {
                _ if n < 2 => String::new(),
                Some(at) if at.time_point + 1 == n => match at.status {
                    Status::New => "new".into(),
                    Status::Disappeared | Status::Absent => "gone".into(),
                    Status::Merged => {
                        format!("merged into {}", at.merged_into.unwrap_or_default())
                    }
                    _ => at
                        .long_axis_change_from_baseline_pct
                        .map_or_else(String::new, |p| format!("{p:+.0} %")),
                },
                _ => String::new(),
            };
            LesionRow {
                lesion_id: lesion.id,
                name,
                role: lesion.role.into(),
                measures,
                status,
            }
        })
        .collect::<Vec<_>>();
    // Target sums: the baseline's from the first response (or the targets'
    // baseline measurements when there is no follow-up), then each response's.
    let baseline = match report.responses.first() {
        Some(r) => TimePointSums {
            volume_ml: r.volumetric.baseline_sum_ml,
            long_axis_mm: r.recist.baseline_sum_mm,
        },
        None => {
            let targets = rows
                .iter()
                .filter(|r| report.targets.contains(&r.lesion_id))
                .filter_map(|r| r.measures.first().cloned().flatten());
            targets.fold(
                TimePointSums {
                    volume_ml: 0.0,
                    long_axis_mm: 0.0,
                },
                |s, m| TimePointSums {
                    volume_ml: s.volume_ml + m.volume_ml,
                    long_axis_mm: s.long_axis_mm + m.long_axis_mm,
                },
            )
        }
    };
    let mut sums = vec![baseline];
    sums.extend(report.responses.iter().map(|r| TimePointSums {
        volume_ml: r.volumetric.sum_ml,
        long_axis_mm: r.recist.sum_mm,
    }));
    let recist: Vec<String> = report
        .responses
        .iter()
        .map(|r| r.recist.categories.overall.short().to_owned())
        .collect();
    let volumetric = report
        .responses
        .iter()
        .map(|r| r.volumetric.categories.overall.short().to_owned())
        .collect();
    let response = recist.last().map_or_else(String::new, |c| in_words(c));
    LesionTable {
        time_points: report.time_points.iter().map(|t| t.name.clone()).collect(),
        rows,
        sums,
        recist,
        volumetric,
        response,
    }
}

fn in_words(category: &str) -> String {
    let words = match category {
        "CR" => "complete response",
        "PR" => "partial response",
        "SD" => "stable disease",
        "PD" => "progressive disease",
        "NE" => "not evaluable",
        _ => return category.to_owned(),
    };
    format!("{category} ({words})")
}

/// The table as a grid: a header per time point, a row per lesion, the sums
/// and the responses.
pub fn show(ui: &mut egui::Ui, table: &LesionTable) {
    if table.rows.is_empty() {
        ui.label("No lesions: label them in either image (each connected region is a lesion).");
        return;
    }
    egui::Grid::new("lesion_table_grid")
        .striped(true)
        .num_columns(3 + 3 * table.time_points.len())
        .show(ui, |ui| {
            ui.strong("Lesion");
            ui.strong("Role");
            for (t, name) in table.time_points.iter().enumerate() {
                ui.strong(format!("T{} mL", t + 1)).on_hover_text(name);
                ui.strong(format!("T{} long mm", t + 1));
                ui.strong(format!("T{} short mm", t + 1));
            }
            ui.strong("Status");
            ui.end_row();
            for row in &table.rows {
                ui.label(format!("{} {}", row.lesion_id, row.name));
                ui.label(&row.role);
                for m in &row.measures {
                    match m {
                        Some(m) => {
                            ui.label(format!("{:.2}", m.volume_ml));
                            ui.label(format!("{:.1}", m.long_axis_mm));
                            ui.label(format!("{:.1}", m.short_axis_mm));
                        }
                        None => {
                            for _ in 0..3 {
                                ui.label("-");
                            }
                        }
                    }
                }
                ui.label(&row.status);
                ui.end_row();
            }
            ui.strong("Target sum");
            ui.label("");
            for s in &table.sums {
                ui.strong(format!("{:.2}", s.volume_ml));
                ui.strong(format!("{:.1}", s.long_axis_mm));
                ui.label("");
            }
            ui.end_row();
            ui.strong("RECIST 1.1 / volume");
            ui.label("");
            for t in 0..table.time_points.len() {
                let response = t.checked_sub(1).map_or("baseline".into(), |i| {
                    format!("{} / {}", table.recist[i], table.volumetric[i])
                });
                ui.label(response);
                ui.label("");
                ui.label("");
            }
            ui.strong(&table.response);
            ui.end_row();
        });
    ui.label(
        "Lesions are connected regions matched through the registration; targets: up to 5 \
         measurable baseline lesions (as rayseg track).",
    );
    for (t, name) in table.time_points.iter().enumerate() {
        ui.label(format!("T{}: {name}", t + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec4;

    /// Boxes on a 40×40×4 grid of 1×1×5 mm voxels.
    fn scan(boxes: &[(u8, [usize; 2], [usize; 2])]) -> TimePoint {
        let shape = [40, 40, 4];
        let mut labels = vec![0u8; 40 * 40 * 4];
        for &(label, i, j) in boxes {
            for z in 1..3 {
                for y in j[0]..=j[1] {
                    for x in i[0]..=i[1] {
                        labels[x + 40 * (y + 40 * z)] = label;
                    }
                }
            }
        }
        TimePoint {
            name: "t".into(),
            shape,
            ras_from_voxel: DMat4::from_diagonal(DVec4::new(1.0, 1.0, 5.0, 1.0)),
            labels,
        }
    }

    #[test]
    fn rows_statuses_sums_and_response_from_the_tracker() {
        // Lesion 1: 3-4-5 box diagonal 25 mm → 15 mm (−40 %); lesion 2: a
        // 10 mm target that goes; lesion 3 new at follow-up: PD.
        let t1 = scan(&[(1, [2, 17], [2, 22]), (1, [30, 36], [30, 38])]);
        let t2 = scan(&[(1, [2, 11], [2, 14]), (2, [25, 30], [2, 8])]);
        let mut names = LabelSet::default();
        names
            .labels
            .push(crate::annotate::labels::LabelInfo::new(1, "Tumour"));
        let table = compute(&[t1, t2], &[DMat4::IDENTITY], &[Some(names), None]).unwrap();
        let ids: Vec<u32> = table.rows.iter().map(|r| r.lesion_id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let statuses: Vec<&str> = table.rows.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["-40 %", "gone", "new"]);
        assert_eq!(table.rows[0].name, "Tumour");
        assert_eq!(table.rows[2].name, "Label 2");
        assert_eq!(table.rows[2].role, "new");
        assert!((table.sums[0].long_axis_mm - 35.0).abs() < 1e-9);
        assert!((table.sums[1].long_axis_mm - 15.0).abs() < 1e-9);
        // A new lesion is progression whatever the sums do.
        assert_eq!(table.recist, ["PD"]);
        assert_eq!(table.response, "PD (progressive disease)");
    }
}
