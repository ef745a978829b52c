"""Kills exports at random moments while they write, and checks the output folder after each
kill: it must hold the previous export or the new, complete one, never a mix or nothing.

    python bench/export_kill.py [--kills=25 --seed=0 --workdir=DIR]
        [--output=results/bench/export_kill.txt]

Every round runs `export/export.py` for ResNet-20 at 32 px with random weights of a new seed
(float32 and dynamic-range files) into the same output folder, and sends SIGKILL at a moment
drawn at random from the steps of the writing, each followed by a random 0-0.3 s: the new
folder appears beside the output folder, then gets saved_model/, each .tflite file,
labels.txt, report.json; then the new folder is swapped in. Steps, not seconds, so that the
kills spread over the writing however busy the machine is. Then the folder is read:

- one export, whole: report.json lists exactly the folder's entries, and each .tflite file's
  sha256 is the one the report gives;
- which one: the report's source names the seed of the previous round's export or this one's.

Exit status 1 if any round left a mix or no folder, or a leftover beside it after one more
export.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORT = os.path.join(ROOT, "export", "export.py")

_KILLS = flags.DEFINE_integer("kills", 25, "Exports to kill.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the kill moments.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where the output folder goes (default: a "
                               "temporary folder, removed at the end).")
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def start_export(out: str, seed: int) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    return subprocess.Popen(
        [sys.executable, EXPORT, "--model=resnet20", "--image_size=32", f"--seed={seed}",
         f"--output_dir={out}", "--quantize=float32,dynamic", "--latency_runs=1",
         "--latency_threads=1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


#: The steps of an export's writing a kill is aimed at, in order.
STEPS = ("new folder", "saved_model/", "model_float32.tflite", "model_dynamic.tflite",
         "labels.txt", "report.json", "swapped in")


def reached(process: subprocess.Popen, out: str, seed: int) -> int:
    """How many of `STEPS` the export has reached (its new folder is named after its pid)."""
    parent, prefix = os.path.dirname(out), f".tmp-new-{os.path.basename(out)}-{process.pid}-"
    staging = [n for n in os.listdir(parent) if n.startswith(prefix)]
    if not staging:
        return len(STEPS) if read_export(out)[1] == seed else 0
    entries = set(os.listdir(os.path.join(parent, staging[0])))
    names = ("saved_model", *STEPS[2:6])
    return 1 + next((i for i, name in enumerate(names) if name not in entries), len(names))


def kill_at(process: subprocess.Popen, out: str, seed: int, step: int, delay: float) -> None:
    """SIGKILL `delay` seconds after the export reached step `step` (or when it ends)."""
    while process.poll() is None:
        try:
            if reached(process, out, seed) > step:
                break
        except FileNotFoundError:  # the folder was renamed while being listed
            pass
        time.sleep(0.01)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()


def read_export(out: str) -> tuple[str, int | None]:
    """("whole", seed) for one complete export, else (what is wrong, None)."""
    if not os.path.isdir(out):
        return "no folder", None
    try:
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
    except (OSError, ValueError) as err:
        return f"no readable report.json ({type(err).__name__})", None
    if sorted(os.listdir(out)) != sorted(report["files"]):
        return f"entries {sorted(os.listdir(out))} != the report's {report['files']}", None
    for entry in report["variants"].values():
        with open(os.path.join(out, entry["file"]), "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != entry["sha256"]:
                return f"{entry['file']} is not the file the report describes", None
    source = report["source"]  # "resnet20 (random weights of seed N, ...)"
    return "whole", int(source.split("seed ", 1)[1].split(",", 1)[0])


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from keras_resnet.common.results import Report

    workdir = _WORKDIR.value or tempfile.mkdtemp(prefix="export-kill-")
    out = os.path.join(workdir, "out")
    rng = random.Random(_SEED.value)
    report = Report()
    first = start_export(out, seed=0)
    if first.wait() != 0:
        print(first.stderr.read().decode()[-3000:], file=sys.stderr)
        report("the first, complete export failed")
        return 1
    report(f"{_KILLS.value} exports killed (SIGKILL), each at a random step of its writing "
           f"({', '.join(STEPS)}) plus a random 0-0.3 s")
    report("| round | killed after | folder after | holds |")
    report("|---:|---|---|---|")
    counts = {"previous": 0, "new": 0, "bad": 0}
    previous = 0
    for round_ in range(1, _KILLS.value + 1):
        step, delay = rng.randrange(len(STEPS)), rng.uniform(0, 0.3)
        kill_at(start_export(out, seed=round_), out, round_, step, delay)
        state, seed = read_export(out)
        holds = {previous: "previous", round_: "new"}.get(seed, "bad") if seed is not None \
            else "bad"
        counts[holds] += 1
        report(f"| {round_} | {STEPS[step]} + {delay:.2f} s | {state} | {holds} export |")
        if holds == "new":
            previous = round_
        if holds == "bad":
            break
    last = start_export(out, seed=_KILLS.value + 1)  # also removes what killed ones left
    ok = last.wait() == 0 and read_export(out) == ("whole", _KILLS.value + 1)
    leftovers = sorted(set(os.listdir(workdir)) - {"out"})
    report(f"previous export kept: {counts['previous']}; new export complete: {counts['new']}; "
           f"mixed or missing: {counts['bad']}; after one more export, leftovers beside the "
           f"folder: {len(leftovers)}{' ' + str(leftovers) if leftovers else ''}"
           f"{'' if ok else '; that export failed'}")
    report.save(_OUTPUT.value)
    if not _WORKDIR.value:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if counts["bad"] or leftovers or not ok else 0


if __name__ == "__main__":
    app.run(main)
