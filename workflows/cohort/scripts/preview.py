"""Snakemake script: a PNG of the primary labels' outline over the image
(`rayseg slice`, which renders on the GPU), through the largest label's
centroid when `stats_0` found one. Optional: `--config previews=true`.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from steps import rayseg_exe, run_step, write_json  # noqa: E402


def main(sm):
    p = sm.params
    scan_dir = os.path.dirname(sm.input.status)
    png = sm.output.png
    cmd = [rayseg_exe(p.rayseg), "slice", p.row["image"], "-o", png]
    if p.row["labels"]:
        cmd += ["--labels", p.row["labels"][0], "--outline"]
        stats = os.path.join(scan_dir, "stats_0.json")
        if os.path.exists(stats):
            with open(stats) as f:
                labels = json.load(f)
            if labels:
                big = max(labels, key=lambda l: l["voxels"])
                cmd += ["--mm", repr(big["centroid_ras_mm"][2])]
    rec = run_step("preview", cmd, None, p.timeout_s, sm.threads)
    if not os.path.exists(png):
        open(png, "wb").close()  # an empty file keeps the DAG whole; status says why
    write_json(sm.output.status, {"scan_id": p.row["scan_id"], "status": rec["status"],
                                  "steps": [rec]})


main(snakemake)  # noqa: F821
