//! A boolean mask on a box of the voxel grid: what the effects take and give.

/// Grid connectivity of a voxel's neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Neighbours {
    /// Faces only.
    Six,
    /// Faces, edges and corners.
    TwentySix,
}

/// One bool per voxel of a box, i fastest, then j, then k.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub size: [usize; 3],
    pub bits: Vec<bool>,
}

impl Mask {
    pub fn new(size: [usize; 3]) -> Mask {
        Mask {
            size,
            bits: vec![false; size.iter().product()],
        }
    }

    /// `bits` must hold one value per voxel of `size`.
    pub fn from_bits(size: [usize; 3], bits: Vec<bool>) -> Mask {
        assert_eq!(bits.len(), size.iter().product::<usize>(), "mask size");
        Mask { size, bits }
    }

    pub fn index(&self, ijk: [usize; 3]) -> usize {
        ijk[0] + self.size[0] * (ijk[1] + self.size[1] * ijk[2])
    }

    pub fn ijk(&self, index: usize) -> [usize; 3] {
        let [ni, nj, _] = self.size;
        [index % ni, (index / ni) % nj, index / (ni * nj)]
    }

    pub fn get(&self, ijk: [usize; 3]) -> bool {
        self.bits[self.index(ijk)]
    }

    pub fn set(&mut self, ijk: [usize; 3], on: bool) {
        let at = self.index(ijk);
        self.bits[at] = on;
    }

    pub fn count(&self) -> u64 {
        self.bits.iter().filter(|&&b| b).count() as u64
    }

    pub fn is_empty(&self) -> bool {
        !self.bits.contains(&true)
    }

    /// The complement.
    pub fn not(&self) -> Mask {
        Mask {
            size: self.size,
            bits: self.bits.iter().map(|&b| !b).collect(),
        }
    }

    /// Voxels in `self` and not in `other` (same size).
    pub fn minus(&self, other: &Mask) -> Mask {
        Mask {
            size: self.size,
            bits: self
                .bits
                .iter()
                .zip(&other.bits)
                .map(|(&a, &b)| a && !b)
                .collect(),
        }
    }
}
