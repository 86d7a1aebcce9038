//! GPU region growing equals the CPU reference (BFS) voxel for voxel on random
//! phantoms: several seeds, both connectivities, locked labels, distance limits,
//! values equal to the bounds, widths that are not multiples of 32, 1×1×1 and
//! 1-voxel-thin grids, integer (r16sint) and float (r32float) textures, and the
//! packed u8 and i16 buffers. The region bitmask and the locked-voxel bitmask
//! are checked on their own too.

use std::sync::LazyLock;

use glam::{DMat4, DQuat, DVec3};
use rayseg::annotate::grow::{
    Connectivity, GrowImage, GrowRequest, PackedFormat, PackedImage, RegionGrower, VoxelBits,
    cpu::grow_cpu,
};
use rayseg::gpu::volume_texture::{VolumeFormat, VolumeTexture};
use rayseg::gpu::{GpuContext, GpuOptions};
use rayseg::volume::{Modality, Volume, VoxelData};

static CTX: LazyLock<GpuContext> = LazyLock::new(|| {
    GpuContext::new(&GpuOptions::from_env()).expect("GPU context (install lavapipe, see README)")
});
static GROWER: LazyLock<RegionGrower> =
    LazyLock::new(|| RegionGrower::new(&CTX.device).expect("grow pipelines"));

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// An oblique, anisotropic grid so distances are not trivial.
fn oblique_affine() -> DMat4 {
    let rot = DMat4::from_quat(DQuat::from_axis_angle(
        DVec3::new(1.0, 2.0, 0.5).normalize(),
        0.4,
    ));
    DMat4::from_translation(DVec3::new(-30.0, 12.0, 5.0))
        * rot
        * DMat4::from_scale(DVec3::new(0.7, 1.3, 2.1))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// -1..=3: i16 texture and i16 pairs.
    I16,
    /// 0..=4: i16 texture and u8 quads.
    U8,
    /// Quarter steps: r32float texture only.
    F32,
}

fn phantom(shape: [usize; 3], rng: &mut Rng, kind: Kind, affine: DMat4) -> Volume {
    let n: usize = shape.iter().product();
    let data = match kind {
        // Quarter steps: exact in f32, and some equal the bounds exactly.
        Kind::F32 => VoxelData::F32((0..n).map(|_| rng.below(17) as f32 * 0.25).collect()),
        Kind::I16 => VoxelData::I16((0..n).map(|_| rng.below(5) as i16 - 1).collect()),
        Kind::U8 => VoxelData::U8((0..n).map(|_| rng.below(5) as u8).collect()),
    };
    Volume::new(shape, data, affine, Modality::Ct).expect("phantom")
}

/// Runs both implementations from the same label map, the GPU from the texture
/// and (for i16-range images) from the packed buffer; returns the GPU voxel count.
fn compare(volume: &Volume, labels: &[u8], request: &GrowRequest, what: &str) -> u64 {
    let (device, queue) = (&CTX.device, &CTX.queue);
    let texture = VolumeTexture::upload(device, queue, volume).expect("upload");
    let packed = PackedImage::upload(device, queue, volume).expect("packed upload");
    let mut count = compare_one(volume, labels, request, GrowImage::Texture(&texture), what);
    let want = match &volume.data {
        VoxelData::U8(_) => Some(PackedFormat::U8),
        VoxelData::I16(_) => Some(PackedFormat::I16),
        _ => None,
    };
    assert_eq!(packed.as_ref().map(|p| p.format), want, "{what}: packing");
    if let Some(p) = &packed {
        let what = format!("{what} (packed {:?})", p.format);
        count = compare_one(volume, labels, request, GrowImage::Packed(p), &what);
    }
    count
}

