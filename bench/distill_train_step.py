"""CPU benchmark: what a teacher costs a training step (`--teacher`, knowledge distillation).

Three models built by the trainer's own `build_model` from a distillation run's flagfile
(default: `training/configs/cifar10_resnet20_distill.flags`, its recipe and its teacher),
trained on one in-memory batch, alternating rounds in one process so that machine noise hits
them alike:

1. the student alone (the flagfile without `--teacher`);
2. the student distilled from the teacher, as the flagfile says: its step adds the teacher's
   forward pass;
3. the teacher's network trained alone with the same recipe, for scale.

    python bench/distill_train_step.py [--flagfile_of_run=FILE --rounds=5 --steps=10]
                                       [--output=FILE]

Run it from the checkout's root (the flagfile's paths are relative to it). The ratio
distilled / alone is what a distillation run's wall time is multiplied by.
"""

from __future__ import annotations

import dataclasses
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
from keras_resnet.train.flags import config_from_flagfile
from keras_resnet.train.model import build_model

_RUN = flags.DEFINE_string("flagfile_of_run", "training/configs/cifar10_resnet20_distill.flags",
                           "The distillation run to measure: a trainer flagfile with --teacher.")
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Alternating rounds.", lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", 10, "Steps per round and model.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    distilled_cfg = config_from_flagfile(_RUN.value)
    if not distilled_cfg.teacher:
        raise app.UsageError(f"--flagfile_of_run={_RUN.value} has no --teacher: give the "
                             "flagfile of a distillation run.")
    plan = data_plan.prepare(distilled_cfg)  # refuses a bad teacher first
    distilled = build_model(plan)
    student_cfg = dataclasses.replace(distilled_cfg, teacher=None)
    teacher_cfg = dataclasses.replace(student_cfg, model=distilled.teacher.name)
    models = {
        f"{student_cfg.model} alone": build_model(data_plan.prepare(student_cfg)),
        f"{student_cfg.model} + teacher {distilled_cfg.teacher}": distilled,
        f"{teacher_cfg.model} alone": build_model(data_plan.prepare(teacher_cfg)),
    }
    batch, size = distilled_cfg.batch_size, distilled_cfg.image_size
    rounds, steps = _ROUNDS.value, _STEPS.value
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, 3), dtype=np.float32)
    y = rng.integers(0, plan.num_classes, (batch,))
    rates = alternating_rates(models, x, y, rounds, steps)
    median = {name: statistics.median(v) for name, v in rates.items()}
    rate_alone, rate_distilled, rate_teacher = median.values()
    report = Report()
    report(f"Training step with and without a teacher ({_RUN.value}), batch {batch}, "
           f"{size}x{size}, float32, {keras.backend.backend()} backend, "
           f"oneDNN {'on' if onednn_active() else 'off'}, {os.cpu_count()} CPUs, "
           f"{rounds} rounds x {steps} steps")
    report("| model | img/s (median of rounds) |")
    report("|---|---:|")
    for name, rate in median.items():
        report(f"| {name} | {rate:.1f} |")
    report(f"step time distilled / alone: {rate_alone / rate_distilled:.2f}x")
    report(f"step time teacher trained alone / student alone: {rate_alone / rate_teacher:.2f}x")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    app.run(main)
