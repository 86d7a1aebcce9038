//! Which axes are spatial, and the voxel-to-RAS matrix, matched to what
//! SimpleITK (ITK's NrrdImageIO, via teem's NrrdIO) makes of the header.
//! ITK's result is an LPS affine; rayseg's RAS one is that with rows x and y
//! negated. Places where ITK's choice is surprising say so.

use glam::{DMat3, DMat4, DVec3};

use super::header::{Center, Header, Kind, Space};
use crate::volume::LoadErrorKind;

/// The spatial axes (2 or 3, in file order, fastest first) and the one
/// non-spatial axis volumes are picked from, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axes {
    pub spatial: Vec<usize>,
    pub volume_axis: Option<usize>,
}

fn unsupported(message: impl Into<String>) -> LoadErrorKind {
    LoadErrorKind::Unsupported(message.into())
}

fn bad(message: impl Into<String>) -> LoadErrorKind {
    LoadErrorKind::BadHeader(message.into())
}

/// An axis is non-spatial when its kind says so (list, vector, RGB-color,
/// time, ...) or its space direction is `none`.
pub fn classify(h: &Header, warnings: &mut Vec<String>) -> Result<Axes, LoadErrorKind> {
    let dimension = h.sizes.len();
    if !(2..=4).contains(&dimension) {
        return Err(unsupported(format!(
            "a {dimension}-dimensional NRRD: only 2-D, 3-D and 4-D images \
             (3-D plus one list, vector or time axis) are read"
        )));
    }
    let kind = |a: usize| h.kinds.as_ref().map_or(&Kind::Unknown, |k| &k[a]);
    let mut non_spatial: Vec<usize> = (0..dimension)
        .filter(|&a| {
            matches!(kind(a), Kind::Range(_) | Kind::Time)
                || h.space_directions.as_ref().is_some_and(|d| d[a].is_none())
        })
        .collect();
    if non_spatial.is_empty() && dimension == 4 {
        // SimpleITK reads such a file as a 4-D image whose last axis is the
        // fourth; its volumes are the slabs along that axis.
        non_spatial.push(3);
        warnings.push(
            "no axis is marked non-spatial (by `kinds` or a `none` space direction): \
             the last axis is taken as the volume axis"
                .into(),
        );
    }
    if non_spatial.len() > 1 {
        return Err(unsupported(format!(
            "axes {non_spatial:?} are all non-spatial; at most one list, vector or time \
             axis is read"
        )));
    }
    let spatial: Vec<usize> = (0..dimension)
        .filter(|a| !non_spatial.contains(a))
        .collect();
    if spatial.len() < 2 {
        return Err(unsupported(
            "a single spatial axis (a 1-D signal, not an image)",
        ));
    }
    Ok(Axes {
        spatial,
        volume_axis: non_spatial.first().copied(),
    })
}

/// Sign applied to the file's coordinates to get RAS, as ITK's reader does
/// it: ITK converts RAS and LAS to LPS and leaves every other space alone,
/// so scanner-xyz, 3D-right/left-handed, a bare `space dimension`, and
/// even right-anterior-superior-time are read as if they were LPS.
fn ras_sign(space: Option<Space>) -> DVec3 {
    match space {
        Some(Space::Ras) => DVec3::new(1.0, 1.0, 1.0),
        Some(Space::Las) => DVec3::new(-1.0, 1.0, 1.0),
        _ => LPS_TO_RAS,
    }
}

const LPS_TO_RAS: DVec3 = DVec3::new(-1.0, -1.0, 1.0);

fn space_dimension(h: &Header) -> Result<Option<usize>, LoadErrorKind> {
    match (h.space, h.space_dimension) {
        (Some(s), Some(d)) if s.dimension() != d => Err(bad(format!(
            "space dimension {d} contradicts the {}-D space named by `space`",
            s.dimension()
        ))),
        (Some(s), _) => Ok(Some(s.dimension())),
        (None, d) => Ok(d),
    }
}

/// First three coordinates of a space vector (a 2-D one gets z = 0).
fn vec3(v: &[f64]) -> DVec3 {
    DVec3::new(
        v.first().copied().unwrap_or(0.0),
        v.get(1).copied().unwrap_or(0.0),
        v.get(2).copied().unwrap_or(0.0),
    )
}

