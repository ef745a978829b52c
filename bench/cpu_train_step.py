"""CPU benchmark: training-step throughput of our ResNet50 vs keras.applications.ResNet50.

Forward + backward + SGD update, batch 32, 224x224, float32, TensorFlow backend, jit_compile.
Both models run in one process, alternating rounds so that machine noise hits both alike:

    python bench/cpu_train_step.py [--rounds 5 --steps 2 --batch 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import keras_resnet  # noqa: E402


def compiled(model: keras.Model) -> keras.Model:
    """`model` compiled for SGD training with XLA."""
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", jit_compile=True)
    return model


def time_steps(model: keras.Model, x: np.ndarray, y: np.ndarray, steps: int) -> float:
    """Seconds for `steps` synchronous training steps."""
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="steps per round and model")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, args.size, args.size, 3), dtype=np.float32)
    y = rng.integers(0, 1000, (args.batch,))
    shape = (args.size, args.size, 3)
    models = {
        "keras_resnet.ResNet50": compiled(keras_resnet.ResNet50(input_shape=shape)),
        "keras.applications.ResNet50": compiled(
            keras.applications.ResNet50(weights=None, input_shape=shape)),
    }
    for name, model in models.items():
        print(f"{name}: {model.count_params():,} params; compiling ...", flush=True)
        time_steps(model, x, y, 2)
    rates = {name: [] for name in models}
    for r in range(args.rounds):
        for name, model in models.items():
            rates[name].append(args.steps * args.batch / time_steps(model, x, y, args.steps))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{n} {v[-1]:.1f} img/s" for n, v in rates.items()), flush=True)
    ours, ref = (statistics.median(v) for v in rates.values())
    print(f"\nResNet-50 train step, batch {args.batch}, {args.size}x{args.size}, float32, "
          f"{keras.backend.backend()} backend, jit_compile, {os.cpu_count()} CPUs")
    print("| model | img/s (median of rounds) |\n|---|---:|")
    for name, v in rates.items():
        print(f"| {name} | {statistics.median(v):.2f} |")
    print(f"ratio ours / keras.applications: {ours / ref:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
