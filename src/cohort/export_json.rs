//! The index files of an exported dataset: nnU-Net v2's `dataset.json` (and
//! `splits_final.json` with folds), MONAI's `datalist.json`, and
//! `export_report.json` with what was left out and why.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::export::{DatasetFormat, ExportError, ExportOptions, ExportReport};

fn write_json(path: &Path, value: &Value) -> Result<(), ExportError> {
    let io = |source| ExportError::Io {
        path: path.to_owned(),
        source,
    };
    let mut text = serde_json::to_string_pretty(value).map_err(|e| io(e.into()))?;
    text.push('\n');
    crate::annotate::label_files::write_atomic(path, text.as_bytes())
        .map_err(|e| io(std::io::Error::other(e.to_string())))
}

/// Label name → value with background 0, as nnU-Net v2 wants it.
fn nnunet_labels(report: &ExportReport) -> Map<String, Value> {
    let mut labels = Map::new();
    labels.insert("background".into(), json!(0));
    for (v, name) in &report.labels {
        labels.insert(name.clone(), json!(v));
    }
    labels
}

fn description(options: &ExportOptions) -> String {
    options.description.clone().unwrap_or_else(|| {
        format!(
            "Reviewed (completed) annotations exported by rayseg {}",
            env!("CARGO_PKG_VERSION")
        )
    })
}

pub(super) fn write_index(
    report: &ExportReport,
    options: &ExportOptions,
) -> Result<(), ExportError> {
    let dir = &report.output;
    let name = options.name.clone().unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rayseg".into())
    });
    match report.format {
        DatasetFormat::NnUnet => {
            let dataset = json!({
                "name": name,
                "description": description(options),
                "channel_names": { "0": report.channel_name },
                "labels": nnunet_labels(report),
                "numTraining": report.exported.len(),
                "file_ending": ".nii.gz",
            });
            write_json(&dir.join("dataset.json"), &dataset)?;
            if let Some(k) = options.folds {
                // nnU-Net reads this from nnUNet_preprocessed/DatasetXXX/.
                let splits: Vec<Value> = (0..k)
                    .map(|f| {
                        let (val, train): (Vec<_>, Vec<_>) =
                            report.exported.iter().partition(|s| s.fold == Some(f));
                        let ids = |v: Vec<&super::export::ExportedScan>| {
                            v.into_iter().map(|s| s.scan_id.clone()).collect::<Vec<_>>()
                        };
                        json!({ "train": ids(train), "val": ids(val) })
                    })
                    .collect();
                write_json(&dir.join("splits_final.json"), &Value::Array(splits))?;
            }
        }
        DatasetFormat::Monai => {
            let mut labels = Map::new();
            labels.insert("0".into(), json!("background"));
            for (v, n) in &report.labels {
                labels.insert(v.to_string(), json!(n));
            }
            let training: Vec<Value> = report
                .exported
                .iter()
                .map(|s| {
                    let mut e = json!({ "image": s.image_out, "label": s.labels_out });
                    if let Some(f) = s.fold {
                        e["fold"] = json!(f);
                    }
                    e
                })
                .collect();
            let datalist = json!({
                "name": name,
                "description": description(options),
                "modality": { "0": report.channel_name },
                "labels": labels,
                "numTraining": training.len(),
                "training": training,
            });
            write_json(&dir.join("datalist.json"), &datalist)?;
        }
    }
    let value = serde_json::to_value(report).map_err(|e| ExportError::Io {
        path: dir.join("export_report.json"),
        source: e.into(),
    })?;
    write_json(&dir.join("export_report.json"), &value)
}
