"""Test helpers for resumed runs: stop a run right after a checkpoint, as a stretch of work
ends, and check that two runs ended with the same weights."""

import os

import keras
import numpy as np
import pytest

from keras_resnet.train import checkpoints, data_plan, loop
from keras_resnet.train.config import TrainConfig


class StopAfterCheckpointError(Exception):
    """Raised right after the checkpoint a test stops its run at."""


def fit_until_checkpoint(cfg: TrainConfig, step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Train `cfg` and stop right after its checkpoint at `step` is written; the trainer's own
    checkpoints.save is back in place afterwards. Seeding is the caller's, as in train.py."""
    save = checkpoints.save

    def save_then_stop(model, model_dir, at, epoch, **kwargs):
        name = save(model, model_dir, at, epoch, **kwargs)
        if at == step:
            raise StopAfterCheckpointError(at)
        return name

    monkeypatch.setattr(checkpoints, "save", save_then_stop)
    try:
        with pytest.raises(StopAfterCheckpointError):
            loop.fit(data_plan.prepare(cfg))
    finally:
        monkeypatch.setattr(checkpoints, "save", save)


def assert_same_final_weights(model_dir_a: str, model_dir_b: str, atol: float = 1e-6) -> None:
    """The model.keras of both run folders holds the same weights, variable by variable."""
    a = keras.models.load_model(os.path.join(model_dir_a, "model.keras"))
    b = keras.models.load_model(os.path.join(model_dir_b, "model.keras"))
    for x, y in zip(a.weights, b.weights, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=atol,
                                   err_msg=x.path)
