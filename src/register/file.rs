//! Transform files: our JSON (4×4 RAS matrices both ways plus the report)
//! and ITK's text transform format (.tfm/.txt), which holds LPS parameters of
//! a named transform class mapping fixed points to moving points.

use std::io::Write;
use std::path::{Path, PathBuf};

use glam::{DMat3, DMat4, DQuat, DVec3};
use serde::Serialize;

use super::transform::{euler_matrix, matrix_about_centre, ras_map_from_lps_map};
use super::{ItkTransform, LevelReport, RegisterError, Registration};

#[derive(Serialize)]
struct JsonReport<'a> {
    /// Rows of the 4×4 matrix taking fixed RAS mm to moving RAS mm.
    moving_ras_from_fixed_ras: [[f64; 4]; 4],
    fixed_ras_from_moving_ras: [[f64; 4]; 4],
    kind: &'static str,
    metric: &'static str,
    final_metric: f64,
    initial_metric: f64,
    initializer: &'static str,
    levels: &'a [LevelReport],
    fixed: Option<&'a str>,
    moving: Option<&'a str>,
    /// The ITK transform file written beside the JSON.
    itk_transform: Option<String>,
    /// The same transform as ITK holds it (LPS).
    itk: &'a ItkTransform,
    seconds: f64,
}

fn rows(m: DMat4) -> [[f64; 4]; 4] {
    m.transpose().to_cols_array_2d()
}

fn from_rows(r: [[f64; 4]; 4]) -> DMat4 {
    DMat4::from_cols_array_2d(&r).transpose()
}

/// The `.tfm` written beside a `.json`.
pub fn itk_path_beside(json: &Path) -> PathBuf {
    json.with_extension("tfm")
}

fn lower_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The JSON text of a registration (what `--json` prints); `itk_file` names
/// the ITK file written beside it, if any.
pub fn json_text(reg: &Registration, itk_file: Option<&Path>) -> String {
    let report = JsonReport {
        moving_ras_from_fixed_ras: rows(reg.moving_ras_from_fixed_ras),
        fixed_ras_from_moving_ras: rows(reg.moving_ras_from_fixed_ras.inverse()),
        kind: reg.kind.as_str(),
        metric: "Mattes mutual information (ITK v4 Parzen windows), negated",
        final_metric: reg.final_metric,
        initial_metric: reg.initial_metric,
        initializer: reg.initializer.as_str(),
        levels: &reg.levels,
        fixed: reg.fixed_file.as_deref(),
        moving: reg.moving_file.as_deref(),
        itk_transform: itk_file
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into()),
        itk: &reg.itk,
        seconds: reg.seconds,
    };
    serde_json::to_string_pretty(&report).expect("plain numbers and strings serialise")
}

/// ITK's text form of the transform.
pub fn itk_text(itk: &ItkTransform) -> String {
    let join = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "#Insight Transform File V1.0\n#Transform 0\nTransform: {}\nParameters: {}\nFixedParameters: {}\n",
        itk.class,
        join(&itk.parameters),
        join(&itk.fixed_parameters)
    )
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RegisterError> {
    let io = |source| RegisterError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = crate::atomic_file::temp_file_for(path).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes by extension: `.json` writes the JSON and the ITK file beside it
/// (same name, `.tfm`); `.tfm` or `.txt` writes the ITK file alone.
/// Each file is written atomically.
pub fn write_transform(path: &Path, reg: &Registration) -> Result<(), RegisterError> {
    let name = lower_name(path);
    if name.ends_with(".json") {
        let itk = itk_path_beside(path);
        write_atomic(&itk, itk_text(&reg.itk).as_bytes())?;
        write_atomic(path, json_text(reg, Some(&itk)).as_bytes())
    } else if name.ends_with(".tfm") || name.ends_with(".txt") {
        write_atomic(path, itk_text(&reg.itk).as_bytes())
    } else {
        Err(RegisterError::TransformFile {
            path: path.to_owned(),
            message: "transform files end in .json, .tfm or .txt".into(),
        })
    }
}

/// Reads moving_ras_from_fixed_ras from our JSON or an ITK text transform
/// file (a composite's transforms are composed, the last applied first).
pub fn read_transform(path: &Path) -> Result<DMat4, RegisterError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegisterError::Io {
        path: path.to_owned(),
        source,
    })?;
    let fail = |message: String| RegisterError::TransformFile {
        path: path.to_owned(),
        message,
    };
    if lower_name(path).ends_with(".json") || text.trim_start().starts_with('{') {
        #[derive(serde::Deserialize)]
        struct Matrix {
            moving_ras_from_fixed_ras: [[f64; 4]; 4],
        }
        let m: Matrix = serde_json::from_str(&text)
            .map_err(|e| fail(format!("not a rayseg transform JSON: {e}")))?;
        return check(from_rows(m.moving_ras_from_fixed_ras), &fail);
    }
    let lps = parse_itk(&text).map_err(fail)?;
    check(ras_map_from_lps_map(lps), &fail)
}

