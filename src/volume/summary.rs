//! A serialisable description of a loaded volume (`rayseg info --json`).

use serde::Serialize;

use super::{SeriesSummary, Volume};

#[derive(Debug, Serialize)]
pub struct VolumeSummary {
    pub shape: [usize; 3],
    pub spacing_mm: [f64; 3],
    /// Row-major 4×4, RAS+ millimetres.
    pub ras_from_voxel: [[f64; 4]; 4],
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub sum: f64,
    pub nonzero: u64,
    /// NaN voxels, left out of min, max, mean, sum and nonzero.
    pub nan: u64,
    pub dtype: &'static str,
    pub modality: String,
    pub format: String,
    pub volumes: usize,
    pub volume_index: usize,
    pub series_uid: Option<String>,
    pub other_series: Vec<SeriesSummary>,
    pub transfer_syntax: Option<String>,
    pub warnings: Vec<String>,
}

impl VolumeSummary {
    pub fn new(v: &Volume) -> Self {
        let cols = v.ras_from_voxel.to_cols_array_2d();
        let s = v.stats();
        VolumeSummary {
            shape: v.shape,
            spacing_mm: v.spacing_mm,
            ras_from_voxel: std::array::from_fn(|r| std::array::from_fn(|c| cols[c][r])),
            min: s.min,
            max: s.max,
            mean: s.mean,
            sum: s.sum,
            nonzero: s.nonzero,
            nan: s.nan,
            dtype: v.data.type_name(),
            modality: v.modality.as_str().to_string(),
            format: v.provenance.format.clone(),
            volumes: v.provenance.volumes_in_source,
            volume_index: v.provenance.volume_index,
            series_uid: v.provenance.series_uid.clone(),
            other_series: v.provenance.other_series.clone(),
            transfer_syntax: v.provenance.transfer_syntax.clone(),
            warnings: v.warnings.clone(),
        }
    }

    /// Human-readable lines for `rayseg info` without `--json`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!("format        {}", self.format));
        line(format!("modality      {}", self.modality));
        line(format!(
            "shape (i,j,k) {} x {} x {}  ({})",
            self.shape[0], self.shape[1], self.shape[2], self.dtype
        ));
        line(format!(
            "spacing (mm)  {:.6} x {:.6} x {:.6}",
            self.spacing_mm[0], self.spacing_mm[1], self.spacing_mm[2]
        ));
        line("ras_from_voxel".to_string());
        for row in &self.ras_from_voxel {
            line(format!(
                "  [{:>12.6} {:>12.6} {:>12.6} {:>12.6}]",
                row[0], row[1], row[2], row[3]
            ));
        }
        line(format!(
            "values        min {}  max {}  mean {:.6}",
            self.min, self.max, self.mean
        ));
        if self.volumes > 1 {
            line(format!(
                "volume        {} of {}",
                self.volume_index, self.volumes
            ));
        }
        if let Some(uid) = &self.series_uid {
            line(format!("series        {uid}"));
        }
        if let Some(ts) = &self.transfer_syntax {
            line(format!("transfer      {ts}"));
        }
        for s in &self.other_series {
            line(format!(
                "other series  {} ({} images, {}) {}",
                s.series_uid, s.images, s.modality, s.description
            ));
        }
        for w in &self.warnings {
            line(format!("warning       {w}"));
        }
        out
    }
}
