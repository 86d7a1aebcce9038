//! MetaImage geometry to `ras_from_voxel`, matching SimpleITK's reading:
//!
//! * `TransformMatrix` is ITK's direction matrix written column after
//!   column: its first NDims values are the LPS direction of axis i (checked
//!   with a non-symmetric oblique matrix, and `sitk.WriteImage` writes it so);
//! * the LPS affine is `origin + direction · diag(spacing) · index`, the
//!   direction used as written (ITK does not normalise it); rows x and y are
//!   negated for RAS;
//! * `AnatomicalOrientation` and `CenterOfRotation` change nothing in ITK,
//!   so they change nothing here; a contradicting `AnatomicalOrientation`
//!   is reported as a warning;
//! * 2-D: ITK gives a 2×2 direction; here the one slice gets the 3rd axis
//!   +z (superior), 1 mm, origin z = 0;
//! * 4-D: ITK gives a 4×4 direction; its spatial 3×3 block, the first three
//!   origin values and spacings place each volume.

use glam::{DMat3, DMat4, DVec3};

use super::header::Header;
use crate::volume::LoadErrorKind;

/// Voxel index to RAS millimetres, plus warnings about the matrix.
pub fn ras_from_voxel(h: &Header, warnings: &mut Vec<String>) -> Result<DMat4, LoadErrorKind> {
    let n = h.ndims;
    let directions: [DVec3; 3] = std::array::from_fn(|axis| direction(h, axis));
    let spacing = |axis: usize| h.spacing.get(axis).copied().unwrap_or(1.0);
    let lps = DMat3::from_cols(
        directions[0] * spacing(0),
        directions[1] * spacing(1),
        directions[2] * spacing(2),
    );
    let origin = DVec3::from_array(std::array::from_fn(|r| {
        h.origin.get(r).copied().unwrap_or(0.0)
    }));
    let scale = lps.x_axis.length() * lps.y_axis.length() * lps.z_axis.length();
    let det = lps.determinant();
    if !det.is_finite() || det.abs() <= 1e-9 * scale {
        return Err(LoadErrorKind::BadHeader(format!(
            "TransformMatrix {:?} is singular: the voxel axes do not span space",
            h.transform
        )));
    }
    let d = DMat3::from_cols(directions[0], directions[1], directions[2]);
    if (d.transpose() * d - DMat3::IDENTITY)
        .to_cols_array()
        .iter()
        .any(|x| x.abs() > 1e-4)
    {
        warnings.push(format!(
            "TransformMatrix {:?} is not a rotation; used as written, as ITK does",
            h.transform
        ));
    }
    if n == 4 {
        let mixed = (0..3).any(|i| h.transform[3 * 4 + i] != 0.0 || h.transform[i * 4 + 3] != 0.0);
        if mixed {
            warnings.push(
                "the 4th axis is tilted into space in TransformMatrix; only the spatial 3×3 \
                 block places each volume"
                    .into(),
            );
        }
    }
    if let Some(code) = &h.anatomical_orientation
        && let Some(implied) = contradiction(code, &directions[..n.min(3)])
    {
        warnings.push(format!(
            "AnatomicalOrientation = {code} contradicts TransformMatrix (which reads as \
             {implied}); ignored, as ITK ignores it"
        ));
    }
    let ras_from_lps = DVec3::new(-1.0, -1.0, 1.0);
    Ok(DMat4::from_cols(
        (lps.x_axis * ras_from_lps).extend(0.0),
        (lps.y_axis * ras_from_lps).extend(0.0),
        (lps.z_axis * ras_from_lps).extend(0.0),
        (origin * ras_from_lps).extend(1.0),
    ))
}

/// LPS direction of voxel axis `axis`: ITK's direction column (run `axis`
/// of the matrix), cut to 3 rows; for a 2-D image the missing axis is +z.
fn direction(h: &Header, axis: usize) -> DVec3 {
    let n = h.ndims;
    if axis >= n {
        return DVec3::Z;
    }
    DVec3::from_array(std::array::from_fn(|row| {
        if row < n {
            h.transform[axis * n + row]
        } else {
            0.0
        }
    }))
}

/// The code the matrix implies if `code` disagrees with it. Letters follow
/// ITK's convention, naming where each axis comes *from*: the identity is
/// `RAI` (i runs right to left, j anterior to posterior, k inferior to
/// superior). `?` letters, and codes that are not letters, are not checked.
fn contradiction(code: &str, directions: &[DVec3]) -> Option<String> {
    const FROM: [[char; 2]; 3] = [['R', 'L'], ['A', 'P'], ['I', 'S']];
    let implied: String = directions
        .iter()
        .map(|d| {
            let a = d.abs();
            let row = if a.x >= a.y && a.x >= a.z {
                0
            } else if a.y >= a.z {
                1
            } else {
                2
            };
            FROM[row][usize::from(d[row] < 0.0)]
        })
        .collect();
    let disagrees = code.chars().zip(directions).any(|(letter, d)| {
        let Some((row, side)) = FROM
            .iter()
            .enumerate()
            .find_map(|(row, pair)| pair.iter().position(|&c| c == letter).map(|s| (row, s)))
        else {
            return false;
        };
        let along = if side == 0 { d[row] } else { -d[row] };
        let largest = d.abs().max_element();
        along <= 0.0 || along < largest - 1e-6
    });
    disagrees.then_some(implied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(cols: [[f64; 3]; 3]) -> Vec<DVec3> {
        cols.iter().map(|c| DVec3::from_array(*c)).collect()
    }

    #[test]
    fn orientation_letters_name_where_axes_come_from() {
        let identity = dirs([[1., 0., 0.], [0., 1., 0.], [0., 0., 1.]]);
        assert_eq!(contradiction("RAI", &identity), None);
        assert_eq!(contradiction("???", &identity), None);
        assert_eq!(contradiction("LPS", &identity).as_deref(), Some("RAI"));
        // SimpleITK writes SLA for this oblique matrix.
        let oblique = dirs([[0.36, 0.48, -0.8], [-0.8, 0.6, 0.0], [0.48, 0.64, 0.6]]);
        assert_eq!(contradiction("SLA", &oblique), None);
        assert_eq!(contradiction("RAI", &oblique).as_deref(), Some("SLA"));
    }
}
