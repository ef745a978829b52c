"""CPU benchmark: what a teacher costs a training step (`--teacher`, knowledge distillation).

Three models built by the trainer's own `build_model` (the recipe's weight decay, label
smoothing, Nesterov SGD and schedule), trained on one in-memory batch, alternating rounds in
one process so that machine noise hits them alike:

1. the student alone (default ResNet-20);
2. the student distilled from the teacher (default `resnet56:cifar10`): its step adds the
   teacher's forward pass;
3. the teacher's network trained alone, for scale.

    python bench/distill_train_step.py [--rounds=5 --steps=10 --batch=64] [--output=FILE]

The ratio distilled / alone is what a distillation run's wall time is multiplied by.
"""

from __future__ import annotations

import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as the trainer runs (cpu_kernels.py)

import keras
import numpy as np
from absl import app, flags

from keras_resnet.common.cpu_kernels import onednn_active
from keras_resnet.common.results import Report
from keras_resnet.common.step_timing import alternating_rates
from keras_resnet.train import data_plan
from keras_resnet.train.config import TrainConfig
from keras_resnet.train.distillation import load_teacher
from keras_resnet.train.model import build_model

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data", "cifar10", "train")

_DATASET = flags.DEFINE_string("dataset", f"folder:{os.path.normpath(DEFAULT_DATA)}",
                               "The trainer's --dataset (sets the classes; not read per step).")
_STUDENT = flags.DEFINE_string("student", "resnet20", "Registered model name of the student.")
_TEACHER = flags.DEFINE_string("teacher", "resnet56:cifar10",
                               "The trainer's --teacher: a .keras file or NAME:TAG.")
_BATCH = flags.DEFINE_integer("batch", 64, "Global batch size.", lower_bound=1)
_SIZE = flags.DEFINE_integer("size", 32, "Image side.", lower_bound=8)
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Alternating rounds.", lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", 10, "Steps per round and model.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    batch, size, rounds, steps = _BATCH.value, _SIZE.value, _ROUNDS.value, _STEPS.value
    teacher_name = load_teacher(_TEACHER.value, size).name  # refuses a bad teacher first
    # training/configs/cifar10_resnet20_long.flags, the recipe the distillation run uses.
    recipe = dict(dataset=_DATASET.value, model_dir="/nonexistent", batch_size=batch,
                  image_size=size, normalization="cifar10", val_fraction=0.1, epochs=180,
                  lr=0.1, lr_schedule="cosine", warmup_steps=703, momentum=0.9,
                  nesterov=True, label_smoothing=0.1, weight_decay=5e-4, seed=0, verbose=0)
    configs = {
        f"{_STUDENT.value} alone": TrainConfig(model=_STUDENT.value, **recipe),
        f"{_STUDENT.value} + teacher {_TEACHER.value}": TrainConfig(
            model=_STUDENT.value, teacher=_TEACHER.value, **recipe),
        f"{teacher_name} alone": TrainConfig(model=teacher_name, **recipe),
    }
    models = {name: build_model(data_plan.prepare(cfg)) for name, cfg in configs.items()}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, 3), dtype=np.float32)
    y = rng.integers(0, models[next(iter(models))].output_shape[-1], (batch,))
    rates = alternating_rates(models, x, y, rounds, steps)
    median = {name: statistics.median(v) for name, v in rates.items()}
    alone, distilled, teacher = median.values()
    report = Report()
    report(f"Training step with and without a teacher, batch {batch}, {size}x{size}, float32, "
           f"{keras.backend.backend()} backend, oneDNN {'on' if onednn_active() else 'off'}, "
           f"{os.cpu_count()} CPUs, {rounds} rounds x {steps} steps")
    report("| model | img/s (median of rounds) |")
    report("|---|---:|")
    for name, rate in median.items():
        report(f"| {name} | {rate:.1f} |")
    report(f"step time distilled / alone: {alone / distilled:.2f}x")
    report(f"step time teacher trained alone / student alone: {alone / teacher:.2f}x")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    app.run(main)
