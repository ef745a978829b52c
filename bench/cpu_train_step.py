"""CPU benchmark: training-step throughput of our ResNet50 vs keras.applications.ResNet50.

Forward + backward + SGD update, batch 32, 224x224, float32, TensorFlow backend, jit_compile.
Both models run in one process, alternating rounds so that machine noise hits both alike:

    python bench/cpu_train_step.py [--rounds=5 --steps=2 --batch=32] [--output=FILE]
"""

from __future__ import annotations

import os
import statistics

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
from absl import app, flags

import keras_resnet
from keras_resnet.common.results import Report
from keras_resnet.common.step_timing import alternating_rates

_BATCH = flags.DEFINE_integer("batch", 32, "Batch size.", lower_bound=1)
_SIZE = flags.DEFINE_integer("size", 224, "Image side.", lower_bound=32)
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Alternating rounds.", lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", 2, "Steps per round and model.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def compiled(model: keras.Model) -> keras.Model:
    """`model` compiled for SGD training with XLA."""
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", jit_compile=True)
    return model


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    batch, size, rounds, steps = _BATCH.value, _SIZE.value, _ROUNDS.value, _STEPS.value
    rng = np.random.default_rng(0)
    x = rng.random((batch, size, size, 3), dtype=np.float32)
    y = rng.integers(0, 1000, (batch,))
    shape = (size, size, 3)
    models = {
        "keras_resnet.ResNet50": compiled(keras_resnet.ResNet50(input_shape=shape)),
        "keras.applications.ResNet50": compiled(
            keras.applications.ResNet50(weights=None, input_shape=shape)),
    }
    for name, model in models.items():
        print(f"{name}: {model.count_params():,} params", flush=True)
    rates = alternating_rates(models, x, y, rounds, steps)
    ours, ref = (statistics.median(v) for v in rates.values())
    report = Report()
    report(f"ResNet-50 train step, batch {batch}, {size}x{size}, float32, "
           f"{keras.backend.backend()} backend, jit_compile, {os.cpu_count()} CPUs")
    report("| model | img/s (median of rounds) |")
    report("|---|---:|")
    for name, v in rates.items():
        report(f"| {name} | {statistics.median(v):.2f} |")
    report(f"ratio ours / keras.applications: {ours / ref:.3f}x")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    app.run(main)
