"""The cohort manifest, read exactly as rayseg reads it (src/cohort/manifest.rs).

Kept in step with the Rust reader so that scan ids, and so output folders,
are the same names `rayseg export-dataset` uses. Standard library only.
"""

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field


class ManifestError(ValueError):
    pass


@dataclass
class Row:
    case_id: str
    image: str
    labels: list = field(default_factory=list)  # primary first
    reference: str | None = None
    timepoint: str | None = None
    line: int = 0

    @property
    def scan_id(self):
        if self.timepoint is None:
            return self.case_id
        return f"{self.case_id}_{safe_id(self.timepoint)}"


def safe_id(s):
    """`-_.` and ASCII alphanumerics kept, anything else `_` (per character)."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in s)


def valid_case_id(s):
    return bool(s) and not s.startswith(".") and all(
        (c.isascii() and c.isalnum()) or c in "-_." for c in s
    )


def read_manifest(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return parse_manifest(text, str(path), os.path.dirname(os.path.abspath(path)))


def parse_manifest(text, path, base):
    def err(line, msg):
        return ManifestError(f"{path}: line {line}: {msg}")

    # Comment lines become blank lines so csv's line_num still names the
    # line an editor shows (the csv crate skips comments the same way).
    lines = text.splitlines(keepends=True)
    lines = ["\n" if ln.startswith("#") else ln for ln in lines]
    reader = csv.reader(io.StringIO("".join(lines)))
    header = None
    for rec in reader:
        if rec and any(f.strip() for f in rec):
            header = [h.strip().lstrip("\ufeff").strip().lower() for h in rec]
            break
    if header is None:
        raise ManifestError(f"{path}: no rows")

    def col(name):
        return header.index(name) if name in header else None

    for name in ("case_id", "image"):
        if col(name) is None:
            raise ManifestError(
                f"{path}: the header has no `{name}` column (it has: {', '.join(header)})"
            )
    ci, ii, li, ri, ti = (col(n) for n in ("case_id", "image", "labels", "reference", "timepoint"))

    def resolve(p):
        return p if os.path.isabs(p) else os.path.join(base, p)

    rows, seen = [], set()
    for rec in reader:
        line = reader.line_num
        if all(not f.strip() for f in rec):
            continue

        def get(c):
            if c is None or c >= len(rec):
                return None
            v = rec[c].strip()
            return v or None

        case_id = get(ci)
        if case_id is None:
            raise err(line, "empty case_id")
        if not valid_case_id(case_id):
            raise err(line, f"case_id {case_id!r} may hold only letters, digits and - _ .")
        image = get(ii)
        if image is None:
            raise err(line, f"case {case_id}: empty image")
        labels = [resolve(p.strip()) for p in (get(li) or "").split(";") if p.strip()]
        ref = get(ri)
        row = Row(case_id, resolve(image), labels, resolve(ref) if ref else None, get(ti), line)
        if row.scan_id in seen:
            raise err(
                line,
                f"scan {row.scan_id} appears twice (case_id and timepoint must be unique)",
            )
        seen.add(row.scan_id)
        rows.append(row)
    if not rows:
        raise ManifestError(f"{path}: no rows")
    return rows


def _time_key(rows):
    """Numeric order when every time point is a number, else text order
    (ISO dates sort correctly as text)."""
    try:
        nums = [float(r.timepoint) for r in rows]
        if all(math.isfinite(n) for n in nums):
            return lambda r: float(r.timepoint)
    except ValueError:
        pass
    return lambda r: r.timepoint


def tracked_cases(rows):
    """case_id -> its scans with a time point, baseline first, for every case
    with at least two of them (rows without a time point are not tracked)."""
    by_case = {}
    for r in rows:
        if r.timepoint is not None:
            by_case.setdefault(r.case_id, []).append(r)
    return {c: sorted(rs, key=_time_key(rs)) for c, rs in by_case.items() if len(rs) >= 2}


def journal_path(label_map):
    """`<map without .nii.gz/.nii/.seg.nrrd/...>.journal.jsonl` beside the map,
    as rayseg's annotate::journal::journal_path."""
    d, name = os.path.split(label_map)
    lower = name.lower()
    for ext in (".nii.gz", ".nii", ".seg.nrrd", ".nrrd", ".nhdr", ".mha", ".mhd"):
        if lower.endswith(ext):
            name = name[: len(name) - len(ext)]
            break
    return os.path.join(d, f"{name}.journal.jsonl")
