//! 3-D brush: GPU == CPU reference exactly on random oblique, anisotropic
//! phantoms (locks, intensity ranges, erase, both policies, disks, long
//! strokes), the CPU against an independent "centre within r of the stroke"
//! oracle, and the CLI (negative numbers parse, the image is never overwritten).

use std::sync::LazyLock;

use glam::{DMat3, DMat4, DQuat, DVec3};
use rayseg::annotate::brush::{
    Brush, BrushMode, BrushStroke, OverwritePolicy, SlicePlane, cpu::apply_stroke,
    label_texture_writable,
};
use rayseg::annotate::label_volume::GpuLabelVolume;
use rayseg::gpu::readback::read_texture_3d;
use rayseg::gpu::volume_texture::{VolumeFormat, VolumeTexture};
use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::render::labels::LabelTexture;
use rayseg::volume::{Modality, Volume, VoxelData};

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    GpuContext::new(&GpuOptions::from_env()).expect("GPU context (install lavapipe, see README)")
});

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random grid (odd sizes, so rows share label words), anisotropic
/// spacing, a random rotation (oblique) and integer or fractional values.
/// Image values by `case % 3`: i16, u8 (stored as voxel pairs) or f32.
fn phantom(rng: &mut Rng, case: usize) -> Volume {
    let shape = [
        17 + rng.below(20) as usize,
        13 + rng.below(20) as usize,
        9 + rng.below(16) as usize,
    ];
    let spacing = DVec3::new(
        rng.range(0.5, 1.2),
        rng.range(0.6, 1.5),
        rng.range(1.5, 3.0),
    );
    let axis = DVec3::new(
        rng.range(-1.0, 1.0),
        rng.range(-1.0, 1.0),
        rng.range(-1.0, 1.0),
    )
    .normalize_or(DVec3::Z);
    let rot = DMat3::from_quat(DQuat::from_axis_angle(axis, rng.range(-0.6, 0.6)));
    let m3 = rot * DMat3::from_diagonal(spacing);
    let origin = DVec3::new(
        rng.range(-50.0, 50.0),
        rng.range(-50.0, 50.0),
        rng.range(-50.0, 50.0),
    );
    let m = DMat4::from_mat3_translation(m3, origin);
    let n = shape.iter().product();
    let data = match case % 3 {
        2 => VoxelData::F32(
            (0..n)
                .map(|_| rng.below(4000) as f32 * 0.25 - 500.0)
                .collect(),
        ),
        1 => VoxelData::U8((0..n).map(|_| rng.below(256) as u8).collect()),
        _ => VoxelData::I16((0..n).map(|_| rng.below(2001) as i16 - 1000).collect()),
    };
    Volume::new(shape, data, m, Modality::Ct).expect("valid phantom")
}

fn random_point(rng: &mut Rng, v: &Volume) -> DVec3 {
    let idx = DVec3::new(
        rng.range(-2.0, v.shape[0] as f64 + 1.0),
        rng.range(-2.0, v.shape[1] as f64 + 1.0),
        rng.range(-2.0, v.shape[2] as f64 + 1.0),
    );
    v.ras_from_index(idx)
}

fn random_stroke(rng: &mut Rng, v: &Volume) -> BrushStroke {
    let points = (0..1 + rng.below(4))
        .map(|_| random_point(rng, v))
        .collect();
    let mut locked_bits = [0u32; 8];
    for l in 1..6u8 {
        if rng.below(4) == 0 {
            locked_bits[0] |= 1 << l;
        }
    }
    let mode = match rng.below(3) {
        0 => BrushMode::Erase {
            only_label: (rng.below(2) == 0).then(|| 1 + rng.below(5) as u8),
        },
        _ => {
            let mut label = 1 + rng.below(6) as u8;
            while locked_bits[0] & (1 << label) != 0 {
                label = 1 + rng.below(6) as u8;
            }
            BrushMode::Paint { label }
        }
    };
    BrushStroke {
        points_ras_mm: points,
        radius_mm: rng.range(0.7, 9.0),
        mode,
        policy: if rng.below(2) == 0 {
            OverwritePolicy::All
        } else {
            OverwritePolicy::BackgroundOnly
        },
        // Bounds on and between the values (x.25 steps) so both inclusivity and rounding
        // count; up to 200 so that u8 images have voxels on both sides.
        intensity_range: (rng.below(2) == 0).then(|| {
            let lo = rng.below(1200) as f64 * 0.5 - 400.0;
            (lo, lo + rng.below(1000) as f64 * 0.25)
        }),
        disk: match rng.below(5) {
            0 => Some(SlicePlane::Axial),
            1 => Some(SlicePlane::Coronal),
            2 => Some(SlicePlane::Sagittal),
            _ => None,
        },
        locked_bits,
    }
}

