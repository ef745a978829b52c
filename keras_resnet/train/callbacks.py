"""Callbacks of the fit loop: throughput in the progress bar, a hard stop on a non-finite loss,
the best model kept by validation accuracy, and training curves finer than an epoch."""

from __future__ import annotations

import csv
import math
import os
import time

import keras

from keras_resnet.common.atomic_io import atomic_path
from keras_resnet.train import stretches
from keras_resnet.train.checkpoints import optimizer_step, save_model
from keras_resnet.train.weight_average import averaged_weights

#: What a run's record holds: the files of model_dir that say what ran and how it went.
RECORD = ("flags.txt", "labels.txt", "history.csv", "metrics.json", stretches.FILE)


def copy_record(model_dir: str, results_dir: str) -> list[str]:
    """Copies the `RECORD` files model_dir has into results_dir, each atomically; returns
    their names."""
    copied = []
    for name in RECORD:
        source = os.path.join(model_dir, name)
        if os.path.isfile(source):
            with open(source, "rb") as f, atomic_path(os.path.join(results_dir, name)) as tmp:
                with open(tmp, "wb") as out:
                    out.write(f.read())
            copied.append(name)
    return copied


class KeepRecord(keras.callbacks.Callback):
    """After each epoch (once the history row is written), the run's record goes to
    results_dir."""

    def __init__(self, model_dir: str, results_dir: str):
        super().__init__()
        self.model_dir, self.results_dir = model_dir, results_dir

    def on_epoch_end(self, epoch, logs=None):
        copy_record(self.model_dir, self.results_dir)


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training cannot go on from here."""


class Throughput(keras.callbacks.Callback):
    """Adds ``img/s`` (global images per second over the epoch so far) to the logs the progress
    bar prints, and keeps each epoch's figure in `epoch_rates`."""

    def __init__(self, global_batch_size: int):
        super().__init__()
        self.global_batch_size = global_batch_size
        self.epoch_rates: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._batches = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the epoch's last step done: with steps_per_execution = k, Keras calls
        # this once per k steps, so counting calls would undercount k-fold.
        self._batches = batch + 1
        if logs is not None:
            logs["img/s"] = self._rate()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_rates.append(self._rate())
        if logs is not None:
            logs["img_per_sec"] = self.epoch_rates[-1]

    def _rate(self) -> float:
        return self._batches * self.global_batch_size / max(time.perf_counter() - self._start,
                                                            1e-9)


class RunProgress(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, numbering epochs out of the whole run ("Epoch 5/30") although the
    trainer calls fit once per epoch."""

    def __init__(self, total_epochs: int):
        super().__init__()
        self.total_epochs = total_epochs

    def set_params(self, params):
        super().set_params(params)
        self.epochs = self.total_epochs


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises NonFiniteLossError, naming the step, as soon as the loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            step = optimizer_step(self.model)
            raise NonFiniteLossError(
                f"loss is {float(loss)} at step {step}; stopping. Lower the learning rate, check "
                "the input data, or use float32 instead of mixed_float16. The last good "
                "checkpoint in model_dir is kept; rerunning resumes from it.")


def best_epoch(history_csv: str, monitor: str = "val_accuracy") -> tuple[int, float] | None:
    """(0-based epoch, value) of the first best `monitor` in a CSVLogger history; None when
    there is no such file or no epoch with the column."""
    if not os.path.isfile(history_csv):
        return None
    with open(history_csv) as f:
        rows = [r for r in csv.DictReader(f) if r.get(monitor) not in (None, "")]
    if not rows:
        return None
    best = max(rows, key=lambda r: float(r[monitor]))  # max keeps the first of equals
    return int(best["epoch"]), float(best[monitor])


class BestModel(keras.callbacks.Callback):
    """Saves the model as `path` (atomically) whenever `monitor` beats `best` (a resumed run
    passes the best of its history, so a worse epoch never replaces the kept model)."""

    def __init__(self, path: str, monitor: str = "val_accuracy", enabled: bool = True,
                 model: keras.Model | None = None, best: float = -math.inf):
        super().__init__()
        self.path, self.monitor, self.enabled = path, monitor, enabled
        self.saved_model = model  # what to save, if not the model being fit (its backbone)
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if self.enabled and value is not None and value > self.best:
            self.best = float(value)
            with averaged_weights(self.model):  # what was validated, if weights are averaged
                save_model(self.saved_model or self.model, self.path)


class StepLog(keras.callbacks.Callback):
    """Appends the training loss and accuracy of every window of `every` optimizer steps to a
    CSV (``step,epoch,loss,accuracy``): curves finer than history.csv's one row per epoch.

    Keras logs running means since the epoch began; a window's mean is recovered from two of
    them, ``(n2 * m2 - n1 * m1) / (n2 - n1)``, so the rows are exact window averages. A resumed
    run first drops the rows past the step it resumed from.
    """

    FIELDS = ("step", "epoch", "loss", "accuracy")

    def __init__(self, path: str, every: int, steps_per_epoch: int, resumed_step: int = 0):
        super().__init__()
        if every < 1:
            raise ValueError(f"StepLog needs every >= 1, got {every}")
        self.path, self.every, self.steps_per_epoch = path, every, steps_per_epoch
        self._truncate(resumed_step)

    def _truncate(self, step: int) -> None:
        rows = []
        if os.path.isfile(self.path):
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, self.FIELDS)
            writer.writeheader()
            writer.writerows(rows)

    def on_epoch_begin(self, epoch, logs=None):
        self._first_step = optimizer_step(self.model)  # a resumed epoch starts mid-way
        self._seen = (0, 0.0, 0.0)  # steps of this fit call so far, their summed loss, accuracy

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if "loss" not in logs or "accuracy" not in logs:
            return
        n = batch + 1  # steps done in this fit call (steps_per_execution: every k-th call)
        step = self._first_step + n
        n0, loss0, acc0 = self._seen
        if step // self.every == (step - n + n0) // self.every and n < self.params.get("steps", 0):
            return  # no window boundary crossed since the last row, and not the epoch's end
        loss, acc = float(logs["loss"]) * n, float(logs["accuracy"]) * n
        if n > n0:
            row = (step, (step - 1) // self.steps_per_epoch,
                   (loss - loss0) / (n - n0), (acc - acc0) / (n - n0))
            with open(self.path, "a", newline="") as f:
                csv.writer(f).writerow(row)
        self._seen = (n, loss, acc)
