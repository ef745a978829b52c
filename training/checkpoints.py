"""Atomic checkpoints in a model_dir, and resuming from the newest one.

A checkpoint is ``ckpt-<step>.weights.h5`` (model and optimizer state, written to a temporary
name and renamed into place) plus ``checkpoint.json`` naming it, replaced the same way after
the file is complete. A process killed at any moment leaves either the previous checkpoint or
the new one, never a half-written file under a real name.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

import keras

INDEX = "checkpoint.json"


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = ""):
    """Yields a temporary path beside `path`; renames it onto `path` if the block succeeds,
    removes it otherwise."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def optimizer_step(model: keras.Model) -> int:
    """The optimizer's step count (also for a variable mirrored across replicas)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations.value))


def remove_stale_temporaries(folder: str) -> list[str]:
    """Deletes temporary files a killed writer left in `folder`; returns their names."""
    if not os.path.isdir(folder):
        return []
    stale = [f for f in os.listdir(folder) if f.startswith(".tmp-")]
    for name in stale:
        os.remove(os.path.join(folder, name))
    return stale


def write_text(path: str, text: str) -> None:
    """Writes `text` to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)


def save_model(model: keras.Model, path: str) -> None:
    """Saves `model` as a `.keras` file atomically, without the optimizer and compile state:
    a file that loads anywhere ``import keras_resnet`` runs (the trainer's lr schedule class
    is not needed), and is smaller."""
    bare = type(model).from_config(model.get_config())  # clone_model would copy compile()
    bare.set_weights(model.get_weights())
    with atomic_path(path, suffix=".keras") as tmp:
        bare.save(tmp)


def save(model: keras.Model, model_dir: str, step: int, epoch: int, keep: int = 2) -> str:
    """Saves weights + optimizer state at `step`; keeps the `keep` newest checkpoint files."""
    name = f"ckpt-{step}.weights.h5"
    with atomic_path(os.path.join(model_dir, name), suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    write_text(os.path.join(model_dir, INDEX),
               json.dumps({"file": name, "step": step, "epoch": epoch}))
    old = sorted((f for f in os.listdir(model_dir)
                  if f.startswith("ckpt-") and f.endswith(".weights.h5") and f != name),
                 key=lambda f: int(f[5:-11]))
    for stale in old[: max(0, len(old) - keep + 1)]:
        os.remove(os.path.join(model_dir, stale))
    return name


def latest(model_dir: str) -> dict | None:
    """The newest checkpoint's record ({"file", "step", "epoch"}), or None if there is none."""
    path = os.path.join(model_dir, INDEX)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        record = json.load(f)
    if not os.path.exists(os.path.join(model_dir, record["file"])):
        raise ValueError(f"{path} names {record['file']}, which is missing; remove "
                         f"{INDEX} to start over, or restore the file.")
    return record


def restore(model: keras.Model, model_dir: str) -> int:
    """Loads the newest checkpoint into a compiled `model`; returns its step (0 if none)."""
    record = latest(model_dir)
    if record is None:
        return 0
    model.optimizer.build(model.trainable_variables)
    model.load_weights(os.path.join(model_dir, record["file"]))
    return int(record["step"])


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint every `every_steps` optimizer steps (0: never) and at each epoch end."""

    def __init__(self, model_dir: str, steps_per_epoch: int, every_steps: int = 0,
                 enabled: bool = True):
        super().__init__()
        self.model_dir = model_dir
        self.steps_per_epoch = steps_per_epoch
        self.every_steps = every_steps
        self.enabled = enabled

    def on_train_begin(self, logs=None):
        self._last = optimizer_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        # Saves when a multiple of every_steps was passed: with steps_per_execution = k this
        # runs once per k steps, so the step count itself may skip the multiple.
        step = optimizer_step(self.model)
        if (self.enabled and self.every_steps
                and step // self.every_steps > self._last // self.every_steps):
            save(self.model, self.model_dir, step, step // self.steps_per_epoch)
            self._last = step

    def on_epoch_end(self, epoch, logs=None):
        if self.enabled:
            step = optimizer_step(self.model)
            save(self.model, self.model_dir, step, step // self.steps_per_epoch)
