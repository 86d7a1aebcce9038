//! MPR orientation: axis-aligned slices equal voxel slices, the display convention
//! puts the left-anterior-superior marker in the right quadrant, edge letters.
//! GPU tests FAIL (never skip) without an adapter.

mod common;

use std::sync::LazyLock;

use common::{PHANTOM_BODY, PHANTOM_MARKER, orientation_phantom};
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::render::image::RgbaImage;
use rayseg::render::labels::LabelTexture;
use rayseg::render::mpr::{
    Convention, EdgeLetters, MprRenderer, SliceGeometry, SliceParams, SlicePlane, SlicePosition,
    render_cpu,
};
use rayseg::render::window::Window;
use rayseg::volume::Volume;

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    let _ = env_logger::builder().is_test(true).try_init();
    GpuContext::new(&GpuOptions::from_env())
        .unwrap_or_else(|e| panic!("creating the GPU context failed (GPU tests never skip): {e}"))
});
static MPR: LazyLock<MprRenderer> =
    LazyLock::new(|| MprRenderer::new(&CTX.device).expect("MPR pipelines"));

/// 0 → 0, body 100 → 25, marker 1000 → 255.
const WINDOW: Window = Window::new(500.0, 1000.0);

fn render(volume: &Volume, plane: SlicePlane, pos: SlicePosition, conv: Convention) -> RgbaImage {
    let geometry = SliceGeometry::new(volume.shape, volume.ras_from_voxel, plane, pos, conv)
        .expect("geometry");
    let params = SliceParams::new(geometry, WINDOW);
    let tex = VolumeTexture::upload(&CTX.device, &CTX.queue, volume).expect("upload");
    let labels = LabelTexture::empty(&CTX.device, &CTX.queue).expect("labels");
    let gpu = MPR
        .render_to_image(&CTX.device, &CTX.queue, &tex, &labels, &params)
        .expect("render");
    assert_eq!(
        gpu,
        render_cpu(volume, None, &params),
        "GPU != CPU reference"
    );
    gpu
}

/// The voxel shown at screen (x, y) of a radiological slice `index`, written out by
/// hand (the "NumPy slice after flips"): screen right = patient left, up = anterior
/// (axial) or superior, sagittal left = anterior.
fn expected_voxel(flip_i: bool, plane: SlicePlane, index: usize, x: usize, y: usize) -> [usize; 3] {
    let [ni, nj, nk] = [40, 48, 56];
    // i of the voxel at patient-right-to-left screen column x.
    let i_of = |x: usize| if flip_i { x } else { ni - 1 - x };
    match plane {
        SlicePlane::Axial => [i_of(x), nj - 1 - y, index],
        SlicePlane::Coronal => [i_of(x), index, nk - 1 - y],
        SlicePlane::Sagittal => [index, nj - 1 - x, nk - 1 - y],
    }
}

