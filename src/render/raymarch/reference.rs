//! Plain CPU references for the GPU passes (tests), and the shared windowing formula.

use crate::render::image::RgbaImage;
use crate::volume::Volume;

use super::RenderMode;
use super::camera::StandardView;

/// The MPR windowing formula ([`crate::render::window`]), so `render` and
/// `slice` give the same grey for the same window.
pub fn window_grey(value: f64, center: f64, width: f64) -> u8 {
    crate::render::window::grey(value, center, width)
}

/// Window (centre, width) that maps `lo` to 0 and `hi` to 255: the last grey
/// bin is centred on `hi`, so float rounding cannot push it down to 254.
pub fn window_for_range(lo: f64, hi: f64) -> (f64, f64) {
    let span = (hi - lo).max(0.0);
    let width = if span > 0.0 {
        span * 256.0 / 255.5
    } else {
        1.0
    };
    (lo + width / 2.0, width)
}

/// World (RAS) forward, screen-right and screen-up unit vectors of a standard view,
/// written out from the documented conventions (independently of `camera`).
fn axes(view: StandardView) -> [[f64; 3]; 3] {
    match view {
        StandardView::Anterior => [[0., -1., 0.], [-1., 0., 0.], [0., 0., 1.]],
        StandardView::Posterior => [[0., 1., 0.], [1., 0., 0.], [0., 0., 1.]],
        StandardView::Left => [[1., 0., 0.], [0., -1., 0.], [0., 0., 1.]],
        StandardView::Right => [[-1., 0., 0.], [0., 1., 0.], [0., 0., 1.]],
        StandardView::Superior => [[0., 0., -1.], [1., 0., 0.], [0., 1., 0.]],
        StandardView::Inferior => [[0., 0., 1.], [-1., 0., 0.], [0., 1., 0.]],
    }
}

/// The voxel axis parallel to `dir` and whether it points the same way.
fn voxel_axis(volume: &Volume, dir: [f64; 3]) -> Option<(usize, bool)> {
    let m = volume.ras_from_voxel;
    let cols = [m.x_axis, m.y_axis, m.z_axis];
    cols.iter().enumerate().find_map(|(a, c)| {
        let c = c.truncate().normalize_or_zero();
        let cos = c.dot(glam::DVec3::from_array(dir));
        (cos.abs() > 1.0 - 1e-9).then_some((a, cos > 0.0))
    })
}

/// Orthographic MIP / MinIP / average of an axis-aligned volume from a standard view,
/// one pixel per voxel: NumPy's max/min/mean over the axis along the view direction
/// after flipping the others into screen order, then windowed to grey.
/// `None` for other modes or volumes whose axes are not parallel to RAS axes.
pub fn project_axis_aligned(
    volume: &Volume,
    view: StandardView,
    mode: RenderMode,
    window: (f64, f64),
) -> Option<RgbaImage> {
    let [fwd, right, up] = axes(view);
    let (af, _) = voxel_axis(volume, fwd)?;
    let (ar, right_pos) = voxel_axis(volume, right)?;
    let (au, up_pos) = voxel_axis(volume, up)?;
    let n = volume.shape;
    let (w, h) = (n[ar], n[au]);
    let mut image = RgbaImage::new(w as u32, h as u32);
    for py in 0..h {
        for px in 0..w {
            let mut ijk = [0usize; 3];
            ijk[ar] = if right_pos { px } else { w - 1 - px };
            ijk[au] = if up_pos { h - 1 - py } else { py };
            let values = (0..n[af]).filter_map(|f| {
                ijk[af] = f;
                volume.value_at(ijk)
            });
            let v = match mode {
                RenderMode::Mip => values.fold(f64::MIN, f64::max),
                RenderMode::MinIp => values.fold(f64::MAX, f64::min),
                RenderMode::Average => values.sum::<f64>() / n[af] as f64,
                RenderMode::Dvr | RenderMode::Iso => return None,
            };
            let g = window_grey(v, window.0, window.1);
            image.pixels[py * w + px] = [g, g, g, 255];
        }
    }
    Some(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_formula() {
        let (c, w) = window_for_range(0.0, 1000.0);
        assert_eq!(window_grey(0.0, c, w), 0);
        assert_eq!(window_grey(1000.0, c, w), 255);
        assert_eq!(window_grey(40.0 - 0.5, 40.0, 1.0), 0);
        assert_eq!(window_grey(41.0, 40.0, 1.0), 255);
        assert_eq!(window_grey(-600.0, -600.0, 1500.0), 128);
    }
}
