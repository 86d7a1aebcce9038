"""Runs one rayseg command per step and records how it went.

A failed step never raises: its exit code and the tail of its stderr go into
the step record, so one broken scan cannot stop a cohort run.
"""

import json
import os
import shlex
import shutil
import subprocess
import time

STDERR_TAIL = 2000  # characters of stderr kept per failed step


def rayseg_exe(name):
    """The configured rayseg: a path, or a name looked up on PATH."""
    if os.sep in name:
        return os.path.abspath(name)
    return shutil.which(name) or name


def run_step(step, cmd, out_json, timeout_s, threads=1):
    """Runs `cmd`, which prints JSON; writes it to `out_json` when the command
    succeeds and its output parses (`out_json` None: the command writes its
    own output, only the exit code counts). Returns the step record."""
    rec = {"step": step, "command": shlex.join(cmd), "output": None}
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        tail = e.stderr or ""
        tail = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        rc, out, err = 124, "", f"timed out after {timeout_s} s\n{tail}"
    except OSError as e:  # not found, not executable
        rc, out, err = 127, "", str(e)
    rec["seconds"] = round(time.monotonic() - t0, 3)
    rec["returncode"] = rc
    if rc == 0 and out_json is None:
        rec.update(status="ok", output=None, error=None)
    elif rc == 0:
        try:
            data = json.loads(out)
        except json.JSONDecodeError as e:
            err = f"output is not JSON: {e}\n{err}"
            rec.update(status="failed", error=err.strip()[-STDERR_TAIL:])
            return rec
        write_json(out_json, data)
        rec.update(status="ok", output=os.path.basename(out_json), error=None)
        # stderr of a successful run can still hold useful notes (e.g. the
        # registration metric of `track`): keep a short tail.
        rec["stderr"] = err.strip()[-STDERR_TAIL:] or None
    else:
        rec.update(status="failed", error=err.strip()[-STDERR_TAIL:] or f"exit code {rc}")
    return rec


def skipped(step, reason):
    return {"step": step, "command": None, "output": None, "returncode": None,
            "status": "skipped", "error": reason}


def write_json(path, data):
    """Written beside, then renamed: a killed job leaves no half file."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def clean_dir(path):
    """Outputs of an earlier run of this job would be mistaken for this run's."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith((".json", ".tmp", ".png")):
            os.remove(os.path.join(path, name))