/// Voxel index (of the spatial axes, in file order) to RAS millimetres.
pub fn ras_from_voxel(
    h: &Header,
    axes: &Axes,
    warnings: &mut Vec<String>,
) -> Result<DMat4, LoadErrorKind> {
    let (columns, origin) = match space_dimension(h)? {
        Some(sd) => with_space(h, axes, sd, warnings)?,
        None => without_space(h, axes, warnings)?,
    };
    let mut cols = [DVec3::ZERO, DVec3::ZERO, DVec3::Z];
    cols[..columns.len()].copy_from_slice(&columns);
    let m = DMat3::from_cols(cols[0], cols[1], cols[2]);
    let scale = cols.iter().map(|c| c.length()).product::<f64>();
    let det = m.determinant();
    if !det.is_finite() || !scale.is_finite() || det.abs() <= 1e-9 * scale || scale == 0.0 {
        let listed: Vec<String> = cols[..columns.len()]
            .iter()
            .map(|c| format!("({}, {}, {})", c.x, c.y, c.z))
            .collect();
        return Err(bad(format!(
            "the axis directions {} are degenerate (zero or parallel vectors)",
            listed.join(" ")
        )));
    }
    Ok(DMat4::from_cols(
        cols[0].extend(0.0),
        cols[1].extend(0.0),
        cols[2].extend(0.0),
        origin.extend(1.0),
    ))
}

/// `space` / `space dimension` given: columns from `space directions`,
/// origin from `space origin`.
fn with_space(
    h: &Header,
    axes: &Axes,
    sd: usize,
    warnings: &mut Vec<String>,
) -> Result<(Vec<DVec3>, DVec3), LoadErrorKind> {
    if !(2..=4).contains(&sd) {
        return Err(unsupported(format!(
            "space dimension {sd}: only 2-D, 3-D and 3-D+time spaces are read"
        )));
    }
    if sd == 2 && axes.spatial.len() == 3 {
        return Err(bad("three spatial axes in a 2-D space"));
    }
    let sign = if sd == 2 {
        LPS_TO_RAS // ITK reads a 2-D image as LPS x, y too
    } else {
        ras_sign(h.space)
    };
    let check_len = |v: &[f64], what: &str| {
        if v.len() == sd {
            Ok(())
        } else {
            Err(bad(format!(
                "{what} has {} coordinates in a {sd}-D space",
                v.len()
            )))
        }
    };
    let mut columns = Vec::new();
    match &h.space_directions {
        Some(dirs) => {
            for d in dirs.iter().flatten() {
                check_len(d, "a space direction")?;
            }
            for &a in &axes.spatial {
                // A `none` entry makes the axis non-spatial, except on the
                // 4th axis chosen for lack of kinds; its vector is unused.
                let v = dirs[a]
                    .as_deref()
                    .ok_or_else(|| bad(format!("spatial axis {a} has no space direction")))?;
                if v.iter().any(|x| x.is_nan()) {
                    return Err(bad(format!("the space direction of axis {a} is nan")));
                }
                columns.push(vec3(v) * sign);
            }
        }
        None => {
            // ITK keeps its defaults, unit spacing along LPS axes: not the
            // file's space, so a RAS file without directions is read as LPS.
            warnings.push("no `space directions`: 1 mm voxels along the LPS axes assumed".into());
            for p in 0..axes.spatial.len() {
                let mut e = DVec3::ZERO;
                e[p] = 1.0;
                columns.push(e * LPS_TO_RAS);
            }
        }
    }
    if columns.len() == 2 && sd >= 3 {
        // A slice placed in 3-D: ITK refuses it (2 image axes, 3-D space);
        // rayseg gives the slice a 1 mm normal.
        let normal = columns[0].cross(columns[1]).normalize_or_zero();
        columns.push(normal);
    }
    let origin = match &h.space_origin {
        Some(o) => {
            check_len(o, "the space origin")?;
            if o.iter().all(|x| x.is_finite()) {
                vec3(o) * sign
            } else {
                DVec3::ZERO // all nan: unknown, as ITK leaves it
            }
        }
        None => {
            warnings.push("no `space origin`: the origin is taken as 0".into());
            DVec3::ZERO
        }
    };
    Ok((columns, origin))
}

/// No space: the old per-axis `spacings`, `axis mins`/`axis maxs` and
/// `centers`, read as ITK reads them (in LPS).
fn without_space(
    h: &Header,
    axes: &Axes,
    warnings: &mut Vec<String>,
) -> Result<(Vec<DVec3>, DVec3), LoadErrorKind> {
    let at = |v: &Option<Vec<f64>>, a: usize| v.as_ref().map_or(f64::NAN, |v| v[a]);
    let mut columns = Vec::new();
    for (p, &a) in axes.spatial.iter().enumerate() {
        let spacing = at(&h.spacings, a);
        if spacing == 0.0 {
            return Err(bad(format!("axis {a} has spacing 0")));
        }
        // A negative spacing flips the axis (ITK turns it into a direction).
        let mut e = DVec3::ZERO;
        e[p] = if spacing.is_finite() { spacing } else { 1.0 };
        columns.push(e * LPS_TO_RAS);
    }
    let origin = itk_origin(h);
    let mut origin_lps = DVec3::ZERO;
    let mut lost = false;
    for (p, &a) in axes.spatial.iter().enumerate() {
        let o = origin.get(a).copied().flatten().unwrap_or(0.0);
        lost |= !o.is_finite();
        origin_lps[p] = if o.is_finite() { o } else { 0.0 };
    }
    if lost {
        warnings.push("`axis mins` holds nan: those origin coordinates are taken as 0".into());
    }
    if h.spacings.is_none() && h.axis_mins.is_none() && h.axis_maxs.is_none() {
        warnings.push(
            "no space, spacing or origin information: 1 mm voxels at the origin assumed".into(),
        );
    }
    Ok((columns, origin_lps * LPS_TO_RAS))
}