#[test]
fn gpu_equals_cpu_on_random_phantoms() {
    let (device, queue) = (&CTX.device, &CTX.queue);
    let brush = Brush::new(device).expect("brush pipelines");
    let mut rng = Rng(0x5eed_1234_abcd);
    let mut total_changed = 0;
    for case in 0..24 {
        let volume = phantom(&mut rng, case);
        let texture = VolumeTexture::upload(device, queue, &volume).expect("upload");
        assert_eq!(
            texture.format,
            [VolumeFormat::I16, VolumeFormat::U8Pair, VolumeFormat::F32][case % 3]
        );
        let mut labels: Vec<u8> = (0..volume.voxel_count())
            .map(|_| {
                if rng.below(3) == 0 {
                    0
                } else {
                    rng.below(6) as u8
                }
            })
            .collect();
        let gpu_labels = GpuLabelVolume::new(device, volume.shape.map(|n| n as u32)).unwrap();
        gpu_labels.write(queue, &labels).unwrap();
        for s in 0..6 {
            let stroke = random_stroke(&mut rng, &volume);
            let cpu_changed = apply_stroke(&volume, &mut labels, &stroke).expect("cpu stroke");
            let outcome = brush
                .apply(device, queue, &volume, &texture, &gpu_labels, &stroke)
                .expect("gpu stroke");
            let gpu = gpu_labels.read(device, queue).unwrap();
            let diff = gpu.iter().zip(&labels).filter(|(a, b)| a != b).count();
            assert_eq!(
                diff, 0,
                "case {case} stroke {s}: {diff} voxels differ; {stroke:?}"
            );
            assert_eq!(
                outcome.changed_voxels, cpu_changed,
                "case {case} stroke {s}: count"
            );
            total_changed += cpu_changed;
        }
    }
    assert!(
        total_changed > 1000,
        "strokes changed too little ({total_changed})"
    );
}