fn check(m: DMat4, fail: &dyn Fn(String) -> RegisterError) -> Result<DMat4, RegisterError> {
    let finite = m.to_cols_array().iter().all(|x| x.is_finite());
    let last_row = [m.x_axis.w, m.y_axis.w, m.z_axis.w, m.w_axis.w];
    if !finite || last_row != [0.0, 0.0, 0.0, 1.0] {
        return Err(fail("the matrix is not a finite affine map".into()));
    }
    if DMat3::from_mat4(m).determinant().abs() < 1e-12 {
        return Err(fail("the matrix is singular".into()));
    }
    Ok(m)
}

fn numbers(line: &str) -> Result<Vec<f64>, String> {
    line.split_whitespace()
        .map(|w| {
            w.parse::<f64>()
                .map_err(|_| format!("{w:?} is not a number"))
        })
        .collect()
}

/// moving_lps_from_fixed_lps of an ITK text transform file.
fn parse_itk(text: &str) -> Result<DMat4, String> {
    if !text.trim_start().starts_with("#Insight Transform File") {
        return Err(
            "not an ITK text transform file (no #Insight Transform File header; \
             HDF5 .h5 and MATLAB .mat transforms are not read)"
                .into(),
        );
    }
    // (class, parameters, fixed parameters) in file order.
    let mut blocks: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(class) = line.strip_prefix("Transform:") {
            blocks.push((class.trim().to_string(), Vec::new(), Vec::new()));
        } else if let Some(rest) = line.strip_prefix("FixedParameters:") {
            let b = blocks
                .last_mut()
                .ok_or("FixedParameters before any Transform")?;
            b.2 = numbers(rest)?;
        } else if let Some(rest) = line.strip_prefix("Parameters:") {
            let b = blocks.last_mut().ok_or("Parameters before any Transform")?;
            b.1 = numbers(rest)?;
        }
    }
    let mut m = DMat4::IDENTITY;
    let mut any = false;
    for (class, p, f) in &blocks {
        let base = class
            .strip_suffix("_double_3_3")
            .or_else(|| class.strip_suffix("_float_3_3"))
            .ok_or_else(|| format!("{class}: only 3-D double or float transforms are read"))?;
        if base == "CompositeTransform" {
            continue;
        }
        // Composite transforms apply their last transform first.
        m *= one_transform(base, p, f).map_err(|e| format!("{class}: {e}"))?;
        any = true;
    }
    if !any {
        return Err("no transform in the file".into());
    }
    Ok(m)
}

fn one_transform(base: &str, p: &[f64], f: &[f64]) -> Result<DMat4, String> {
    let need = |np: usize, nf: &[usize]| -> Result<(), String> {
        if p.len() != np || !nf.contains(&f.len()) {
            return Err(format!(
                "{} parameters and {} fixed parameters (expected {np} and {nf:?})",
                p.len(),
                f.len()
            ));
        }
        Ok(())
    };
    let v3 = |s: &[f64]| DVec3::new(s[0], s[1], s[2]);
    let versor = |s: &[f64]| -> Result<DMat3, String> {
        let n2 = s[0] * s[0] + s[1] * s[1] + s[2] * s[2];
        if n2 > 1.0 + 1e-9 {
            return Err("versor longer than 1".into());
        }
        let w = (1.0 - n2).max(0.0).sqrt();
        Ok(DMat3::from_quat(DQuat::from_xyzw(s[0], s[1], s[2], w)))
    };
    match base {
        "IdentityTransform" => Ok(DMat4::IDENTITY),
        "TranslationTransform" => {
            need(3, &[0])?;
            Ok(DMat4::from_translation(v3(p)))
        }
        "AffineTransform" | "MatrixOffsetTransformBase" | "Rigid3DTransform" => {
            need(12, &[3])?;
            let m = DMat3::from_cols_array(&[p[0], p[3], p[6], p[1], p[4], p[7], p[2], p[5], p[8]]);
            Ok(matrix_about_centre(m, v3(&p[9..]), v3(f)))
        }
        "Euler3DTransform" => {
            need(6, &[3, 4])?;
            let zyx = f.len() == 4 && f[3] != 0.0;
            let m = euler_matrix(p[0], p[1], p[2], zyx);
            Ok(matrix_about_centre(m, v3(&p[3..]), v3(f)))
        }
        "VersorRigid3DTransform" => {
            need(6, &[3])?;
            Ok(matrix_about_centre(versor(p)?, v3(&p[3..]), v3(f)))
        }
        "Similarity3DTransform" => {
            need(7, &[3])?;
            Ok(matrix_about_centre(versor(p)? * p[6], v3(&p[3..6]), v3(f)))
        }
        other => Err(format!("the {other} class is not read")),
    }
}
