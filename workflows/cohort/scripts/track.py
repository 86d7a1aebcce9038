"""Snakemake script: `rayseg track` over one case's time points.

The scans come baseline first (manifest.tracked_cases orders them); each
contributes its image and its primary label map.
"""

import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from steps import clean_dir, rayseg_exe, run_step, write_json  # noqa: E402


def run(scans, outdir, exe, timeout_s, threads, extra_args):
    clean_dir(outdir)
    missing = [s["scan_id"] for s in scans if not s["labels"]]
    if missing:
        return [{"step": "track", "command": None, "output": None, "returncode": None,
                 "status": "failed",
                 "error": f"no label map for time point(s) {', '.join(missing)}"}]
    cmd = [exe, "track"]
    for s in scans:
        cmd += ["--scan", s["image"], s["labels"][0]]
    cmd += [*extra_args, "--json"]
    return [run_step("track", cmd, os.path.join(outdir, "track.json"), timeout_s, threads)]


def main(sm):
    p = sm.params
    try:
        steps = run(p.scans, os.path.dirname(sm.output.status), rayseg_exe(p.rayseg),
                    p.timeout_s, sm.threads, list(p.extra_args))
    except Exception:
        steps = [{"step": "workflow", "command": None, "output": None, "returncode": None,
                  "status": "failed", "error": traceback.format_exc()[-2000:]}]
    status = "failed" if any(s["status"] == "failed" for s in steps) else "ok"
    write_json(sm.output.status, {
        "case_id": p.case_id,
        "scan_ids": [s["scan_id"] for s in p.scans],
        "timepoints": [s["timepoint"] for s in p.scans],
        "status": status,
        "steps": steps,
    })


main(snakemake)  # noqa: F821
