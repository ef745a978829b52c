import json
import os
import sys

import keras
import numpy as np
import pytest

from training import checkpoints


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    return model


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), checkpoints.atomic_path(str(target)) as tmp:
        open(tmp, "w").write("half")
        raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []
    checkpoints.write_text(str(target), "whole")
    assert target.read_text() == "whole" and os.listdir(tmp_path) == ["out.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path):
    (tmp_path / ".tmp-abc.weights.h5").write_bytes(b"half")
    (tmp_path / "ckpt-2.weights.h5").write_bytes(b"kept")
    assert checkpoints.remove_stale_temporaries(str(tmp_path)) == [".tmp-abc.weights.h5"]
    assert os.listdir(tmp_path) == ["ckpt-2.weights.h5"]


def test_save_restore_round_trip_with_optimizer_state(tmp_path):
    model = tiny_model()
    x, y = np.ones((4, 3)), np.zeros((4, 2))
    model.fit(x, y, epochs=3, batch_size=2, verbose=0)
    for step in (2, 4, 6):
        checkpoints.save(model, str(tmp_path), step=step, epoch=step // 2)
    files = sorted(f for f in os.listdir(tmp_path) if f.startswith("ckpt-"))
    assert files == ["ckpt-4.weights.h5", "ckpt-6.weights.h5"]  # keeps the 2 newest
    assert json.loads((tmp_path / "checkpoint.json").read_text())["step"] == 6
    fresh = tiny_model()
    assert checkpoints.restore(fresh, str(tmp_path)) == 6
    assert int(fresh.optimizer.iterations) == 6
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])


def test_restore_without_checkpoint_and_with_a_missing_file(tmp_path):
    assert checkpoints.restore(tiny_model(), str(tmp_path)) == 0
    (tmp_path / "checkpoint.json").write_text('{"file": "ckpt-9.weights.h5", "step": 9}')
    with pytest.raises(ValueError, match="ckpt-9.weights.h5, which is missing"):
        checkpoints.latest(str(tmp_path))



def test_checkpoints_every_n_steps_also_with_steps_per_execution(tmp_path, monkeypatch):
    """With steps_per_execution = 4 the callback sees steps 4, 8, 10: a save every 6 steps
    happens at 8 (the first call past 6), then at the epoch's end."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", steps_per_execution=4)
    saved = []
    real_save = checkpoints.save

    def spy(model, model_dir, step, epoch, keep=2):
        saved.append(step)
        return real_save(model, model_dir, step, epoch, keep)

    monkeypatch.setattr(checkpoints, "save", spy)
    callback = checkpoints.Checkpointer(str(tmp_path), steps_per_epoch=10, every_steps=6)
    model.fit(np.ones((40, 3)), np.zeros((40, 2)), batch_size=4, epochs=1, verbose=0,
              callbacks=[callback])
    assert saved == [8, 10]
    assert checkpoints.latest(str(tmp_path))["step"] == 10

if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
