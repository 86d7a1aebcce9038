"""Snakemake script: the cohort tables from the per-scan and per-case JSON.

Values are copied from rayseg's JSON, never recomputed: floats are written
with repr(), so a reader gets back the very number rayseg printed.
"""

import csv
import json
import os

STATS = ["voxels", "volume_ml", "mean", "sd", "min", "max", "max_diameter_mm",
         "recist_long_mm", "recist_short_mm", "recist_slice", "recist_axis"]
# `rayseg compare --json` per-label fields, in its order; any field a newer
# rayseg adds is appended after these.
COMPARE = ["empty", "voxels_a", "voxels_b", "voxels_both", "volume_a_ml", "volume_b_ml",
           "volume_diff_ml", "volume_diff_percent", "dice", "jaccard", "surface_dice",
           "hausdorff_mm", "hd95_mm", "assd_mm", "asd_a_to_b_mm", "asd_b_to_a_mm",
           "surface_area_a_mm2", "surface_area_b_mm2"]
PROV = ["proposed_voxels", "kept_voxels", "removed_voxels", "added_voxels", "current_voxels",
        "proposed_ml", "kept_ml", "removed_ml", "added_ml", "current_ml", "dice",
        "human_edits", "editors", "first_edit", "last_edit"]
ERROR_CHARS = 500
SCAN_COLS = ["case_id", "timepoint", "scan_id", "manifest_line", "image", "labels",
             "reference", "status", "failed_steps", "skipped_steps", "shape_x", "shape_y",
             "shape_z", "spacing_x_mm", "spacing_y_mm", "spacing_z_mm", "dtype", "modality",
             "format", "min", "max", "warnings"]


def cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return ";".join(cell(x) for x in v)
    return str(v)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def output_of(status, step, folder):
    """The parsed JSON of a step that succeeded, else None."""
    for s in status["steps"]:
        if s["step"] == step and s["status"] == "ok" and s.get("output"):
            return load(os.path.join(folder, s["output"]))
    return None


