"""Is the input pipeline the bottleneck? Three rates measured side by side in one run:

1. the tf.data training pipeline alone (decode + cache + augment + batch), images/s;
2. the training step on synthetic data already in memory (the step's own ceiling);
3. real training: the same step fed by the pipeline.

Real training should reach >= 90% of synthetic. Defaults: ResNet-20, batch 128, the CIFAR-10
folder beside the repository (45k train images; the cache is filled before timing):

    python bench/input_pipeline.py [--dataset folder:PATH --steps 100 --rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tensorflow as tf  # noqa: E402

from training import data_plan  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.model import build_model  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data", "cifar10", "train")


def timed_fit(model, dataset, steps: int, batch: int) -> float:
    """Images/s of one `fit` call of `steps` steps (wall time of the whole call)."""
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=f"folder:{os.path.normpath(DEFAULT_DATA)}")
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100, help="steps per timed measurement")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cfg = TrainConfig(model=args.model, dataset=args.dataset, model_dir="/nonexistent",
                              batch_size=args.batch, normalization="cifar10", seed=0,
                              verbose=0)
    plan = data_plan.prepare(cfg)
    batch = args.batch
    stream = plan.train_data.stream()
    it = iter(stream)
    print(f"filling the cache: one pass over {plan.train_examples} images ...", flush=True)
    for _ in range(plan.steps_per_epoch):
        next(it)
    start = time.perf_counter()
    for _ in range(args.steps):
        next(it)
    pipeline = args.steps * batch / (time.perf_counter() - start)

    model = build_model(plan)
    x, y = next(it)
    synthetic = tf.data.Dataset.from_tensors((x, y)).repeat()
    timed_fit(model, synthetic, 5, batch)  # compile
    timed_fit(model, stream, 5, batch)
    rates = {"synthetic": [], "real": []}
    for r in range(args.rounds):
        rates["synthetic"].append(timed_fit(model, synthetic, args.steps, batch))
        rates["real"].append(timed_fit(model, stream, args.steps, batch))
        print(f"round {r + 1}: synthetic {rates['synthetic'][-1]:.0f} img/s, real "
              f"{rates['real'][-1]:.0f} img/s", flush=True)
    syn, real = statistics.median(rates["synthetic"]), statistics.median(rates["real"])
    print(f"\n{args.model}, global batch {batch}, {args.dataset}, {os.cpu_count()} CPUs")
    print("| measurement | img/s |\n|---|---:|")
    print(f"| input pipeline alone | {pipeline:.0f} |")
    print(f"| train step, synthetic data in memory | {syn:.0f} |")
    print(f"| real training (pipeline + step) | {real:.0f} |")
    print(f"real / synthetic: {real / syn:.3f}  (target >= 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
