//! Every use of registration by the app, behind one seam: reading a transform
//! file and the "Register" action's worker. Transforms are
//! `moving_ras_from_fixed_ras` (ITK's convention: a point of the first, fixed
//! image in RAS mm to the same anatomy in the second, moving image).
//!
//! `rayseg::register` is not in this build yet: [`register_volumes`] is where
//! it will be called, and [`read_transform`] reads the JSON form itself.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use glam::DMat4;

use crate::volume::Volume;

/// What registration found.
#[derive(Clone, Debug, PartialEq)]
pub struct Registered {
    pub moving_ras_from_fixed_ras: DMat4,
    pub final_metric: f64,
}

/// Reads a transform file: JSON with `"moving_ras_from_fixed_ras"`, a 4×4
/// matrix as 4 rows (the bottom one 0 0 0 1).
pub fn read_transform(path: &Path) -> Result<DMat4, String> {
    let name = path.display();
    let lower = path.to_string_lossy().to_ascii_lowercase();
    if lower.ends_with(".tfm") || lower.ends_with(".txt") {
        return Err(format!(
            "{name}: ITK .tfm transforms need rayseg::register, not in this build (use the JSON form)"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    transform_from_json(&text).map_err(|e| format!("{name}: {e}"))
}

/// The JSON form's matrix (see [`read_transform`]).
pub fn transform_from_json(text: &str) -> Result<DMat4, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let rows = json
        .get("moving_ras_from_fixed_ras")
        .ok_or("no \"moving_ras_from_fixed_ras\" key")?;
    let rows: Vec<Vec<f64>> = serde_json::from_value(rows.clone())
        .map_err(|e| format!("moving_ras_from_fixed_ras is not 4 rows of 4 numbers: {e}"))?;
    if rows.len() != 4 || rows.iter().any(|r| r.len() != 4) {
        return Err("moving_ras_from_fixed_ras must be 4 rows of 4 numbers".into());
    }
    if rows.iter().flatten().any(|v| !v.is_finite()) {
        return Err("moving_ras_from_fixed_ras holds a non-finite number".into());
    }
    let bottom = &rows[3];
    if bottom[0] != 0.0 || bottom[1] != 0.0 || bottom[2] != 0.0 || bottom[3] != 1.0 {
        return Err("moving_ras_from_fixed_ras's last row must be 0 0 0 1 (an affine)".into());
    }
    // Rows in the file; glam takes columns.
    let m = DMat4::from_cols_array_2d(&[
        [rows[0][0], rows[1][0], rows[2][0], rows[3][0]],
        [rows[0][1], rows[1][1], rows[2][1], rows[3][1]],
        [rows[0][2], rows[1][2], rows[2][2], rows[3][2]],
        [rows[0][3], rows[1][3], rows[2][3], rows[3][3]],
    ]);
    if m.determinant().abs() < 1e-9 {
        return Err("moving_ras_from_fixed_ras is singular".into());
    }
    Ok(m)
}

/// Registers the second image to the first (rigid). To be pointed at
/// `rayseg::register::register(fixed, moving, &RegisterOptions::default())`.
pub fn register_volumes(fixed: &Volume, moving: &Volume) -> Result<Registered, String> {
    let _ = (fixed, moving);
    Err("registration not available in this build".into())
}

/// A registration running on a worker thread.
pub struct RegisterJob {
    rx: Receiver<Result<Registered, String>>,
}

impl RegisterJob {
    pub fn start(fixed: Arc<Volume>, moving: Arc<Volume>) -> Self {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(register_volumes(&fixed, &moving));
        });
        RegisterJob { rx }
    }

    /// `Some` once done (or the worker died).
    pub fn poll(&self) -> Option<Result<Registered, String>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err("registration stopped unexpectedly".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;

    #[test]
    fn json_rows_are_rows() {
        let m = transform_from_json(
            r#"{"moving_ras_from_fixed_ras": [[1,0,0,5],[0,1,0,-3],[0,0,1,2.5],[0,0,0,1]],
                "final_metric": -0.9}"#,
        )
        .expect("transform");
        assert_eq!(
            m.transform_point3(DVec3::new(1.0, 2.0, 3.0)),
            DVec3::new(6.0, -1.0, 5.5)
        );
        assert!(transform_from_json(r#"{"other": 1}"#).is_err());
        assert!(transform_from_json(r#"{"moving_ras_from_fixed_ras": [[1,0,0,0]]}"#).is_err());
        assert!(
            transform_from_json(
                r#"{"moving_ras_from_fixed_ras": [[0,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}"#
            )
            .is_err()
        );
    }
}