def write_csv(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([cell(r.get(c)) for c in columns])


def scan_rows(status, folder):
    """cohort.csv rows of one scan: one per label map and label."""
    base = {k: status[k] for k in ("case_id", "timepoint", "scan_id")}
    cmp = output_of(status, "compare", folder)
    rows = []
    for i, lm in enumerate(status["labels"]):
        stats = output_of(status, f"stats_{i}", folder)
        if stats is None:
            continue  # failed: listed in failures.csv
        by_label = {s["label"]: s for s in stats}
        ref = {}
        if i == 0 and cmp is not None:
            ref = {c["label"]: c for c in cmp["labels"]}
        prov = output_of(status, f"provenance_{i}", folder)
        prov_labels = {p["label"]: p for p in prov["labels"]} if prov else {}
        # A label only in the reference is a miss of the primary map: it gets
        # a row too (voxels 0), so the comparison is not lost.
        for label in sorted(set(by_label) | set(ref)):
            s = by_label.get(label)
            row = dict(base, label_map_index=i, label_map=lm, label=label)
            if s is not None:
                row.update(name=s.get("name"), **{k: s.get(k) for k in STATS})
                c = s.get("centroid_ras_mm") or [None] * 3
                row.update(centroid_x_mm=c[0], centroid_y_mm=c[1], centroid_z_mm=c[2])
            else:
                row.update(name=ref[label].get("name"), voxels=0, volume_ml=0.0)
            if label in ref:
                row.update(reference=status["reference"], ref_tolerance_mm=cmp["tolerance_mm"])
                row.update({f"ref_{k}": v for k, v in ref[label].items()
                            if k not in ("label", "name")})
            if label in prov_labels:
                row["prov_model"] = prov["draft"].get("model")
                row.update({f"prov_{k}": prov_labels[label].get(k) for k in PROV})
            rows.append(row)
    return rows


def scan_summary(status, folder):
    info = output_of(status, "info", folder) or {}
    shape = info.get("shape") or [None] * 3
    spacing = info.get("spacing_mm") or [None] * 3
    return {
        **{k: status[k] for k in ("case_id", "timepoint", "scan_id", "image", "labels",
                                  "reference", "manifest_line", "status")},
        "failed_steps": [s["step"] for s in status["steps"] if s["status"] == "failed"],
        "skipped_steps": [s["step"] for s in status["steps"] if s["status"] == "skipped"],
        "shape_x": shape[0], "shape_y": shape[1], "shape_z": shape[2],
        "spacing_x_mm": spacing[0], "spacing_y_mm": spacing[1], "spacing_z_mm": spacing[2],
        **{k: info.get(k) for k in ("dtype", "modality", "format", "min", "max", "warnings")},
    }


def track_rows(status, folder):
    t = output_of(status, "track", folder)
    if t is None:
        return []
    responses = {r["time_point"]: r for r in t["responses"]}
    rows = []
    for lesion in t["lesions"]:
        for tp in lesion["time_points"]:
            i = tp["time_point"]
            row = {"case_id": status["case_id"], "scan_id": status["scan_ids"][i],
                   "timepoint": status["timepoints"][i], "time_point_index": i,
                   "lesion_id": lesion["id"], "label": lesion["label"], "role": lesion["role"],
                   "first_time_point": lesion["first_time_point"]}
            for k, v in tp.items():
                if k == "matched_by":
                    row.update({f"matched_{mk}": mv for mk, mv in v.items()})
                elif k not in ("time_point", "centroid_ras_mm"):
                    row[k] = v
            r = responses.get(i)
            if r is not None:
                row["new_lesions"] = r["new_lesions"]
                for kind in ("recist", "volumetric"):
                    row.update({f"{kind}_{k}": v for k, v in r[kind].items()})
            rows.append(row)
    return rows


def failures(status, scan_id):
    return [{"case_id": status["case_id"], "timepoint": status.get("timepoint"),
             "scan_id": scan_id, "step": s["step"], "returncode": s["returncode"],
             "command": s["command"], "error": (s["error"] or "")[-ERROR_CHARS:]}
            for s in status["steps"] if s["status"] == "failed"]


def columns_of(rows, first):
    cols = list(first)
    for r in rows:
        cols += [k for k in r if k not in cols]
    return cols


def main(sm):
    cohort, scans, tracking, failed = [], [], [], []
    for path in sm.input.scans:
        st, folder = load(path), os.path.dirname(path)
        cohort += scan_rows(st, folder)
        scans.append(scan_summary(st, folder))
        failed += failures(st, st["scan_id"])
    for path in sm.input.tracks:
        st = load(path)
        tracking += track_rows(st, os.path.dirname(path))
        failed += failures(st, "")  # a case-level step: no single scan
    for path in sm.input.previews:
        st = load(path)
        scan = next(s for s in scans if s["scan_id"] == st["scan_id"])
        failed += failures({**scan, **st}, st["scan_id"])

    id_cols = ["case_id", "timepoint", "scan_id"]
    cohort_first = [*id_cols, "label_map_index", "label_map", "label", "name", *STATS,
                    "centroid_x_mm", "centroid_y_mm", "centroid_z_mm",
                    "reference", "ref_tolerance_mm", *(f"ref_{k}" for k in COMPARE),
                    "prov_model", *(f"prov_{k}" for k in PROV)]
    write_csv(sm.output.cohort, columns_of(cohort, cohort_first), cohort)
    write_csv(sm.output.scans, SCAN_COLS, scans)
    track_first = [*id_cols, "time_point_index", "lesion_id", "label", "role",
                   "first_time_point", "status"]
    write_csv(sm.output.tracking, columns_of(tracking, track_first), tracking)
    write_csv(sm.output.failures, [*id_cols, "step", "returncode", "command", "error"], failed)


main(snakemake)  # noqa: F821
