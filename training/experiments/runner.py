"""The training runs behind an experiment: `training/train.py` in a subprocess per run, each in
its own model_dir (so a rerun resumes an interrupted run and skips a finished one), and the
curves read back from its history.csv (per epoch) and steps.csv (per N steps, if written)."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = os.path.join(ROOT, "training", "train.py")
CONFIGS = os.path.join(ROOT, "training", "configs")
#: The embedded CIFAR-10 sample the quick modes train on.
SAMPLE_DATA = os.path.join(ROOT, "training", "sample_data", "cifar10")
#: Flags every quick-mode run adds to its flagfile: the embedded sample, small batches, a short
#: warmup, no mid-epoch checkpoints.
QUICK_OVERRIDES = [f"--dataset=folder:{SAMPLE_DATA}", "--batch_size=64", "--warmup_steps=10",
                   "--checkpoint_every_steps=0"]


@dataclasses.dataclass(frozen=True)
class Run:
    """A finished run: its curves (one dict per epoch; one per window of steps, if the run
    wrote steps.csv) and its metrics.json."""

    name: str
    model_dir: str
    history: list[dict[str, float]]
    metrics: dict
    steps: list[dict[str, float]] = dataclasses.field(default_factory=list)

    def iterations(self) -> list[int]:
        """The optimizer step at the end of each history row."""
        spe, last = self.metrics["steps_per_epoch"], self.metrics["steps"]
        return [min((int(row["epoch"]) + 1) * spe, last) for row in self.history]

    def series(self, key: str) -> list[float]:
        return [row[key] for row in self.history]

    def training_curve(self, key: str) -> tuple[list[int], list[float]]:
        """(steps, values) of a training metric: steps.csv's windows when the run wrote them,
        else history.csv's epochs. An epoch's last window, cut short by the epoch's end (a
        step or two: a noisy mean), is merged into the window before it, weighted by steps."""
        if not self.steps:
            return self.iterations(), self.series(key)
        ends = [int(row["step"]) for row in self.steps]
        lengths = [b - a for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        usual = sorted(lengths)[len(lengths) // 2]
        steps: list[int] = []
        values: list[float] = []
        for i, row in enumerate(self.steps):
            same_epoch = i and self.steps[i - 1]["epoch"] == row["epoch"]
            if same_epoch and 2 * lengths[i] < usual:
                before = lengths[i - 1]
                values[-1] = ((values[-1] * before + row[key] * lengths[i])
                              / (before + lengths[i]))
                steps[-1] = ends[i]
                lengths[i] += before
            else:
                steps.append(ends[i])
                values.append(row[key])
        return steps, values


def config(name: str) -> str:
    """The path of a shipped training flagfile, e.g. ``cifar10_resnet56``."""
    path = os.path.join(CONFIGS, f"{name}.flags")
    if not os.path.isfile(path):
        raise ValueError(f"no flagfile {path}; shipped: "
                         f"{', '.join(sorted(f[:-6] for f in os.listdir(CONFIGS)))}")
    return path


def read_history(path: str) -> list[dict[str, float]]:
    """history.csv as one row per epoch; an epoch logged twice (a resumed run) keeps its last
    row."""
    rows: dict[int, dict[str, float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            values = {k: float(v) for k, v in row.items() if v not in ("", None)}
            rows[int(values["epoch"])] = values
    return [rows[e] for e in sorted(rows)]


def read_steps(path: str) -> list[dict[str, float]]:
    """steps.csv (train.py --log_every_steps) as one row per window; [] when there is none."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: How long the other workers may run on after one of them failed: a worker whose peer is
#: gone waits in its collective ops (TensorFlow's own health check ends that only after
#: minutes, if at all).
PEER_GRACE_SECONDS = 60


def wait_for_workers(procs: list[subprocess.Popen], grace: float = PEER_GRACE_SECONDS,
                     poll: float = 0.5) -> list[int]:
    """Waits for every process; once one has failed (non-zero exit, e.g. killed), the others
    get `grace` seconds to end by themselves and are then terminated (killed if they ignore
    it). Returns the exit codes (negative: ended by that signal)."""
    failed_at = None
    while None in (codes := [p.poll() for p in procs]):  # every process polled each round
        if failed_at is None and any(code for code in codes if code is not None):
            failed_at = time.monotonic()
        if failed_at is not None and time.monotonic() - failed_at > grace:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            break
        time.sleep(poll)
    return [p.returncode for p in procs]


def _launch(args: list[str], env: dict[str, str], logs: list[str]) -> list[int]:
    """Runs train.py once per log path: one process, or ``len(logs)``
    MultiWorkerMirroredStrategy processes on 127.0.0.1 (TF_CONFIG each); returns the exit
    codes. A worker that dies does not leave the others waiting for it for ever
    (`wait_for_workers`); the run then resumes from its last checkpoint when launched again."""
    if len(logs) == 1:
        with open(logs[0], "a") as log:
            return [subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=ROOT).returncode]
    cluster = [f"127.0.0.1:{_free_port()}" for _ in logs]
    procs = []
    for index, path in enumerate(logs):
        config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
        with open(path, "a") as log:  # the child keeps its own copy of the descriptor
            procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                          env={**env, "TF_CONFIG": json.dumps(config)}))
    return wait_for_workers(procs)


def train(name: str, flagfile: str, overrides: list[str], out: str,
          backend: str | None = None, workers: int = 1) -> Run:
    """Trains `flagfile` with `overrides` into ``out/name`` (resuming it), unless a finished
    run is already there; its output goes to ``out/name.log``. With ``workers > 1`` the run is
    that many MultiWorkerMirroredStrategy processes on this machine."""
    out, flagfile = os.path.abspath(out), os.path.abspath(flagfile)
    model_dir = os.path.join(out, name)
    metrics_path = os.path.join(model_dir, "metrics.json")
    os.makedirs(out, exist_ok=True)
    if os.path.isfile(metrics_path):
        print(f"[{name}] finished earlier: {model_dir}")
    else:
        args = [sys.executable, TRAIN, f"--flagfile={flagfile}", *overrides,
                f"--model_dir={model_dir}"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if backend:
            env["KERAS_BACKEND"] = backend
        logs = ([os.path.join(out, f"{name}.log")] if workers == 1 else
                [os.path.join(out, f"{name}-worker{i}.log") for i in range(workers)])
        print(f"[{name}] training (log: {', '.join(logs)}) ...", flush=True)
        start = time.perf_counter()
        codes = _launch(args, env, logs)
        if any(codes):
            failed = logs[next(i for i, code in enumerate(codes) if code)]
            with open(failed) as log:
                tail = log.read()[-1500:]
            raise RuntimeError(f"run {name} failed (exit codes {codes}; negative: ended by that "
                               f"signal, e.g. -15 stopped after a peer failed); calling it again "
                               f"resumes from its last checkpoint in {model_dir}. The end of "
                               f"{failed}:\n{tail}")
        print(f"[{name}] done in {time.perf_counter() - start:.0f} s", flush=True)
    with open(metrics_path) as f:
        metrics = json.load(f)
    return Run(name, model_dir, read_history(os.path.join(model_dir, "history.csv")), metrics,
               read_steps(os.path.join(model_dir, "steps.csv")))
