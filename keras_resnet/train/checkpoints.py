"""Atomic checkpoints in a model_dir, and resuming from the newest one.

A checkpoint is ``ckpt-<step>.weights.h5`` (model and optimizer state, written to a temporary
name and renamed into place) plus ``checkpoint.json`` naming it, replaced the same way after
the file is complete. A process killed at any moment leaves either the previous checkpoint or
the new one, never a half-written file under a real name.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable

import keras

from keras_resnet.common.atomic_io import (
    atomic_path,
    file_digest,
    write_text,
)

INDEX = "checkpoint.json"
#: the data seed of a run started without --seed, drawn once and kept for its resumes.
SEED_FILE = "data_seed.json"



class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (the previous one is left as it was)."""


def optimizer_step(model: keras.Model) -> int:
    """The optimizer's step count (also for a variable mirrored across replicas)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations.value))



def data_seed(model_dir: str, seed: int | None, write: bool = True) -> int:
    """The seed that orders and augments a run's training data, the same in every stretch:
    `seed` if given, else the one recorded in model_dir when the run started, else a fresh
    one, recorded there (when `write`) so that a resume continues the same data."""
    path = os.path.join(model_dir, SEED_FILE)
    if os.path.exists(path):
        with open(path) as f:
            recorded = int(json.load(f)["seed"])
        if seed is not None and seed != recorded:
            raise ValueError(f"{model_dir} holds a run whose data seed is {recorded} "
                             f"({SEED_FILE}), not {seed}; use another model_dir, or resume "
                             "without --seed.")
        return recorded
    if seed is None:
        seed = secrets.randbelow(2**31)
        if write:
            write_text(path, json.dumps({"seed": seed}) + "\n")
    return seed



def save_model(model: keras.Model, path: str) -> None:
    """Saves `model` as a `.keras` file atomically, without the optimizer and compile state:
    a file that loads anywhere ``import keras_resnet`` runs (the trainer's lr schedule class
    is not needed), and is smaller."""
    bare = type(model).from_config(model.get_config())  # clone_model would copy compile()
    bare.set_weights(model.get_weights())
    with atomic_path(path, suffix=".keras") as tmp:
        bare.save(tmp)



def save(model: keras.Model, model_dir: str, step: int, epoch: int, keep: int = 2,
         extra: dict | None = None) -> str:
    """Saves weights + optimizer state at `step`; keeps the `keep` newest checkpoint files.

    The index records each file's size and sha256, and the checkpoint before it, so that a
    damaged newest file (a truncated copy, a disk that filled) is detected on restore and the
    previous one used instead. `extra` adds fields to the record (the run's open stretch:
    `keras_resnet.train.stretches`), written atomically with it."""
    name = f"ckpt-{step}.weights.h5"
    path = os.path.join(model_dir, name)
    try:
        with atomic_path(path, suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
    except OSError as err:  # a full disk, a lost mount: the previous checkpoint stays
        kept = _records(model_dir)[:1] if os.path.exists(os.path.join(model_dir, INDEX)) else []
        raise CheckpointWriteError(
            f"could not write checkpoint {path} at step {step}: {err}. "
            + (f"The previous checkpoint, {kept[0]['file']} (step {kept[0]['step']}), is "
               "intact: free space and rerun the same command to resume from it."
               if kept else "No earlier checkpoint exists: free space and rerun.")) from None
    size, sha256 = file_digest(path)
    try:
        previous = _records(model_dir)[:1]
    except ValueError:
        previous = []
    previous = [r for r in previous if r["file"] != name][: keep - 1]
    record = {**(extra or {}), "file": name, "step": step, "epoch": epoch, "bytes": size,
              "sha256": sha256}
    if previous:
        record["previous"] = {k: v for k, v in previous[0].items() if k != "previous"}
    write_text(os.path.join(model_dir, INDEX), json.dumps(record))
    old = sorted((f for f in os.listdir(model_dir)
                  if f.startswith("ckpt-") and f.endswith(".weights.h5") and f != name),
                 key=lambda f: int(f[5:-11]))
    for stale in old[: max(0, len(old) - keep + 1)]:
        os.remove(os.path.join(model_dir, stale))
    return name


def _records(model_dir: str) -> list[dict]:
    """The index's checkpoints, newest first ([] if there is no index)."""
    path = os.path.join(model_dir, INDEX)
    if not os.path.exists(path):
        return []
    try:
        with open(path) as f:
            record = json.load(f)
        records = [record] + ([record["previous"]] if record.get("previous") else [])
        for r in records:
            r["file"], r["step"] = str(r["file"]), int(r["step"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a checkpoint index ({err}); remove it to start "
                         "over, or restore it from a copy of the run.") from None
    return records


def _damage(model_dir: str, record: dict) -> str | None:
    """Why the checkpoint file of `record` cannot be used, or None if it checks out."""
    path = os.path.join(model_dir, record["file"])
    if not os.path.exists(path):
        return "the file is missing"
    if "bytes" in record:  # indexes written before sizes and hashes were recorded: no check
        size, sha256 = file_digest(path)
        if size != record["bytes"]:
            return f"{size} bytes, the index says {record['bytes']} (truncated?)"
        if sha256 != record["sha256"]:
            return f"sha256 {sha256[:12]}..., the index says {record['sha256'][:12]}..."
    return None


def latest(model_dir: str) -> dict | None:
    """The newest checkpoint's record ({"file", "step", "epoch", ...}), or None if there is
    none; a missing file is an error."""
    records = _records(model_dir)
    if not records:
        return None
    record = records[0]
    if not os.path.exists(os.path.join(model_dir, record["file"])):
        raise ValueError(f"{os.path.join(model_dir, INDEX)} names {record['file']}, which is "
                         f"missing; remove {INDEX} to start over, or restore the file.")
    return record


def record_at(model_dir: str, step: int) -> dict | None:
    """The index record of the checkpoint at `step` (the newest or the one before), or None."""
    return next((r for r in _records(model_dir) if r["step"] == step), None)


def restore(model: keras.Model, model_dir: str) -> int:
    """Loads the newest usable checkpoint into a compiled `model`; returns its step (0 if
    none). A newest file that is damaged (size, hash, or unreadable) is reported and the one
    before it used; if none is usable, a ValueError says what was found."""
    records = _records(model_dir)
    if not records:
        return 0
    model.optimizer.build(model.trainable_variables)
    problems = []
    for record in records:
        reason = _damage(model_dir, record)
        if reason is None:
            try:
                model.load_weights(os.path.join(model_dir, record["file"]))
            except (OSError, ValueError, KeyError) as err:  # h5py's errors are OSError
                reason = f"unreadable: {err}"
        if reason is None:
            if problems:
                print(f"checkpoint {problems[-1]}; resuming from the previous one, "
                      f"{record['file']} (step {record['step']})")
            return int(record["step"])
        problems.append(f"{record['file']} is damaged: {reason}")
    raise ValueError(f"no usable checkpoint in {model_dir}: {'; '.join(problems)}. Restore "
                     f"the files from a copy of the run, or remove {INDEX} to start over.")


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint every `every_steps` optimizer steps (0: never) and at each epoch end;
    `extra()`, if given, gives fields for each checkpoint's index record."""

    def __init__(self, model_dir: str, steps_per_epoch: int, every_steps: int = 0,
                 enabled: bool = True, extra: Callable[[], dict] | None = None):
        super().__init__()
        self.model_dir = model_dir
        self.steps_per_epoch = steps_per_epoch
        self.every_steps = every_steps
        self.enabled = enabled
        self.extra = extra or dict

    def _save(self, step: int) -> None:
        save(self.model, self.model_dir, step, step // self.steps_per_epoch, extra=self.extra())

    def on_train_begin(self, logs=None):
        self._last = optimizer_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        # Saves when a multiple of every_steps was passed: with steps_per_execution = k this
        # runs once per k steps, so the step count itself may skip the multiple.
        step = optimizer_step(self.model)
        if (self.enabled and self.every_steps
                and step // self.every_steps > self._last // self.every_steps):
            self._save(step)
            self._last = step

    def on_epoch_end(self, epoch, logs=None):
        if self.enabled:
            self._save(optimizer_step(self.model))
