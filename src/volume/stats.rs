use super::{VoxelData, each_variant};

/// Summary of the values after scaling, as nibabel/SimpleITK would report them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueStats {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub mean: f64,
    pub nonzero: u64,
    /// NaN voxels, left out of every other field (as numpy's nan* functions do).
    pub nan: u64,
}

impl ValueStats {
    pub fn compute(data: &VoxelData) -> Self {
        let n = data.len();
        let (min, max, sum, nonzero, nan) = match data {
            // Histograms make 8/16-bit images (most CT and MR) exact and fast.
            VoxelData::U8(v) => no_nan(from_histogram(&histogram_u8(v), |b| b as f64)),
            VoxelData::I8(v) => no_nan(from_histogram(
                &histogram(v, |x| (x as i16 + 128) as usize, 256),
                |b| b as f64 - 128.0,
            )),
            VoxelData::U16(v) => {
                no_nan(from_histogram(&histogram(v, |x| x as usize, 65536), |b| {
                    b as f64
                }))
            }
            VoxelData::I16(v) => no_nan(from_histogram(
                &histogram(v, |x| (x as i32 + 32768) as usize, 65536),
                |b| b as f64 - 32768.0,
            )),
            _ => each_variant!(data, v => summarise(v)),
        };
        let counted = n as u64 - nan;
        ValueStats {
            min,
            max,
            sum,
            mean: if counted > 0 {
                sum / counted as f64
            } else {
                f64::NAN
            },
            nonzero,
            nan,
        }
    }
}

fn no_nan((min, max, sum, nonzero): (f64, f64, f64, u64)) -> (f64, f64, f64, u64, u64) {
    (min, max, sum, nonzero, 0)
}

/// Counts per u8 value, over chunks in parallel. Four interleaved tables so that
/// runs of equal values (background) do not stall on one counter, and no
/// per-voxel closure call: the generic version below took ~27% of loading
/// ch2better (35 M voxels), more than this whole function now.
fn histogram_u8(values: &[u8]) -> Vec<u64> {
    use rayon::prelude::*;
    values
        .par_chunks(1 << 20)
        .map(|chunk| {
            let mut t = [[0u32; 256]; 4];
            let mut quads = chunk.chunks_exact(4);
            for q in &mut quads {
                t[0][q[0] as usize] += 1;
                t[1][q[1] as usize] += 1;
                t[2][q[2] as usize] += 1;
                t[3][q[3] as usize] += 1;
            }
            for &x in quads.remainder() {
                t[0][x as usize] += 1;
            }
            // Chunks of 2^20 voxels cannot overflow the u32 counters.
            (0..256)
                .map(|b| t.iter().map(|t| u64::from(t[b])).sum())
                .collect::<Vec<u64>>()
        })
        .reduce(
            || vec![0u64; 256],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

/// Counts per value, over chunks in parallel.
fn histogram<T: Copy + Send + Sync>(
    values: &[T],
    bin: impl Fn(T) -> usize + Sync,
    bins: usize,
) -> Vec<u64> {
    use rayon::prelude::*;
    values
        .par_chunks(1 << 20)
        .map(|chunk| {
            let mut h = vec![0u64; bins];
            for &x in chunk {
                h[bin(x)] += 1;
            }
            h
        })
        .reduce(
            || vec![0u64; bins],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

/// min, max, sum (exact: counts × values stay far below 2^53) and non-zero count.
fn from_histogram(h: &[u64], value: impl Fn(usize) -> f64) -> (f64, f64, f64, u64) {
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let (mut sum, mut nonzero) = (0.0f64, 0u64);
    for (b, &count) in h.iter().enumerate().filter(|(_, c)| **c > 0) {
        let v = value(b);
        min = min.min(v);
        max = max.max(v);
        sum += v * count as f64;
        if v != 0.0 {
            nonzero += count;
        }
    }
    (min, max, sum, nonzero)
}

/// Chunked so that float sums are pairwise-ish (close to numpy's) and integer
/// sums stay exact in f64 (each chunk sum is far below 2^53). NaN voxels are
/// counted and left out of everything else.
fn summarise<T: Copy + Into<f64Like>>(values: &[T]) -> (f64, f64, f64, u64, u64) {
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0f64;
    let mut nonzero = 0u64;
    let mut nan = 0u64;
    for chunk in values.chunks(4096) {
        let mut chunk_sum = 0.0f64;
        for &x in chunk {
            let x: f64Like = x.into();
            let x = x.0;
            if x.is_nan() {
                nan += 1;
                continue;
            }
            if x < min {
                min = x;
            }
            if x > max {
                max = x;
            }
            chunk_sum += x;
            nonzero += (x != 0.0) as u64;
        }
        sum += chunk_sum;
    }
    (min, max, sum, nonzero, nan)
}

/// f64 conversion for every voxel type (u32/i32 are exact in f64).
#[allow(non_camel_case_types)]
struct f64Like(f64);

macro_rules! into_f64like {
    ($($t:ty),*) => {$(
        impl From<$t> for f64Like {
            fn from(x: $t) -> Self { f64Like(x as f64) }
        }
    )*};
}
into_f64like!(u8, i8, u16, i16, u32, i32, f32, f64);