#[test]
fn index_shows_exactly_the_voxel_slice() {
    let cases = [
        (SlicePlane::Axial, [0, 20, 48, 55], (40, 48)),
        (SlicePlane::Coronal, [0, 5, 40, 47], (40, 56)),
        (SlicePlane::Sagittal, [0, 6, 30, 39], (48, 56)),
    ];
    for flip in [false, true] {
        let volume = orientation_phantom(flip);
        for (plane, indices, (w, h)) in cases {
            for index in indices {
                let img = render(
                    &volume,
                    plane,
                    SlicePosition::Index(index),
                    Convention::Radiological,
                );
                assert_eq!((img.width, img.height), (w, h), "{plane:?} size");
                for y in 0..h {
                    for x in 0..w {
                        let v = expected_voxel(flip, plane, index, x as usize, y as usize);
                        let value = volume.value_at(v).expect("in grid");
                        let g = WINDOW.grey(value);
                        assert_eq!(
                            img.get(x, y),
                            Some([g, g, g, 255]),
                            "flip {flip} {plane:?} index {index} pixel ({x},{y}) voxel {v:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn flipped_storage_shows_the_same_image() {
    let plain = orientation_phantom(false);
    let flipped = orientation_phantom(true);
    for plane in [SlicePlane::Axial, SlicePlane::Coronal, SlicePlane::Sagittal] {
        for conv in [Convention::Radiological, Convention::Neurological] {
            // The same RAS plane: index i = N of the flipped grid is i = 39 - N of the plain one.
            let (a, b) = if plane == SlicePlane::Sagittal {
                (6, 33)
            } else {
                (42, 42)
            };
            let img_a = render(&plain, plane, SlicePosition::Index(a), conv);
            let img_b = render(&flipped, plane, SlicePosition::Index(b), conv);
            assert_eq!(img_a, img_b, "{plane:?} {conv:?}");
            let by_mm = render(&flipped, plane, SlicePosition::Mm(-14.0), conv);
            if plane == SlicePlane::Sagittal {
                // x = -14 mm is plain i = 6.
                assert_eq!(by_mm, img_a, "{plane:?} {conv:?} --mm");
            }
        }
    }
}

/// Centroid (x, y) of the marker pixels, as fractions of the image size.
fn marker_centroid(img: &RgbaImage) -> (f64, f64) {
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
    for y in 0..img.height {
        for x in 0..img.width {
            if img.get(x, y) == Some([255, 255, 255, 255]) {
                sx += x as f64;
                sy += y as f64;
                n += 1.0;
            }
        }
    }
    assert!(n > 0.0, "marker not visible");
    (sx / n / img.width as f64, sy / n / img.height as f64)
}

#[test]
fn marker_lands_in_the_right_quadrant() {
    // Planes through the marker (left-anterior-superior corner of the body).
    let through_marker = |plane| match plane {
        SlicePlane::Axial => SlicePosition::Index(48),
        SlicePlane::Coronal => SlicePosition::Index(40),
        SlicePlane::Sagittal => SlicePosition::Mm(-14.0),
    };
    for flip in [false, true] {
        let volume = orientation_phantom(flip);
        for conv in [Convention::Radiological, Convention::Neurological] {
            for plane in [SlicePlane::Axial, SlicePlane::Coronal, SlicePlane::Sagittal] {
                let img = render(&volume, plane, through_marker(plane), conv);
                let (cx, cy) = marker_centroid(&img);
                // Top always (anterior for axial, superior otherwise).
                assert!(
                    cy < 0.5,
                    "{plane:?} {conv:?} flip {flip}: marker not at top ({cy})"
                );
                let want_right = match (plane, conv) {
                    (SlicePlane::Sagittal, _) => false,    // anterior on the left
                    (_, Convention::Radiological) => true, // patient left on screen right
                    (_, Convention::Neurological) => false,
                };
                assert_eq!(
                    cx > 0.5,
                    want_right,
                    "{plane:?} {conv:?} flip {flip}: marker x fraction {cx}"
                );
            }
        }
    }
    let _ = (PHANTOM_BODY, PHANTOM_MARKER);
}

#[test]
fn edge_letters() {
    use Convention::{Neurological as N, Radiological as R};
    let l = |top, bottom, left, right| EdgeLetters {
        top,
        bottom,
        left,
        right,
    };
    assert_eq!(SlicePlane::Axial.edge_letters(R), l("A", "P", "R", "L"));
    assert_eq!(SlicePlane::Axial.edge_letters(N), l("A", "P", "L", "R"));
    assert_eq!(SlicePlane::Coronal.edge_letters(R), l("S", "I", "R", "L"));
    assert_eq!(SlicePlane::Coronal.edge_letters(N), l("S", "I", "L", "R"));
    assert_eq!(SlicePlane::Sagittal.edge_letters(R), l("S", "I", "A", "P"));
    assert_eq!(SlicePlane::Sagittal.edge_letters(N), l("S", "I", "A", "P"));
}

#[test]
fn geometry_of_the_phantom() {
    let v = orientation_phantom(true);
    let g = SliceGeometry::new(
        v.shape,
        v.ras_from_voxel,
        SlicePlane::Coronal,
        SlicePosition::Middle,
        Convention::Radiological,
    )
    .expect("geometry");
    assert_eq!(g.size, [40, 56]);
    assert_eq!(g.spacing_mm, [1.0, 2.0]);
    assert_eq!(g.normal_step_mm, 1.5);
    // Middle = voxel j 24: y = -36 + 24 * 1.5.
    assert!((g.origin_ras.y - 0.0).abs() < 1e-9, "{:?}", g.origin_ras);
    // Top-left pixel is the patient's right-superior corner.
    assert!((g.origin_ras.x - 19.0).abs() < 1e-9 && (g.origin_ras.z - 54.0).abs() < 1e-9);
    assert!(
        SliceGeometry::new(
            v.shape,
            v.ras_from_voxel,
            SlicePlane::Axial,
            SlicePosition::Index(56),
            Convention::Radiological
        )
        .is_err()
    );
}
