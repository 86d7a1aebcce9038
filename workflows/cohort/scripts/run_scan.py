"""Snakemake script: every per-scan rayseg step of one scan.

Steps: `info`, `stats_<i>` for label map i (0 = primary), `compare` (the
reference as A, the primary labels as B), `provenance_<i>` for each label map
with a journal. Each writes `<step>.json`; `status.json` records every step.
"""

import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from manifest import journal_path  # noqa: E402
from steps import clean_dir, rayseg_exe, run_step, skipped, write_json  # noqa: E402

# `provenance` on a map that was never a model's draft is not a failure.
NOT_APPLICABLE = ("records no model draft",)


def run(row, outdir, exe, timeout_s, tolerance_mm, threads):
    clean_dir(outdir)
    steps = []

    def step(name, cmd):
        rec = run_step(name, [exe, *cmd], os.path.join(outdir, f"{name}.json"), timeout_s, threads)
        steps.append(rec)
        return rec

    step("info", ["info", row["image"], "--json"])
    for i, lm in enumerate(row["labels"]):
        step(f"stats_{i}", ["stats", lm, "--image", row["image"], "--json"])
    if row["reference"]:
        if row["labels"]:
            step("compare", ["compare", row["reference"], row["labels"][0],
                             "--tolerance-mm", str(tolerance_mm), "--json"])
        else:
            # A reference without labels to compare is a manifest mistake.
            steps.append(skipped("compare", "a reference but no label map"))
            steps[-1]["status"] = "failed"
    for i, lm in enumerate(row["labels"]):
        name = f"provenance_{i}"
        if not os.path.exists(journal_path(lm)):
            steps.append(skipped(name, f"no journal ({os.path.basename(journal_path(lm))})"))
            continue
        rec = step(name, ["provenance", lm, "--json"])
        if rec["status"] == "failed" and any(s in rec["error"] for s in NOT_APPLICABLE):
            rec["status"] = "skipped"
    return steps


def main(sm):
    row = sm.params.row
    outdir = os.path.dirname(sm.output.status)
    try:
        steps = run(row, outdir, rayseg_exe(sm.params.rayseg), sm.params.timeout_s,
                    sm.params.tolerance_mm, sm.threads)
    except Exception:  # a bug here must still leave a status for the aggregate
        steps = [{"step": "workflow", "command": None, "output": None, "returncode": None,
                  "status": "failed", "error": traceback.format_exc()[-2000:]}]
    status = "failed" if any(s["status"] == "failed" for s in steps) else "ok"
    write_json(sm.output.status, {**row, "status": status, "steps": steps})


main(snakemake)  # noqa: F821 (provided by Snakemake's script directive)
