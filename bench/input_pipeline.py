"""Is the input pipeline the bottleneck? Three rates measured side by side in one run:

1. the tf.data training pipeline alone (decode + cache + augment + batch), images/s;
2. the training step on synthetic data already in memory (the step's own ceiling);
3. real training: the same step fed by the pipeline.

Real training should reach >= 90% of synthetic. Defaults: ResNet-20, batch 128, the CIFAR-10
folder beside the repository (45k train images; the cache is filled before timing):

    python bench/input_pipeline.py [--dataset folder:PATH --steps 100 --rounds 2]

`--cutout` and `--auto_augment` add the trainer's augmentations of those names, to check that a
recipe's heavier augmentation still keeps up with the step.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf
from absl import app, flags

from keras_resnet.common.results import Report
from keras_resnet.train import data_plan
from keras_resnet.train.config import TrainConfig
from keras_resnet.train.model import build_model

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data", "cifar10", "train")

_DATASET = flags.DEFINE_string("dataset", f"folder:{os.path.normpath(DEFAULT_DATA)}",
                               "The trainer's --dataset.")
_MODEL = flags.DEFINE_string("model", "resnet20", "Registered model name.")
_BATCH = flags.DEFINE_integer("batch", 128, "Global batch size.", lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", 100, "Steps per timed measurement.", lower_bound=1)
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Alternating rounds.", lower_bound=1)
_CUTOUT = flags.DEFINE_integer("cutout", 0, "The trainer's --cutout.", lower_bound=0)
_AUTO_AUGMENT = flags.DEFINE_enum("auto_augment", "none", ["none", "trivial"],
                                  "The trainer's --auto_augment.")
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def timed_fit(model, dataset, steps: int, batch: int) -> float:
    """Images/s of one `fit` call of `steps` steps (wall time of the whole call)."""
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    cfg = TrainConfig(model=_MODEL.value, dataset=_DATASET.value, model_dir="/nonexistent",
                      batch_size=_BATCH.value, normalization="cifar10", seed=0, verbose=0,
                      cutout=_CUTOUT.value, auto_augment=_AUTO_AUGMENT.value)
    plan = data_plan.prepare(cfg)
    batch = _BATCH.value
    stream = plan.train_data.stream()
    it = iter(stream)
    print(f"filling the cache: one pass over {plan.train_examples} images ...", flush=True)
    for _ in range(plan.steps_per_epoch):
        next(it)
    start = time.perf_counter()
    for _ in range(_STEPS.value):
        next(it)
    pipeline = _STEPS.value * batch / (time.perf_counter() - start)

    model = build_model(plan)
    x, y = next(it)
    synthetic = tf.data.Dataset.from_tensors((x, y)).repeat()
    timed_fit(model, synthetic, 5, batch)  # compile
    timed_fit(model, stream, 5, batch)
    rates = {"synthetic": [], "real": []}
    for r in range(_ROUNDS.value):
        rates["synthetic"].append(timed_fit(model, synthetic, _STEPS.value, batch))
        rates["real"].append(timed_fit(model, stream, _STEPS.value, batch))
        print(f"round {r + 1}: synthetic {rates['synthetic'][-1]:.0f} img/s, real "
              f"{rates['real'][-1]:.0f} img/s", flush=True)
    syn, real = statistics.median(rates["synthetic"]), statistics.median(rates["real"])
    report = Report()
    report(f"{_MODEL.value}, global batch {batch}, {_DATASET.value}, {os.cpu_count()} CPUs, "
           f"--augment=cifar --cutout={_CUTOUT.value} --auto_augment={_AUTO_AUGMENT.value}")
    report("| measurement | img/s |")
    report("|---|---:|")
    report(f"| input pipeline alone | {pipeline:.0f} |")
    report(f"| train step, synthetic data in memory | {syn:.0f} |")
    report(f"| real training (pipeline + step) | {real:.0f} |")
    report(f"real / synthetic: {real / syn:.3f}  (target >= 0.90)")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    app.run(main)
