//! Checks a JPEG 2000 codestream's image size (its SIZ segment) against the
//! DICOM header before the codec runs. dicom-rs 0.10 copies every decoded
//! sample into a buffer sized from Rows × Columns × SamplesPerPixel and
//! indexes past it when the codestream is larger or has more components
//! (found by fuzzing), so such frames are refused here with a clear error.

use crate::volume::error::LoadErrorKind;

/// JPEG 2000 transfer syntaxes (Part 1 and High-Throughput).
pub fn is_jpeg2000(syntax: &str) -> bool {
    let s = syntax.trim_end_matches('\0').trim();
    matches!(
        s,
        "1.2.840.10008.1.2.4.90"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.92"
            | "1.2.840.10008.1.2.4.93"
            | "1.2.840.10008.1.2.4.201"
            | "1.2.840.10008.1.2.4.202"
            | "1.2.840.10008.1.2.4.203"
    )
}

/// SOC marker followed by the SIZ marker: how every codestream starts.
const SOC_SIZ: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];

/// Where the codestream starts in a fragment: at 0, or inside a JP2 file's
/// `jp2c` box (searched in the first 64 KiB).
fn codestream_start(fragment: &[u8]) -> Option<usize> {
    if fragment.starts_with(&SOC_SIZ) {
        return Some(0);
    }
    let head = &fragment[..fragment.len().min(64 << 10)];
    head.windows(4).position(|w| w == SOC_SIZ)
}

fn be32(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4)
        .map(|s| u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])))
}

/// Checks the codestream beginning in `fragment` (if any; fragments that
/// continue a frame hold none) against Rows, Columns and SamplesPerPixel.
pub fn check_fragment(
    fragment: &[u8],
    rows: u32,
    columns: u32,
    samples_per_pixel: u16,
) -> Result<(), LoadErrorKind> {
    let Some(start) = codestream_start(fragment) else {
        return Ok(());
    };
    let siz = &fragment[start + 4..];
    let bad = || LoadErrorKind::Corrupt("JPEG 2000 codestream with a truncated SIZ segment".into());
    // Lsiz(2) Rsiz(2) Xsiz YSiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz (4 each) Csiz(2).
    let (x, y) = (be32(siz, 4).ok_or_else(bad)?, be32(siz, 8).ok_or_else(bad)?);
    let (x0, y0) = (
        be32(siz, 12).ok_or_else(bad)?,
        be32(siz, 16).ok_or_else(bad)?,
    );
    let csiz = siz
        .get(36..38)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .ok_or_else(bad)?;
    if csiz > samples_per_pixel {
        return Err(LoadErrorKind::Corrupt(format!(
            "JPEG 2000 codestream has {csiz} components, SamplesPerPixel is {samples_per_pixel}"
        )));
    }
    for c in 0..usize::from(csiz) {
        let at = 38 + 3 * c;
        let (dx, dy) = match siz.get(at + 1..at + 3) {
            Some(r) => (u64::from(r[0].max(1)), u64::from(r[1].max(1))),
            None => return Err(bad()),
        };
        let w = x.div_ceil(dx).saturating_sub(x0.div_ceil(dx));
        let h = y.div_ceil(dy).saturating_sub(y0.div_ceil(dy));
        if (w, h) != (u64::from(columns), u64::from(rows)) {
            return Err(LoadErrorKind::Corrupt(format!(
                "JPEG 2000 component {c} is {w}×{h} samples, Columns × Rows say {columns}×{rows}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn siz(w: u32, h: u32, comps: &[(u8, u8)]) -> Vec<u8> {
        let mut b = SOC_SIZ.to_vec();
        b.extend_from_slice(&(38 + 3 * comps.len() as u16).to_be_bytes());
        b.extend_from_slice(&0u16.to_be_bytes());
        for v in [w, h, 0, 0, w, h, 0, 0] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&(comps.len() as u16).to_be_bytes());
        for (dx, dy) in comps {
            b.extend_from_slice(&[15, *dx, *dy]);
        }
        b
    }

    #[test]
    fn codestream_size_must_match_the_header() {
        assert!(check_fragment(&siz(64, 32, &[(1, 1)]), 32, 64, 1).is_ok());
        assert!(check_fragment(&siz(64, 33, &[(1, 1)]), 32, 64, 1).is_err());
        assert!(check_fragment(&siz(64, 32, &[(1, 1), (1, 1)]), 32, 64, 1).is_err());
        assert!(check_fragment(&siz(64, 32, &[(2, 2)]), 32, 64, 1).is_err());
        assert!(check_fragment(&siz(64, 32, &[(1, 1)])[..20], 32, 64, 1).is_err());
        // A fragment continuing a frame has no codestream start.
        assert!(check_fragment(&[1, 2, 3, 4, 5], 32, 64, 1).is_ok());
        assert!(is_jpeg2000("1.2.840.10008.1.2.4.90\0"));
        assert!(!is_jpeg2000("1.2.840.10008.1.2.4.50"));
    }
}