fn compare_one(
    volume: &Volume,
    labels: &[u8],
    request: &GrowRequest,
    image: GrowImage<'_>,
    what: &str,
) -> u64 {
    let (device, queue) = (&CTX.device, &CTX.queue);
    let mut cpu_labels = labels.to_vec();
    let cpu = grow_cpu(volume, &mut cpu_labels, request).expect("cpu grow");
    let mut got = labels.to_vec();
    let gpu = GROWER
        .grow(device, queue, image, &mut got, request)
        .expect("gpu grow");
    let diff = got.iter().zip(&cpu_labels).filter(|(a, b)| a != b).count();
    assert_eq!(
        diff, 0,
        "{what}: {diff} voxels differ (gpu {} voxels, cpu {})",
        gpu.voxel_count, cpu.voxel_count
    );
    assert_eq!(gpu.voxel_count, cpu.voxel_count, "{what}: voxel count");
    assert_eq!(gpu.seed_used, cpu.seed_used, "{what}: seeds used");
    // The bitmask on its own: as many bits as voxels grown, none locked.
    let locked = VoxelBits::locked(labels, volume.shape, &request.locked_bits).expect("locks");
    assert_eq!(locked.is_some(), request.locked_bits != [0; 8], "{what}");
    let (region, _) = GROWER
        .grow_region(device, queue, image, locked.as_ref(), request)
        .expect("gpu region");
    assert_eq!(region.count(), cpu.voxel_count, "{what}: region bits");
    let mut painted = labels.to_vec();
    region.apply(&mut painted, request.label).expect("apply");
    assert_eq!(painted, cpu_labels, "{what}: region bitmask applied");
    gpu.voxel_count
}

const SHAPES: &[[usize; 3]] = &[
    [1, 1, 1],
    [37, 23, 19],
    [32, 32, 4],
    [64, 5, 7],
    [65, 9, 9],
    [33, 1, 1],
    [1, 40, 3],
    [1, 1, 50],
    [1, 17, 13],
    [29, 1, 21],
];

fn random_seeds(shape: [usize; 3], rng: &mut Rng, count: usize) -> Vec<[u32; 3]> {
    (0..count)
        .map(|_| [0, 1, 2].map(|a| rng.below(shape[a] as u64) as u32))
        .collect()
}

#[test]
fn gpu_equals_cpu_on_random_phantoms() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut grown = 0;
    for &shape in SHAPES {
        for kind in [Kind::I16, Kind::U8, Kind::F32] {
            let float = kind == Kind::F32;
            let volume = phantom(shape, &mut rng, kind, oblique_affine());
            let format = VolumeFormat::for_data(&volume.data, volume.value_range());
            assert_eq!(format == VolumeFormat::F32, float);
            let n = volume.voxel_count();
            for connectivity in [Connectivity::Face, Connectivity::Full] {
                for case in 0..4 {
                    let seeds = random_seeds(shape, &mut rng, 1 + case % 3);
                    // Bounds that equal stored values, so the inclusive edges matter.
                    let (lower, upper) = match kind {
                        Kind::F32 => (1.0, 3.0),
                        Kind::I16 => (0.0, 2.0),
                        Kind::U8 => (1.0, 3.0),
                    };
                    let mut request =
                        GrowRequest::new(&volume, seeds, lower, upper, connectivity, 7);
                    let mut labels = vec![0u8; n];
                    if case >= 2 {
                        // Labels 0..=3 with 2 locked (and 7 itself, from case 3).
                        labels = (0..n).map(|_| rng.below(4) as u8).collect();
                        request.locked_bits[0] |= 1 << 2;
                        if case == 3 {
                            request.locked_bits[0] |= 1 << 7;
                        }
                    }
                    if case % 2 == 1 {
                        request.max_distance_mm = Some(3.0 + rng.below(8) as f64);
                    }
                    let what = format!("{shape:?} {kind:?} {connectivity:?} case {case}");
                    grown += compare(&volume, &labels, &request, &what);
                }
            }
        }
    }
    assert!(
        grown > 1000,
        "phantoms grew too little ({grown}) to test much"
    );
}

/// Near the percolation threshold components are long and tangled: many unions.
#[test]
fn gpu_equals_cpu_on_tangled_components() {
    let mut rng = Rng(12345);
    let shape = [150, 70, 60];
    let n: usize = shape.iter().product();
    for (p_percent, connectivity) in [(33, Connectivity::Face), (12, Connectivity::Full)] {
        let data: Vec<u8> = (0..n)
            .map(|_| u8::from(rng.below(100) < p_percent) * 200)
            .collect();
        let volume = Volume::new(shape, VoxelData::U8(data), DMat4::IDENTITY, Modality::Mr)
            .expect("phantom");
        let seeds = random_seeds(shape, &mut rng, 40);
        let request = GrowRequest::new(&volume, seeds, 200.0, 255.0, connectivity, 1);
        let grown = compare(&volume, &vec![0; n], &request, &format!("{connectivity:?}"));
        assert!(grown > 1000, "{connectivity:?} grew only {grown}");
    }
}

