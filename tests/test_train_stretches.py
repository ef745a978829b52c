"""keras_resnet/train/stretches.py: a run's stretches of work, carried in its checkpoint index
and closed into stretches.csv by the next launch."""

import json
import os
import sys

import keras
import numpy as np
import pytest

from keras_resnet.common.results import machine
from keras_resnet.train import checkpoints, stretches


def _trained_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), batch_size=2, verbose=0)
    return model


def _save(model, folder, step, stretch):
    checkpoints.save(model, str(folder), step, step // 10,
                     extra=stretches.checkpoint_fields(stretch))


def test_the_open_stretch_ends_at_the_checkpoint_the_next_launch_resumes_from(tmp_path):
    model = _trained_model()
    first = stretches.begin(str(tmp_path), 0, steps_per_epoch=10)
    assert first["first_step"] == 0 and first["machine"].startswith(machine())
    for step in (10, 20, 30):
        _save(model, tmp_path, step, first)
    assert not (tmp_path / stretches.FILE).exists()  # still open: it lives in the index
    (opened,) = stretches.read(str(tmp_path))
    assert opened["open"] and (opened["first_step"], opened["last_step"]) == (0, 30)

    # The newest file is damaged: the next launch resumes from step 20, and so the first
    # stretch is closed at 20, the checkpoint the run continues from.
    (tmp_path / "ckpt-30.weights.h5").write_bytes(b"truncated")
    second = stretches.begin(str(tmp_path), 20, steps_per_epoch=10)
    _save(model, tmp_path, 40, second)
    closed, opened = stretches.read(str(tmp_path))
    assert (closed["first_step"], closed["last_step"]) == (0, 20) and "open" not in closed
    assert closed["started"] == first["started"] and closed["stopped"] >= closed["started"]
    assert (opened["first_step"], opened["last_step"]) == (20, 40) and opened["open"]

    # A launch that saved nothing (killed during its first epoch) adds no stretch, and one
    # more launch from the same checkpoint does not close the same stretch twice.
    stretches.begin(str(tmp_path), 40, steps_per_epoch=10)
    stretches.begin(str(tmp_path), 40, steps_per_epoch=10)
    rows = stretches.read(str(tmp_path))
    assert [(r["first_step"], r["last_step"]) for r in rows] == [(0, 20), (20, 40)]
    assert not any(r.get("open") for r in rows)


def test_a_checkpoint_without_a_stretch_and_a_foreign_csv(tmp_path):
    """Checkpoints from before the record (no stretch in the index) give no stretch; a
    stretches.csv of other columns is refused with what to do."""
    checkpoints.save(_trained_model(), str(tmp_path), 10, 1)
    stretches.begin(str(tmp_path), 10, steps_per_epoch=10)
    assert stretches.read(str(tmp_path)) == []
    assert "stretch" not in json.loads((tmp_path / checkpoints.INDEX).read_text())
    (tmp_path / stretches.FILE).write_text("when,where\n1,2\n")
    with pytest.raises(ValueError, match="not a stretch record; move it away"):
        stretches.read(str(tmp_path))


def test_a_worker_that_is_not_the_chief_writes_nothing(tmp_path):
    model = _trained_model()
    _save(model, tmp_path, 10, stretches.begin(str(tmp_path), 0, steps_per_epoch=10))
    stretches.begin(str(tmp_path), 10, steps_per_epoch=10, write=False)
    assert not os.path.exists(tmp_path / stretches.FILE)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
