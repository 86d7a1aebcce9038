//! Segment tags (`key:value|` pairs) and the label description they give.

use std::collections::BTreeMap;

use super::{LOCKED_TAG, NOTE_TAG, OPACITY_TAG, STATUS_TAG, Segment, TERMINOLOGY_TAG, VISIBLE_TAG};
use crate::annotate::labels::{LabelInfo, ReviewStatus, Terminology};

/// Slicer's tag list: `key:value|` pairs, split at the first `:`; pairs
/// without one are skipped (a last pair without its `|` is kept).
pub(super) fn parse_tags(text: &str) -> BTreeMap<String, String> {
    text.split('|')
        .filter_map(|pair| pair.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `%`, `|`, `:` and line breaks as `%XX`, so a note survives Slicer's tag list.
pub(super) fn escape_note(note: &str) -> String {
    let mut out = String::with_capacity(note.len());
    for c in note.chars() {
        match c {
            '%' | '|' | ':' | '\n' | '\r' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn unescape_note(text: &str) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let raw = text.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'%', Some(b)) => {
                bytes.push(b);
                i += 3;
            }
            (b, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The label description a segment's header fields give.
pub(super) fn label_info(s: &Segment, value: u8, warnings: &mut Vec<String>) -> LabelInfo {
    let mut info = LabelInfo::new(value, s.name.clone());
    info.color = s.color;
    let who = format!("segment {:?} (Segment{})", s.name, s.index);
    if let Some(status) = s.tags.get(STATUS_TAG) {
        match ReviewStatus::from_slicer_name(status) {
            Some(st) => info.review.status = st,
            None => warnings.push(format!("{who}: unknown {STATUS_TAG} {status:?} ignored")),
        }
    }
    if let Some(note) = s.tags.get(NOTE_TAG) {
        info.review.note = unescape_note(note);
    }
    if let Some(entry) = s.tags.get(TERMINOLOGY_TAG).filter(|e| !e.is_empty()) {
        match Terminology::from_slicer(entry) {
            Ok(t) => info.terminology = Some(t),
            Err(e) => warnings.push(format!("{who}: {e}; terminology ignored")),
        }
    }
    if let Some(a) = s.tags.get(OPACITY_TAG) {
        match a.parse::<f32>() {
            Ok(a) if (0.0..=1.0).contains(&a) => info.opacity = a,
            _ => warnings.push(format!("{who}: {OPACITY_TAG} {a:?} is not in 0..1")),
        }
    }
    info.visible = s.tags.get(VISIBLE_TAG).is_none_or(|v| v != "0");
    info.locked = s.tags.get(LOCKED_TAG).is_some_and(|v| v == "1");
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_survive_the_tag_list() {
        for note in ["", "plain", "a|b:c%d\ne\r", "100% done: ok|", "ünï"] {
            let e = escape_note(note);
            assert!(!e.contains(['|', ':', '\n', '\r']), "{e}");
            assert_eq!(unescape_note(&e), note);
        }
        assert_eq!(unescape_note("50%zz"), "50%zz");
    }

    #[test]
    fn tags_split_as_slicer_splits_them() {
        let t = parse_tags("Segmentation.Status:inprogress|TerminologyEntry:a~b^c:d|junk|last:x");
        assert_eq!(t["Segmentation.Status"], "inprogress");
        assert_eq!(t["TerminologyEntry"], "a~b^c:d");
        assert_eq!(t["last"], "x");
        assert_eq!(t.len(), 3);
    }
}