/// Bounds between stored values: integers use ceil/floor, floats the nearest f32 inside.
#[test]
fn fractional_and_huge_bounds() {
    let mut rng = Rng(777);
    let shape = [40, 30, 20];
    for kind in [Kind::I16, Kind::U8, Kind::F32] {
        let volume = phantom(shape, &mut rng, kind, DMat4::IDENTITY);
        let n = volume.voxel_count();
        for (lower, upper) in [
            (0.1, 2.9),
            (-1e30, 1e30),
            (0.2499999, 0.7500001),
            (1.0, 1.0),
        ] {
            // Seed on a voxel inside the bounds when there is one.
            let seed = (0..n)
                .find(|&i| {
                    let v = volume.data.get_f64(i).unwrap_or(f64::NAN);
                    v >= lower && v <= upper
                })
                .unwrap_or(0);
            let ijk = [seed % 40, (seed / 40) % 30, seed / 1200].map(|x| x as u32);
            let request = GrowRequest::new(&volume, vec![ijk], lower, upper, Connectivity::Face, 3);
            compare(
                &volume,
                &vec![0; n],
                &request,
                &format!("[{lower}, {upper}] {kind:?}"),
            );
        }
    }
}

#[test]
fn seed_outside_bounds_grows_nothing_with_a_warning() {
    let volume = Volume::new(
        [4, 4, 4],
        VoxelData::I16(vec![5; 64]),
        DMat4::IDENTITY,
        Modality::Ct,
    )
    .expect("volume");
    let request = GrowRequest::new(&volume, vec![[1, 1, 1]], 6.0, 9.0, Connectivity::Face, 1);
    let (device, queue) = (&CTX.device, &CTX.queue);
    let texture = VolumeTexture::upload(device, queue, &volume).expect("upload");
    let mut labels = vec![0u8; 64];
    let out = GROWER
        .grow(
            device,
            queue,
            GrowImage::Texture(&texture),
            &mut labels,
            &request,
        )
        .expect("grow");
    assert_eq!(out.voxel_count, 0);
    assert_eq!(out.seed_used, vec![false]);
    assert!(
        out.warnings[0].contains("grows nothing"),
        "{:?}",
        out.warnings
    );
    assert!(labels.iter().all(|&l| l == 0));
}

#[test]
fn seed_outside_the_grid_is_an_error() {
    let volume = Volume::new(
        [4, 4, 4],
        VoxelData::I16(vec![5; 64]),
        DMat4::IDENTITY,
        Modality::Ct,
    )
    .expect("volume");
    let request = GrowRequest::new(&volume, vec![[1, 4, 1]], 0.0, 9.0, Connectivity::Face, 1);
    let (device, queue) = (&CTX.device, &CTX.queue);
    let texture = VolumeTexture::upload(device, queue, &volume).expect("upload");
    let mut labels = vec![0u8; 64];
    let err = GROWER
        .grow(
            device,
            queue,
            GrowImage::Texture(&texture),
            &mut labels,
            &request,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("outside the 4x4x4 grid"), "{err}");
    let mut cpu_labels = vec![0; 64];
    assert!(grow_cpu(&volume, &mut cpu_labels, &request).is_err());
}

