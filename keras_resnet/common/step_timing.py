"""Training-step throughput of several compiled models, for the CPU benchmarks under bench/.

The models train in alternating rounds in one process, so that a shared machine's noise
(other jobs, clock changes) hits them alike and their ratio holds where absolute rates do not.
"""

from __future__ import annotations

import time

import keras
import numpy as np


def time_steps(model: keras.Model, x: np.ndarray, y: np.ndarray, steps: int) -> float:
    """Seconds for `steps` synchronous training steps on the batch (x, y)."""
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return time.perf_counter() - start


def alternating_rates(models: dict[str, keras.Model], x: np.ndarray, y: np.ndarray,
                      rounds: int, steps: int, warmup: int = 2) -> dict[str, list[float]]:
    """Images/s of each model in each round: `warmup` untimed steps each (tracing,
    compiling), then `rounds` rounds of `steps` timed steps per model, printed as they end."""
    for name, model in models.items():
        print(f"{name}: compiling ...", flush=True)
        time_steps(model, x, y, warmup)
    batch = len(x)
    rates: dict[str, list[float]] = {name: [] for name in models}
    for r in range(rounds):
        for name, model in models.items():
            rates[name].append(steps * batch / time_steps(model, x, y, steps))
        print(f"round {r + 1}/{rounds}: " + ", ".join(
            f"{n} {v[-1]:.1f} img/s" for n, v in rates.items()), flush=True)
    return rates
