//! DICOM RLE Lossless (PS3.5 Annex G), decoded here rather than by
//! dicom-transfer-syntax-registry 0.10, whose decoder panics on malformed
//! segments (found by fuzzing; a panic aborts under libFuzzer and in any
//! program built with panic = abort).

/// Why an RLE frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RleError {
    #[error("RLE header is shorter than 4 bytes")]
    HeaderTooShort,
    #[error("RLE header is truncated")]
    HeaderTruncated,
    #[error(
        "RLE frame has {segments} segments, {expected} expected for one sample of {} bits",
        8 * expected
    )]
    Segments { segments: usize, expected: usize },
    #[error("RLE segment {segment} spans {start}..{end}, outside the {len}-byte frame")]
    SegmentOutside {
        segment: usize,
        start: usize,
        end: usize,
        len: usize,
    },
    #[error("RLE segment {segment} decodes to {got} bytes, {expected} expected")]
    SegmentLength {
        segment: usize,
        got: usize,
        expected: usize,
    },
}

/// Decodes one frame's fragment into little-endian samples
/// (`rows × columns × bytes_per_sample` bytes, one sample per pixel).
pub(crate) fn decode_frame(
    fragment: &[u8],
    pixels: usize,
    bytes_per_sample: usize,
) -> Result<Vec<u8>, RleError> {
    let word = |n: usize| -> Option<u32> {
        let b = fragment.get(4 * n..4 * n + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let segments = word(0).ok_or(RleError::HeaderTooShort)? as usize;
    if segments != bytes_per_sample {
        return Err(RleError::Segments {
            segments,
            expected: bytes_per_sample,
        });
    }
    let mut out = vec![0u8; pixels * bytes_per_sample];
    for s in 0..segments {
        let start = word(1 + s).ok_or(RleError::HeaderTruncated)? as usize;
        let end = if s + 1 < segments {
            word(2 + s).ok_or(RleError::HeaderTruncated)? as usize
        } else {
            fragment.len()
        };
        let segment = fragment.get(start..end).ok_or(RleError::SegmentOutside {
            segment: s,
            start,
            end,
            len: fragment.len(),
        })?;
        let plane = unpack_bits(segment, pixels).map_err(|got| RleError::SegmentLength {
            segment: s,
            got,
            expected: pixels,
        })?;
        // Segment 0 holds the most significant bytes; output is little-endian.
        let byte = bytes_per_sample - 1 - s;
        for (px, &v) in plane.iter().enumerate() {
            out[px * bytes_per_sample + byte] = v;
        }
    }
    Ok(out)
}

/// PackBits: a header byte n ≥ 0 copies n + 1 literal bytes; −127 ≤ n ≤ −1
/// repeats the next byte 1 − n times; −128 is a no-op. Err gives the length
/// decoded when the segment ends too early.
fn unpack_bits(segment: &[u8], wanted: usize) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(wanted);
    let mut i = 0;
    while out.len() < wanted {
        let Some(&h) = segment.get(i) else {
            return Err(out.len());
        };
        i += 1;
        let h = h as i8;
        if h >= 0 {
            let n = h as usize + 1;
            let literal = segment.get(i..i + n).ok_or(out.len())?;
            out.extend_from_slice(literal);
            i += n;
        } else if h != -128 {
            let &b = segment.get(i).ok_or(out.len())?;
            i += 1;
            out.resize(out.len() + (1 - h as isize) as usize, b);
        }
    }
    out.truncate(wanted);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(segments: &[&[u8]]) -> Vec<u8> {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
        let mut offset = 64u32;
        let mut body = Vec::new();
        for (s, seg) in segments.iter().enumerate() {
            header[4 + 4 * s..8 + 4 * s].copy_from_slice(&offset.to_le_bytes());
            offset += seg.len() as u32;
            body.extend_from_slice(seg);
        }
        header.extend(body);
        header
    }

    #[test]
    fn decodes_literals_and_runs_into_little_endian_samples() {
        // MSB plane: run of 3 × 0x01, then literal 0x02; LSB plane: literal 4 bytes.
        let f = frame(&[&[0xFE, 0x01, 0x00, 0x02], &[0x03, 10, 20, 30, 40]]);
        let out = decode_frame(&f, 4, 2).unwrap();
        assert_eq!(out, vec![10, 1, 20, 1, 30, 1, 40, 2]);
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        assert!(decode_frame(&[], 4, 1).is_err());
        assert!(decode_frame(&[1, 0, 0, 0], 4, 1).is_err());
        let short = frame(&[&[0x01, 7, 7]]);
        let e = decode_frame(&short, 4, 1).unwrap_err();
        assert_eq!(
            e,
            RleError::SegmentLength {
                segment: 0,
                got: 2,
                expected: 4
            }
        );
        assert!(e.to_string().contains("decodes to 2 bytes"), "{e}");
        let mut bad_offset = frame(&[&[0x03, 1, 2, 3, 4]]);
        bad_offset[4..8].copy_from_slice(&9999u32.to_le_bytes());
        assert!(decode_frame(&bad_offset, 4, 1).is_err());
        assert!(decode_frame(&frame(&[&[0x80, 0x80]]), 4, 1).is_err());
    }
}
