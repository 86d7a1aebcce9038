//! The lesion table across time points: lesions × time points (volume, long
//! and short axis), a status per lesion and the sums with a response in the
//! footer. The panel draws a small view model; [`from_label_stats`] is the one
//! adapter that fills it (labels as lesion ids, per-label statistics of each
//! time point), to be switched to the lesion tracker's report.

use crate::annotate::labels::LabelSet;
use crate::annotate::stats::LabelStats;

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
    pub name: String,
    /// One per time point; `None`: not seen then.
    pub measures: Vec<Option<LesionMeasure>>,
    /// From the first time point to the last: "new", "gone" or the long
    /// axis's change ("+12 %").
    pub status: String,
}

/// Per time point: sums over the lesions seen.
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
    /// Response at the last time point (RECIST 1.1 categories on the sums of
    /// long axes, every lesion counted as a target lesion).
    pub response: String,
}

/// One time point's input to the adapter.
pub struct TimePointStats<'a> {
    pub name: String,
    pub stats: &'a [LabelStats],
}

/// The adapter: labels are lesion ids; a label with voxels at a time point is
/// that lesion then. Names come from `names` (the first image's label set).
pub fn from_label_stats(time_points: &[TimePointStats], names: &LabelSet) -> LesionTable {
    let mut ids: Vec<u8> = time_points
        .iter()
        .flat_map(|t| t.stats.iter().filter(|s| s.voxels > 0).map(|s| s.label))
        .filter(|&l| l != 0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<LesionRow> = ids
        .iter()
        .map(|&id| {
            let measures: Vec<Option<LesionMeasure>> = time_points
                .iter()
                .map(|t| {
                    t.stats
                        .iter()
                        .find(|s| s.label == id && s.voxels > 0)
                        .map(|s| LesionMeasure {
                            volume_ml: s.volume_ml,
                            long_axis_mm: s.recist_long_mm,
                            short_axis_mm: s.recist_short_mm,
                        })
                })
                .collect();
            LesionRow {
                lesion_id: u32::from(id),
                name: names
                    .get(id)
                    .map_or_else(|| format!("Label {id}"), |l| l.name.clone()),
                status: status(&measures),
                measures,
            }
        })
        .collect();
    let sums: Vec<TimePointSums> = (0..time_points.len())
        .map(|t| {
            let seen = rows.iter().filter_map(|r| r.measures[t].as_ref());
            let (v, l) = seen.fold((0.0, 0.0), |(v, l), m| {
                (v + m.volume_ml, l + m.long_axis_mm)
            });
            TimePointSums {
                volume_ml: v,
                long_axis_mm: l,
            }
        })
        .collect();
    let new_lesion = rows.iter().any(|r| r.status == "new");
    LesionTable {
        time_points: time_points.iter().map(|t| t.name.clone()).collect(),
        response: response(&sums, new_lesion),
        rows,
        sums,
    }
}

fn status(measures: &[Option<LesionMeasure>]) -> String {
    match (measures.first(), measures.last()) {
        _ if measures.len() < 2 => String::new(),
        (Some(None), Some(Some(_))) => "new".into(),
        (Some(Some(_)), Some(None)) => "gone".into(),
        (Some(Some(a)), Some(Some(b))) if a.long_axis_mm > 0.0 => {
            let change = (b.long_axis_mm - a.long_axis_mm) / a.long_axis_mm * 100.0;
            format!("{change:+.0} %")
        }
        _ => String::new(),
    }
}

/// RECIST 1.1 on the sums of long axes: CR when every lesion is gone, PD for
/// a new lesion or ≥ 20 % and ≥ 5 mm above the smallest earlier sum (nadir),
/// PR for ≥ 30 % below the baseline, else SD.
fn response(sums: &[TimePointSums], new_lesion: bool) -> String {
    let (Some(baseline), Some(last)) = (sums.first(), sums.last()) else {
        return String::new();
    };
    if sums.len() < 2 {
        return String::new();
    }
    let nadir = sums[..sums.len() - 1]
        .iter()
        .map(|s| s.long_axis_mm)
        .fold(f64::INFINITY, f64::min);
    let (b, l) = (baseline.long_axis_mm, last.long_axis_mm);
    let grew = l - nadir;
    if new_lesion || (nadir > 0.0 && grew >= 0.2 * nadir && grew >= 5.0) {
        "PD (progressive disease)".into()
    } else if b > 0.0 && l == 0.0 {
        "CR (complete response)".into()
    } else if b > 0.0 && (b - l) >= 0.3 * b {
        "PR (partial response)".into()
    } else {
        "SD (stable disease)".into()
    }
}

/// The table as a grid: a header per time point, a row per lesion, the sums.
pub fn show(ui: &mut egui::Ui, table: &LesionTable) {
    if table.rows.is_empty() {
        ui.label("No lesions: label them in either image (a label value is a lesion id).");
        return;
    }
    egui::Grid::new("lesion_table_grid")
        .striped(true)
        .num_columns(2 + 3 * table.time_points.len())
        .show(ui, |ui| {
            ui.strong("Lesion");
            for (t, name) in table.time_points.iter().enumerate() {
                ui.strong(format!("T{} mL", t + 1)).on_hover_text(name);
                ui.strong(format!("T{} long mm", t + 1));
                ui.strong(format!("T{} short mm", t + 1));
            }
            ui.strong("Status");
            ui.end_row();
            for row in &table.rows {
                ui.label(format!("{} {}", row.lesion_id, row.name));
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
            ui.strong("Sum");
            for s in &table.sums {
                ui.strong(format!("{:.2}", s.volume_ml));
                ui.strong(format!("{:.1}", s.long_axis_mm));
                ui.label("");
            }
            ui.strong(&table.response);
            ui.end_row();
        });
    ui.label("Time points:");
    for (t, name) in table.time_points.iter().enumerate() {
        ui.label(format!("T{}: {name}", t + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(label: u8, volume_ml: f64, long: f64) -> LabelStats {
        LabelStats {
            label,
            name: None,
            voxels: 10,
            volume_ml,
            mean: 0.0,
            sd: 0.0,
            min: 0.0,
            max: 0.0,
            bbox_voxel: [[0; 3]; 2],
            bbox_ras_mm: [[0.0; 3]; 2],
            centroid_ras_mm: [0.0; 3],
            max_diameter_mm: long,
            max_diameter_ends_ras_mm: [[0.0; 3]; 2],
            recist_long_mm: long,
            recist_short_mm: long / 2.0,
            recist_slice: 0,
            recist_axis: 2,
        }
    }

    #[test]
    fn rows_statuses_sums_and_response() {
        let t1 = [stat(1, 2.0, 20.0), stat(2, 1.0, 10.0)];
        let t2 = [stat(1, 1.0, 12.0), stat(3, 0.5, 6.0)];
        let table = from_label_stats(
            &[
                TimePointStats {
                    name: "a".into(),
                    stats: &t1,
                },
                TimePointStats {
                    name: "b".into(),
                    stats: &t2,
                },
            ],
            &LabelSet::default(),
        );
        let ids: Vec<u32> = table.rows.iter().map(|r| r.lesion_id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let statuses: Vec<&str> = table.rows.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["-40 %", "gone", "new"]);
        assert_eq!(table.sums[0].long_axis_mm, 30.0);
        assert_eq!(table.sums[1].long_axis_mm, 18.0);
        // A new lesion is progression whatever the sums do.
        assert!(table.response.starts_with("PD"), "{}", table.response);
        assert_eq!(
            response(
                &[
                    TimePointSums {
                        volume_ml: 1.0,
                        long_axis_mm: 30.0
                    },
                    TimePointSums {
                        volume_ml: 1.0,
                        long_axis_mm: 18.0
                    }
                ],
                false
            ),
            "PR (partial response)"
        );
    }
}
