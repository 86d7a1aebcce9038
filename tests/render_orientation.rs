//! The six standard views put the orientation phantom's marker (patient
//! left-anterior-superior) where the documented conventions say, whichever way the
//! voxel axes run. Needs a GPU adapter (lavapipe in CI); fails loudly without one.

mod common;

use std::sync::LazyLock;

use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::render::raymarch::{Camera, Raymarcher, RenderMode, RenderSettings, StandardView};

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    GpuContext::new(&GpuOptions::from_env())
        .expect("orientation tests need a GPU adapter (CI: lavapipe, WGPU_BACKEND=vulkan)")
});

/// Where the marker must appear: (on the right half?, on the top half?).
fn expected_quadrant(view: StandardView) -> (bool, bool) {
    match view {
        // Patient left is image right; superior up.
        StandardView::Anterior => (true, true),
        StandardView::Posterior => (false, true),
        // Anterior on image left / right; superior up.
        StandardView::Left => (false, true),
        StandardView::Right => (true, true),
        // Anterior at the top; patient left on image left (superior) / right (inferior).
        StandardView::Superior => (false, true),
        StandardView::Inferior => (true, true),
    }
}

#[test]
fn marker_appears_in_the_documented_quadrant() {
    let raymarcher = Raymarcher::new(&CTX.device).expect("pipelines");
    let mut failures = Vec::new();
    for flip in [false, true] {
        let volume = common::orientation_phantom(flip);
        let prepared = raymarcher
            .prepare_volume(&CTX.device, &CTX.queue, &volume, None)
            .expect("prepare");
        for view in StandardView::ALL {
            let (az, el) = view.angles_deg();
            let camera = Camera::fit(&volume, az, el);
            let [w, h] = camera.natural_size(&volume);
            let frame = camera.ray_frame(w, h, false);
            let settings = RenderSettings::new(RenderMode::Mip);
            let img = raymarcher
                .render_to_image(&CTX.device, &CTX.queue, &prepared, &frame, &settings)
                .expect("render");
            // The marker (1000) is the volume maximum: grey 255 under the default window.
            let marker: Vec<(u32, u32)> = (0..img.height)
                .flat_map(|y| (0..img.width).map(move |x| (x, y)))
                .filter(|&(x, y)| img.get(x, y).is_some_and(|p| p[0] == 255))
                .collect();
            let body = img.pixels.iter().filter(|p| p[0] > 0 && p[0] < 255).count();
            if marker.is_empty() || body == 0 {
                failures.push(format!(
                    "flip={flip} {}: marker or body missing",
                    view.name()
                ));
                continue;
            }
            let n = marker.len() as f64;
            let cx = marker.iter().map(|m| m.0 as f64 + 0.5).sum::<f64>() / n;
            let cy = marker.iter().map(|m| m.1 as f64 + 0.5).sum::<f64>() / n;
            let got = (cx > img.width as f64 / 2.0, cy < img.height as f64 / 2.0);
            if got != expected_quadrant(view) {
                failures.push(format!(
                    "flip={flip} {}: marker centroid ({cx:.1}, {cy:.1}) in {}x{} image, \
                     (right, top) = {got:?}, want {:?}",
                    view.name(),
                    img.width,
                    img.height,
                    expected_quadrant(view)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