/// The app's path: strokes recorded into an encoder on the renderer's r8uint
/// label texture, the box read back asynchronously into the CPU copy. Both the
/// texture and the CPU copy must equal the CPU reference after every stroke.
#[test]
fn label_texture_strokes_equal_cpu_and_sync_the_cpu_copy() {
    let (device, queue) = (&CTX.device, &CTX.queue);
    assert!(
        label_texture_writable(&CTX.adapter, device),
        "adapter {:?} cannot write r8uint storage textures; the app's GPU brush needs it",
        CTX.adapter_info.name
    );
    let brush = Brush::with_texture_labels(device).expect("brush pipelines");
    assert!(brush.writes_label_textures());
    let mut rng = Rng(0x7e57_7e47);
    let mut total_changed = 0;
    for case in 0..12 {
        let volume = phantom(&mut rng, case);
        let texture = VolumeTexture::upload(device, queue, &volume).expect("upload");
        let initial: Vec<u8> = (0..volume.voxel_count())
            .map(|_| {
                if rng.below(2) == 0 {
                    0
                } else {
                    rng.below(6) as u8
                }
            })
            .collect();
        let labels_tex = LabelTexture::upload_with_usage(
            device,
            queue,
            &initial,
            volume.shape,
            wgpu::TextureUsages::STORAGE_BINDING,
        )
        .expect("label texture");
        let (mut reference, mut synced) = (initial.clone(), initial);
        for s in 0..6 {
            let stroke = random_stroke(&mut rng, &volume);
            let cpu_changed = apply_stroke(&volume, &mut reference, &stroke).expect("cpu");
            let mut encoder = device.create_command_encoder(&Default::default());
            let recorded = brush
                .encode_on_texture(
                    device,
                    &mut encoder,
                    &volume,
                    &texture,
                    &labels_tex,
                    &stroke,
                )
                .expect("encode");
            queue.submit([encoder.finish()]);
            let gpu_changed = match recorded {
                Some(stroke_rb) => {
                    stroke_rb.request_map();
                    // The map callback may run on a later poll than the one
                    // that saw the submission finish (seen on lavapipe).
                    let mut ready = None;
                    for _ in 0..100 {
                        device
                            .poll(wgpu::PollType::wait_indefinitely())
                            .expect("poll");
                        ready = stroke_rb.ready();
                        if ready.is_some() {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    ready.expect("map finished").expect("map ok");
                    stroke_rb
                        .apply_to(&mut synced, volume.shape)
                        .expect("apply")
                }
                None => 0,
            };
            assert_eq!(gpu_changed, cpu_changed, "case {case} stroke {s}: count");
            let diff = synced
                .iter()
                .zip(&reference)
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(
                diff, 0,
                "case {case} stroke {s}: CPU copy differs in {diff} voxels"
            );
            total_changed += cpu_changed;
        }
        let on_gpu = read_texture_3d(device, queue, &labels_tex.texture).expect("read");
        let diff = on_gpu
            .iter()
            .zip(&reference)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(diff, 0, "case {case}: texture differs in {diff} voxels");
    }
    assert!(
        total_changed > 500,
        "strokes changed too little ({total_changed})"
    );
}

fn oracle_dist(p: DVec3, a: DVec3, b: DVec3) -> f64 {
    // Independent of the library: sample-free closed form via projection.
    let ab = b - a;
    if ab.length() == 0.0 {
        return p.distance(a);
    }
    let t = ((p - a).dot(ab) / ab.dot(ab)).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}

#[test]
fn painted_iff_centre_within_radius_of_stroke() {
    let mut rng = Rng(42);
    let mut checked = 0;
    for case in 0..30 {
        let volume = phantom(&mut rng, 0);
        let mut stroke = random_stroke(&mut rng, &volume);
        stroke.mode = BrushMode::Paint { label: 7 };
        stroke.policy = OverwritePolicy::All;
        stroke.intensity_range = None;
        stroke.locked_bits = [0; 8];
        if case % 3 == 0 {
            // A long stroke across the grid: cut into pieces, must leave no gap.
            stroke.points_ras_mm = vec![
                volume.ras_from_index(DVec3::ZERO),
                volume.ras_from_index(DVec3::from_array(volume.shape.map(|n| n as f64 - 1.0))),
            ];
            stroke.radius_mm = 1.2;
        }
        let mut labels = vec![0u8; volume.voxel_count()];
        apply_stroke(&volume, &mut labels, &stroke).unwrap();
        // The disk: points moved (in index space) onto the slice of the first one.
        let inv = volume.ras_from_voxel.inverse();
        let slice = stroke.disk.map(|plane| {
            let m3 = DMat3::from_mat4(volume.ras_from_voxel);
            let n = plane.normal_ras();
            let axis = (0..3)
                .max_by(|&a, &b| {
                    let s = |x: usize| m3.col(x).normalize().dot(n).abs();
                    s(a).total_cmp(&s(b))
                })
                .unwrap();
            (
                axis,
                inv.transform_point3(stroke.points_ras_mm[0])[axis].round(),
            )
        });
        let points: Vec<DVec3> = stroke
            .points_ras_mm
            .iter()
            .map(|&p| match slice {
                Some((axis, s)) => {
                    let mut idx = inv.transform_point3(p);
                    idx[axis] = s;
                    volume.ras_from_index(idx)
                }
                None => p,
            })
            .collect();
        let segments: Vec<(DVec3, DVec3)> = if points.len() == 1 {
            vec![(points[0], points[0])]
        } else {
            points.windows(2).map(|w| (w[0], w[1])).collect()
        };
        let [ni, nj, nk] = volume.shape;
        for k in 0..nk {
            for j in 0..nj {
                for i in 0..ni {
                    let ijk = [i, j, k];
                    let centre = volume.ras_from_index(DVec3::new(i as f64, j as f64, k as f64));
                    let d = segments
                        .iter()
                        .map(|&(a, b)| oracle_dist(centre, a, b))
                        .fold(f64::INFINITY, f64::min);
                    if (d - stroke.radius_mm).abs() < 1e-6 {
                        continue; // f64 rounding decides these; not a brush property
                    }
                    let in_slice = slice.is_none_or(|(axis, s)| ijk[axis] as f64 == s);
                    let want = in_slice && d <= stroke.radius_mm;
                    let got = labels[i + ni * (j + nj * k)] == 7;
                    assert_eq!(
                        got, want,
                        "case {case} voxel {ijk:?} d={d} r={}",
                        stroke.radius_mm
                    );
                    checked += usize::from(want);
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} painted voxels checked");
}

#[test]
fn locks_range_and_policies_on_a_known_grid() {
    // 1 mm isotropic, axis-aligned: r = 2 covers the 33 centres within 2 mm.
    let shape = [9, 9, 9];
    let values: Vec<i16> = (0..729).map(|n| (n % 9) as i16 * 10).collect(); // value = 10·i
    let volume = Volume::new(shape, VoxelData::I16(values), DMat4::IDENTITY, Modality::Ct).unwrap();
    let centre = DVec3::new(4.0, 4.0, 4.0);
    let at = |i: usize, j: usize, k: usize| i + 9 * (j + 9 * k);
    let mut labels = vec![0u8; 729];
    labels[at(4, 4, 4)] = 2; // locked
    labels[at(5, 4, 4)] = 3; // unlocked
    let mut stroke = BrushStroke::paint(vec![centre], 2.0, 1);
    stroke.locked_bits[0] = 1 << 2;
    stroke.policy = OverwritePolicy::BackgroundOnly;
    assert_eq!(apply_stroke(&volume, &mut labels, &stroke).unwrap(), 33 - 2);
    assert_eq!((labels[at(4, 4, 4)], labels[at(5, 4, 4)]), (2, 3));
    stroke.policy = OverwritePolicy::All;
    assert_eq!(apply_stroke(&volume, &mut labels, &stroke).unwrap(), 1);
    assert_eq!((labels[at(4, 4, 4)], labels[at(5, 4, 4)]), (2, 1));
    // Erase label 1 only where value ∈ [40, 50] (i = 4, 5): locked label 2 stays.
    stroke.mode = BrushMode::Erase {
        only_label: Some(1),
    };
    stroke.intensity_range = Some((40.0, 50.0));
    let erased = apply_stroke(&volume, &mut labels, &stroke).unwrap();
    let slab_i4 = 13 - 1; // the disk of radius 2 in plane i = 4, minus the locked centre
    let slab_i5 = 9; // i = 5: centres with j²+k² ≤ 3
    assert_eq!(erased, slab_i4 + slab_i5);
    assert_eq!(labels[at(4, 4, 4)], 2);
    // Painting with a locked label is refused.
    stroke.mode = BrushMode::Paint { label: 2 };
    assert!(apply_stroke(&volume, &mut labels, &stroke).is_err());
    // Axial disk: only slice k = 4, 13 centres.
    let mut fresh = vec![0u8; 729];
    let mut disk = BrushStroke::paint(vec![DVec3::new(4.0, 4.0, 4.3)], 2.0, 5);
    disk.disk = Some(SlicePlane::Axial);
    assert_eq!(apply_stroke(&volume, &mut fresh, &disk).unwrap(), 13);
    assert!((0..729).all(|n| fresh[n] == 0 || n / 81 == 4));
}

fn rayseg() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
}

#[test]
fn cli_parses_negative_numbers_and_protects_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct.nii.gz");
    let out = rayseg()
        .args(["phantom", "--size", "48", "--spacing", "8,8,8", "-o"])
        .arg(&ct)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mask = dir.path().join("mask.nii.gz");
    let out = rayseg()
        .arg("brush")
        .arg(&ct)
        .args([
            "--center-mm",
            "-10,20,-5",
            "--to-mm",
            "-30,-20,-15",
            "--radius-mm",
            "12",
        ])
        .args(["--lower", "-100", "--upper", "200", "--label", "3", "-o"])
        .arg(&mask)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "brush failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("voxels changed"), "{stdout}");
    assert!(dir.path().join("mask.labels.json").exists());
    // Erase into a second map from the first, as a disk.
    let erased = dir.path().join("erased.nii");
    let out = rayseg()
        .arg("brush")
        .arg(&ct)
        .args([
            "--center-mm",
            "-10,20,-5",
            "--radius-mm",
            "30",
            "--erase",
            "--disk",
            "axial",
        ])
        .arg("--mask")
        .arg(&mask)
        .arg("-o")
        .arg(&erased)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The image itself is refused as output (via another spelling of its path).
    let before = std::fs::read(&ct).unwrap();
    let same = dir.path().join(".").join("ct.nii.gz");
    let out = rayseg()
        .arg("brush")
        .arg(&ct)
        .args(["--center-mm", "0,0,0", "--radius-mm", "5", "-o"])
        .arg(&same)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));
    assert_eq!(std::fs::read(&ct).unwrap(), before);
}
