"""int8 vs float32 on this CPU: the .tflite files of export folders timed side by side, batch 1,
LiteRT with XNNPACK, in alternating rounds (so that machine noise hits every file alike), with
sizes and the ratio of each variant to its folder's float32:

    python bench/tflite_latency.py runs/export/cifar10_resnet20 runs/export/resnet50_random \\
        [--threads 1 --runs 50 --rounds 5]

Targets (issue 4): int8 latency <= 0.35x float32, int8 size <= 0.29x (ResNet-20) / 0.26x
(ResNet-50), float16 size <= 0.51x.
"""

from __future__ import annotations

import glob
import os
import statistics

from absl import app, flags

from keras_resnet.common.results import Report
from keras_resnet.export.predict import LiteRTClassifier

_THREADS = flags.DEFINE_integer("threads", 1, "Interpreter threads.", lower_bound=1)
_RUNS = flags.DEFINE_integer("runs", 50, "Timed invocations per round.", lower_bound=1)
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Alternating rounds.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def main(argv: list[str]) -> int:
    folders = argv[1:]
    files = [f for folder in folders
             for f in sorted(glob.glob(os.path.join(folder, "model_*.tflite")))]
    if not files:
        raise app.UsageError("give export output folders holding model_*.tflite files"
                             + (f"; none in {', '.join(folders)}" if folders else ""))
    models = {f: LiteRTClassifier(f, num_threads=_THREADS.value) for f in files}
    medians: dict[str, list[float]] = {f: [] for f in files}
    for _ in range(_ROUNDS.value):
        for f, model in models.items():
            medians[f].append(model.latency_ms(_RUNS.value)["median_ms"])
    report = Report()
    report(f"LiteRT XNNPACK, batch 1, {_THREADS.value} thread(s), median of {_RUNS.value} runs, "
          f"median over {_ROUNDS.value} alternating rounds")
    report(f"{'file':60} {'bytes':>11} {'size ×f32':>10} {'ms':>9} {'latency ×f32':>13}")
    for folder in folders:
        base = os.path.join(folder, "model_float32.tflite")
        for f in (f for f in files if os.path.dirname(f) == folder.rstrip("/")):
            ms = statistics.median(medians[f])
            size = os.path.getsize(f)
            ratio_size = ratio_ms = "—"
            if base in medians:
                ratio_size = f"{size / os.path.getsize(base):.3f}"
                ratio_ms = f"{ms / statistics.median(medians[base]):.3f}"
            report(f"{f:60} {size:>11,} {ratio_size:>10} {ms:>9.3f} {ratio_ms:>13}")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    app.run(main)
