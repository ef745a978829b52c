"""int8 vs float32 on this CPU: the .tflite files of export folders timed side by side, batch 1,
LiteRT with XNNPACK, in alternating rounds (so that machine noise hits every file alike), with
sizes and the ratio of each variant to its folder's float32:

    python bench/tflite_latency.py runs/export/cifar10_resnet20 runs/export/resnet50_random \\
        [--threads 1 --runs 50 --rounds 5]

Targets (issue 4): int8 latency <= 0.35x float32, int8 size <= 0.29x (ResNet-20) / 0.26x
(ResNet-50), float16 size <= 0.51x.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from export.predict import LiteRTClassifier  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="export output folders (model_*.tflite)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50, help="timed invocations per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    files = [f for folder in args.folders
             for f in sorted(glob.glob(os.path.join(folder, "model_*.tflite")))]
    if not files:
        parser.error("no model_*.tflite files in the given folders")
    models = {f: LiteRTClassifier(f, num_threads=args.threads) for f in files}
    medians: dict[str, list[float]] = {f: [] for f in files}
    for _ in range(args.rounds):
        for f, model in models.items():
            medians[f].append(model.latency_ms(args.runs)["median_ms"])
    print(f"LiteRT XNNPACK, batch 1, {args.threads} thread(s), median of {args.runs} runs, "
          f"median over {args.rounds} alternating rounds")
    print(f"{'file':60} {'bytes':>11} {'size ×f32':>10} {'ms':>9} {'latency ×f32':>13}")
    for folder in args.folders:
        base = os.path.join(folder, "model_float32.tflite")
        for f in (f for f in files if os.path.dirname(f) == folder.rstrip("/")):
            ms = statistics.median(medians[f])
            size = os.path.getsize(f)
            ratio_size = ratio_ms = "—"
            if base in medians:
                ratio_size = f"{size / os.path.getsize(base):.3f}"
                ratio_ms = f"{ms / statistics.median(medians[base]):.3f}"
            print(f"{f:60} {size:>11,} {ratio_size:>10} {ms:>9.3f} {ratio_ms:>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