/// teem's nrrdOriginCalculate over ITK's domain axes, cell-centred unless
/// `centers` says otherwise. Two surprises kept: a spacing implied by
/// `axis maxs` moves the origin but is not the voxel size (ITK's spacing
/// stays 1), and only the first axis's min is checked to exist (so a `nan`
/// min elsewhere gives a nan origin there, which rayseg reads as 0).
/// Indexed by file axis; `None` where the axis is not an ITK domain axis.
fn itk_origin(h: &Header) -> Vec<Option<f64>> {
    let dimension = h.sizes.len();
    let domain: Vec<usize> = (0..dimension)
        .filter(|&a| h.kinds.as_ref().is_none_or(|k| k[a].is_itk_domain()))
        .collect();
    let mut out = vec![None; dimension];
    let (Some(mins), Some(&first)) = (&h.axis_mins, domain.first()) else {
        return out;
    };
    let max_of = |a: usize| h.axis_maxs.as_ref().map_or(f64::NAN, |m| m[a]);
    let spacing_of = |a: usize| h.spacings.as_ref().map_or(f64::NAN, |s| s[a]);
    let got_max_or_spacing = domain
        .iter()
        .all(|&a| max_of(a).is_finite() || spacing_of(a).is_finite());
    if !mins[first].is_finite() || !got_max_or_spacing {
        return out;
    }
    for &a in &domain {
        let center = h.centers.as_ref().map_or(Center::Unknown, |c| c[a]);
        let cell = center != Center::Node;
        let size = h.sizes[a] as f64;
        let denom = if cell { size } else { size - 1.0 };
        let spacing = if spacing_of(a).is_finite() {
            spacing_of(a)
        } else {
            (max_of(a) - mins[a]) / denom
        };
        out[a] = Some(mins[a] + if cell { spacing / 2.0 } else { 0.0 });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::nrrd::header::parse;

    fn geometry(fields: &str, sizes: &str) -> Result<(Axes, DMat4, Vec<String>), LoadErrorKind> {
        let dim = sizes.split_whitespace().count();
        let text = format!(
            "NRRD0004\ntype: uchar\ndimension: {dim}\nsizes: {sizes}\nencoding: raw\n{fields}\n"
        );
        let h = parse(text.as_bytes(), true)?;
        let mut warnings = Vec::new();
        let axes = classify(&h, &mut warnings)?;
        let m = ras_from_voxel(&h, &axes, &mut warnings)?;
        Ok((axes, m, warnings))
    }

    fn rows(m: DMat4) -> [[f64; 4]; 3] {
        let r = m.transpose().to_cols_array_2d();
        [r[0], r[1], r[2]]
    }

    #[test]
    fn ras_space_is_kept_lps_flipped() {
        let dirs = "space directions: (1,0,0) (0,2,0) (0,0,3)\nspace origin: (10,20,30)";
        let (_, ras, _) = geometry(&format!("space: RAS\n{dirs}"), "2 3 4").unwrap();
        assert_eq!(rows(ras)[0], [1.0, 0.0, 0.0, 10.0]);
        let (_, lps, _) = geometry(&format!("space: LPS\n{dirs}"), "2 3 4").unwrap();
        assert_eq!(rows(lps)[1], [0.0, -2.0, 0.0, -20.0]);
        let (_, las, _) = geometry(&format!("space: LAS\n{dirs}"), "2 3 4").unwrap();
        assert_eq!(rows(las)[0], [-1.0, 0.0, 0.0, -10.0]);
        assert_eq!(rows(las)[1], [0.0, 2.0, 0.0, 20.0]);
        // scanner-xyz is read as LPS, as ITK does.
        let (_, xyz, _) = geometry(&format!("space: scanner-xyz\n{dirs}"), "2 3 4").unwrap();
        assert_eq!(xyz, lps);
    }

    #[test]
    fn list_axis_first_or_last() {
        let (axes, _, _) = geometry(
            "kinds: list domain domain domain\nspace: RAS\n\
             space directions: none (1,0,0) (0,1,0) (0,0,1)",
            "3 2 3 4",
        )
        .unwrap();
        assert_eq!(
            axes,
            Axes {
                spatial: vec![1, 2, 3],
                volume_axis: Some(0)
            }
        );
        // `none` alone marks the axis even without kinds.
        let (axes, _, _) = geometry(
            "space: RAS\nspace directions: (1,0,0) (0,1,0) (0,0,1) none",
            "2 3 4 5",
        )
        .unwrap();
        assert_eq!(axes.volume_axis, Some(3));
        // No marking at all: the last axis, with a warning.
        let (axes, _, warnings) = geometry("", "2 3 4 5").unwrap();
        assert_eq!(axes.volume_axis, Some(3));
        assert!(warnings.iter().any(|w| w.contains("last axis")));
    }

    #[test]
    fn refused_layouts() {
        for (fields, sizes, needle) in [
            ("", "5", "1-dimensional"),
            ("", "2 2 2 2 2", "5-dimensional"),
            ("kinds: list domain domain vector", "2 2 2 2", "non-spatial"),
            ("kinds: list domain", "2 2", "single spatial axis"),
            (
                "space: RAS\nspace directions: (1,0,0) (2,0,0) (0,0,1)",
                "2 2 2",
                "degenerate",
            ),
            ("spacings: 0 1 1", "2 2 2", "spacing 0"),
            (
                "space: RAS\nspace directions: (1,0) (0,1) (0,0)",
                "2 2 2",
                "coordinates",
            ),
            ("space: RAS\nspace dimension: 4", "2 2 2", "contradicts"),
            ("space dimension: 5", "2 2 2", "space dimension 5"),
        ] {
            let err = geometry(fields, sizes).unwrap_err().to_string();
            assert!(err.contains(needle), "{fields}: {err}");
        }
    }

    #[test]
    fn old_style_origin_follows_teem() {
        // Cell centring: min + spacing/2, the spacing from max-min when not given.
        let (_, m, _) = geometry("axis mins: 5 6 7\naxis maxs: 9 12 15", "2 3 4").unwrap();
        assert_eq!(m.w_axis.truncate(), DVec3::new(-6.0, -7.0, 8.0));
        assert_eq!(m.x_axis.truncate(), DVec3::new(-1.0, 0.0, 0.0)); // spacing stays 1
        let (_, m, _) = geometry(
            "spacings: 1.5 2 -3\naxis mins: 5 6 7\ncenters: node cell ???",
            "2 3 4",
        )
        .unwrap();
        assert_eq!(m.w_axis.truncate(), DVec3::new(-5.0, -7.0, 5.5));
        assert_eq!(m.z_axis.truncate(), DVec3::new(0.0, 0.0, -3.0));
        // No min on the first axis: no origin at all.
        let (_, m, w) = geometry("spacings: 1 1 1\naxis mins: nan 6 7", "2 3 4").unwrap();
        assert_eq!(m.w_axis.truncate(), DVec3::ZERO);
        assert!(w.is_empty(), "{w:?}");
        let (_, _, w) = geometry("", "2 3 4").unwrap();
        assert!(w.iter().any(|w| w.contains("no space")), "{w:?}");
    }

    #[test]
    fn slices_in_two_and_three_dimensional_space() {
        let (_, m, _) = geometry(
            "space dimension: 2\nspace directions: (1,0.5) (0,2)\nspace origin: (3,4)",
            "6 8",
        )
        .unwrap();
        assert_eq!(rows(m)[0], [-1.0, 0.0, 0.0, -3.0]);
        assert_eq!(rows(m)[1], [-0.5, -2.0, 0.0, -4.0]);
        assert_eq!(rows(m)[2], [0.0, 0.0, 1.0, 0.0]);
        let (_, m, _) = geometry(
            "space: RAS\nspace directions: (2,0,0) (0,0,3)\nspace origin: (1,2,3)",
            "6 8",
        )
        .unwrap();
        assert_eq!(m.z_axis.truncate(), DVec3::new(0.0, -1.0, 0.0));
        assert_eq!(m.w_axis.truncate(), DVec3::new(1.0, 2.0, 3.0));
    }

    #[test]
    fn time_space_is_not_converted() {
        let (axes, m, _) = geometry(
            "space: RAST\nkinds: domain domain domain time\n\
             space directions: (1,0,0,0) (0,2,0,0) (0,0,3,0) (0,0,0,5)\nspace origin: (1,2,3,4)",
            "2 3 4 2",
        )
        .unwrap();
        assert_eq!(axes.volume_axis, Some(3));
        assert_eq!(m.w_axis.truncate(), DVec3::new(-1.0, -2.0, 3.0));
        assert_eq!(m.x_axis.truncate(), DVec3::new(-1.0, 0.0, 0.0));
    }
}