/// The locked-voxel bitmask and `apply` against a per-voxel reading, on widths
/// around multiples of 32 (padding bits must stay clear).
#[test]
fn voxel_bits_match_per_voxel() {
    let mut rng = Rng(4242);
    for shape in [[1, 1, 1], [31, 3, 2], [32, 2, 3], [33, 4, 1], [70, 5, 3]] {
        let n: usize = shape.iter().product();
        let labels: Vec<u8> = (0..n).map(|_| rng.below(6) as u8).collect();
        let mut locked_bits = [0u32; 8];
        assert!(
            VoxelBits::locked(&labels, shape, &locked_bits)
                .expect("locks")
                .is_none()
        );
        locked_bits[0] = (1 << 2) | (1 << 5);
        let bits = VoxelBits::locked(&labels, shape, &locked_bits)
            .expect("locks")
            .expect("some locked");
        let wpr = VoxelBits::words_per_row(shape);
        assert_eq!(bits.words.len(), wpr * shape[1] * shape[2]);
        for (v, &l) in labels.iter().enumerate() {
            let ijk = [
                v % shape[0],
                (v / shape[0]) % shape[1],
                v / (shape[0] * shape[1]),
            ];
            assert_eq!(bits.get(ijk), l == 2 || l == 5, "{shape:?} {ijk:?}");
        }
        let want = labels.iter().filter(|&&l| l == 2 || l == 5).count() as u64;
        assert_eq!(bits.count(), want, "{shape:?}: padding bits set");
        let mut painted = labels.clone();
        bits.apply(&mut painted, 9).expect("apply");
        for (p, &l) in painted.iter().zip(&labels) {
            assert_eq!(*p, if l == 2 || l == 5 { 9 } else { l });
        }
        assert!(bits.apply(&mut painted[1..], 9).is_err());
        assert!(VoxelBits::locked(&labels[1..], shape, &locked_bits).is_err());
    }
}

/// Packed images larger than one dispatch's binding are thresholded in chunks
/// of whole rows: with chunks of 1..=5 rows (odd row widths, so chunks start at
/// odd voxels, mid image word and mid mask word) the region still equals the
/// CPU reference, with locks and distance limits too.
#[test]
fn chunked_packed_image_equals_cpu() {
    let (device, queue) = (&CTX.device, &CTX.queue);
    let align = u64::from(device.limits().min_storage_buffer_offset_alignment);
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let mut grown = 0;
    let mut chunked = 0;
    for shape in [
        [37, 23, 19],
        [65, 9, 9],
        [29, 7, 21],
        [33, 6, 5],
        [3, 40, 30],
    ] {
        for kind in [Kind::I16, Kind::U8] {
            let volume = phantom(shape, &mut rng, kind, oblique_affine());
            let n = volume.voxel_count();
            let (lower, upper) = match kind {
                Kind::I16 => (0.0, 2.0),
                _ => (1.0, 3.0),
            };
            let per_word = match kind {
                Kind::I16 => 2,
                _ => 4,
            };
            for rows in [1u64, 2, 3, 5] {
                // The smallest chunk holding `rows` rows (see chunk_rows in gpu.rs).
                let words = (align / 4).max(1) + 20 + (rows * shape[0] as u64).div_ceil(per_word);
                let packed = PackedImage::upload(device, queue, &volume)
                    .expect("packed upload")
                    .expect("packable")
                    .with_max_chunk_bytes(4 * words);
                assert_eq!(packed.max_chunk_bytes(), 4 * words);
                if packed.buffer.size() > packed.max_chunk_bytes() {
                    chunked += 1;
                }
                for case in 0..4 {
                    let connectivity = if case % 2 == 0 {
                        Connectivity::Face
                    } else {
                        Connectivity::Full
                    };
                    let seeds = random_seeds(shape, &mut rng, 1 + case % 3);
                    let mut request =
                        GrowRequest::new(&volume, seeds, lower, upper, connectivity, 5);
                    let mut labels = vec![0u8; n];
                    if case >= 2 {
                        labels = (0..n).map(|_| rng.below(4) as u8).collect();
                        request.locked_bits[0] |= 1 << 2;
                    }
                    if case == 3 {
                        request.max_distance_mm = Some(4.0 + rng.below(8) as f64);
                    }
                    let what = format!("{shape:?} {kind:?} {rows} rows/chunk case {case}");
                    grown += compare_one(
                        &volume,
                        &labels,
                        &request,
                        GrowImage::Packed(&packed),
                        &what,
                    );
                }
            }
        }
    }
    assert!(chunked >= 30, "only {chunked} images were chunked");
    assert!(grown > 1000, "grew too little ({grown}) to test much");
}
