//! The Modality LUT Sequence (0028,3000): stored values mapped through a
//! table instead of RescaleSlope/Intercept, as pydicom's `apply_modality_lut`
//! does (SimpleITK/GDCM ignore the table and return the stored values).

use dicom_core::{DicomValue, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

use super::header::{Object, first_item, get_f64s};

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ModalityLut {
    /// The stored value mapped to the first entry.
    pub first_mapped: i64,
    pub entries: Vec<u16>,
    /// Nominal bits of the output (LUTDescriptor's third value).
    pub bits: u16,
}

/// The first item of ModalityLUTSequence, if there is a usable one; a warning
/// says why one that is present cannot be used.
pub(crate) fn modality_lut(
    obj: &Object,
    signed_pixels: bool,
    implicit_vr: bool,
) -> (Option<ModalityLut>, Option<String>) {
    let Some(item) = first_item(obj, tags::MODALITY_LUT_SEQUENCE) else {
        return (None, None);
    };
    let unusable = |why: &str| {
        (
            None,
            Some(format!(
                "Modality LUT Sequence (0028,3000) ignored: {why}; RescaleSlope/Intercept used"
            )),
        )
    };
    let Some(descriptor) = get_f64s(item, tags::LUT_DESCRIPTOR).filter(|d| d.len() == 3) else {
        return unusable("its LUTDescriptor is not three numbers");
    };
    let declared = if descriptor[0] == 0.0 {
        65536
    } else {
        descriptor[0] as usize
    };
    let mut first_mapped = descriptor[1] as i64;
    // Implicit VR cannot say whether the descriptor is US or SS: pydicom
    // decides by PixelRepresentation, and so does this.
    let is_ss = item
        .get(tags::LUT_DESCRIPTOR)
        .is_some_and(|e| e.vr() == VR::SS);
    if implicit_vr && signed_pixels && !is_ss && first_mapped > i64::from(i16::MAX) {
        first_mapped -= 65536;
    }
    let bits = descriptor[2] as u16;
    let entries: Vec<u16> = match item.get(tags::LUT_DATA).map(|e| e.value()) {
        Some(DicomValue::Primitive(PrimitiveValue::U16(v))) => v.to_vec(),
        Some(DicomValue::Primitive(PrimitiveValue::U8(v))) => v
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect(),
        Some(DicomValue::Primitive(other)) => other
            .to_multi_int::<u16>()
            .map(|v| v.to_vec())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if entries.is_empty() {
        return unusable("it has no LUTData");
    }
    let mut warning = format!(
        "Modality LUT Sequence applied ({} entries from stored value {first_mapped}, \
         {bits}-bit output), as pydicom's apply_modality_lut does",
        entries.len()
    );
    if entries.len() != declared {
        warning.push_str(&format!(
            "; LUTDescriptor declares {declared} entries, the table holds {}",
            entries.len()
        ));
    }
    (
        Some(ModalityLut {
            first_mapped,
            entries,
            bits,
        }),
        Some(warning),
    )
}

impl ModalityLut {
    /// A stored value through the table: below the first mapped value to the
    /// first entry, beyond the table to the last.
    pub fn map(&self, v: i32) -> u16 {
        let last = self.entries.len() as i64 - 1;
        let index = (i64::from(v) - self.first_mapped).clamp(0, last.max(0));
        self.entries.get(index as usize).copied().unwrap_or(0)
    }

    /// pydicom's output type is `uint{bits}`: u8 for 8-bit tables.
    pub fn fits_u8(&self) -> bool {
        self.bits <= 8 && self.entries.iter().all(|&e| e <= 255)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_below_and_beyond_the_table() {
        let lut = ModalityLut {
            first_mapped: -2,
            entries: vec![10, 20, 30],
            bits: 16,
        };
        let out: Vec<u16> = [-5, -2, -1, 0, 9].into_iter().map(|v| lut.map(v)).collect();
        assert_eq!(out, vec![10, 10, 20, 30, 30]);
        assert!(!lut.fits_u8());
        assert!(ModalityLut { bits: 8, ..lut }.fits_u8());
    }
}
