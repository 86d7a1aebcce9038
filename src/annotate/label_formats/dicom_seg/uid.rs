//! UIDs of the form `2.25.<decimal of a 128-bit UUID>` (PS3.5 B.2), which
//! need no registered root: random ones for what rayseg creates, and
//! hash-derived ones for de-identification (see [`mapped_uid`]).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// The UID root every UID here starts with.
pub const ROOT: &str = "2.25.";

/// `2.25.` and a UUID's 128 bits with the given version nibble (RFC 9562).
fn uuid_uid(mut bytes: [u8; 16], version: u8) -> String {
    bytes[6] = (bytes[6] & 0x0f) | (version << 4);
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format!("{ROOT}{}", u128::from_be_bytes(bytes))
}

fn first_16(digest: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// A new random UID (a version-4 UUID). The bits come from the OS-seeded
/// keys of std's `RandomState`, the time, the process and a counter, mixed
/// by SHA-256: no two calls in any process give the same UID.
pub fn random_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    for _ in 0..2 {
        let mut s = std::collections::hash_map::RandomState::new().build_hasher();
        s.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.update(s.finish().to_le_bytes());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(now.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    uuid_uid(first_16(&h.finalize()), 4)
}

/// The de-identified replacement of `original`: the first 16 bytes of
/// SHA-256(`secret` ":" `original`) as a version-8 (custom) UUID. The same
/// UID and secret always give the same replacement, so a copy of the source
/// series de-identified the same way keeps every reference. In Python:
///
/// ```text
/// h = bytearray(hashlib.sha256(f"{secret}:{uid}".encode()).digest()[:16])
/// h[6] = h[6] & 0x0F | 0x80; h[8] = h[8] & 0x3F | 0x80
/// "2.25." + str(int.from_bytes(h, "big"))
/// ```
pub fn mapped_uid(original: &str, secret: &str) -> String {
    let original = original.trim_end_matches(['\0', ' ']);
    let digest = Sha256::digest(format!("{secret}:{original}").as_bytes());
    uuid_uid(first_16(&digest), 8)
}

/// The implementation class UID in the file meta group: fixed, derived from
/// the name "rayseg" the same way.
pub fn implementation_class_uid() -> String {
    uuid_uid(first_16(&Sha256::digest(b"rayseg implementation")), 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(uid: &str) -> bool {
        uid.len() <= 64
            && uid
                .split('.')
                .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
            && uid.split('.').all(|c| c == "0" || !c.starts_with('0'))
    }

    #[test]
    fn random_uids_are_valid_and_distinct() {
        let uids: std::collections::BTreeSet<String> = (0..1000).map(|_| random_uid()).collect();
        assert_eq!(uids.len(), 1000);
        assert!(
            uids.iter().all(|u| valid(u) && u.starts_with(ROOT)),
            "{uids:?}"
        );
    }

    #[test]
    fn mapped_uids_are_deterministic_and_keyed() {
        let a = mapped_uid("1.2.3.4", "");
        assert_eq!(a, mapped_uid("1.2.3.4\0", ""));
        assert_ne!(a, mapped_uid("1.2.3.5", ""));
        assert_ne!(a, mapped_uid("1.2.3.4", "key"));
        assert!(valid(&a) && valid(&implementation_class_uid()));
        // Oracle: the Python lines in the doc comment.
        assert_eq!(a, "2.25.330220177846250849338978258052080636755");
    }
}
