"""keras_resnet/train/checkpoints.py: atomic checkpoints in a model_dir, resuming from the
newest, falling back from a damaged one."""

import json
import os
import sys

import keras
import numpy as np
import pytest

from keras_resnet.train import checkpoints


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    return model


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


def test_a_full_disk_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    """The writer fails half way (ENOSPC, as a full disk does): a clear error names the
    checkpoint kept, the index still names it, and no temporary file is left."""
    import errno

    model = tiny_model()
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, batch_size=2, verbose=0)
    checkpoints.save(model, str(tmp_path), step=2, epoch=1)
    before = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)}

    def fill_the_disk(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"\0" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model, "save_weights", fill_the_disk)
    with pytest.raises(checkpoints.CheckpointWriteError,
                       match=r"No space left on device.*ckpt-2.weights.h5 \(step 2\), is intact"):
        checkpoints.save(model, str(tmp_path), step=4, epoch=2)
    assert {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)} == before
    assert checkpoints.restore(tiny_model(), str(tmp_path)) == 2


def test_restore_without_checkpoint_and_with_a_missing_file(tmp_path):
    assert checkpoints.restore(tiny_model(), str(tmp_path)) == 0
    (tmp_path / "checkpoint.json").write_text('{"file": "ckpt-9.weights.h5", "step": 9}')
    with pytest.raises(ValueError, match="ckpt-9.weights.h5, which is missing"):
        checkpoints.latest(str(tmp_path))



def _trained(tmp_path, steps=(2, 4)):
    model = tiny_model()
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=2, batch_size=2, verbose=0)
    for step in steps:
        checkpoints.save(model, str(tmp_path), step=step, epoch=step // 2)
    return model


def _variables(model) -> list[np.ndarray]:
    return [np.asarray(v) for v in [*model.weights, *model.optimizer.variables]]


def test_a_checkpoint_carried_to_another_folder_resumes_bit_for_bit(tmp_path):
    """What a stretch on another machine gets: the newest file and the index, copied. The
    restored model and optimizer state (momentum, step count) equal the saved ones exactly."""
    model = _trained(tmp_path / "here")
    record = checkpoints.latest(str(tmp_path / "here"))
    there = tmp_path / "there"
    there.mkdir()
    for name in (record["file"], checkpoints.INDEX):
        (there / name).write_bytes((tmp_path / "here" / name).read_bytes())
    fresh = tiny_model()
    assert checkpoints.restore(fresh, str(there)) == 4
    for a, b in zip(_variables(model), _variables(fresh), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations) == int(model.optimizer.iterations)


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "delete"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path, capsys, damage):
    _trained(tmp_path)
    newest = tmp_path / "ckpt-4.weights.h5"
    data = newest.read_bytes()
    if damage == "truncate":
        newest.write_bytes(data[: len(data) // 2])
    elif damage == "flip_byte":
        newest.write_bytes(data[:-9] + bytes([data[-9] ^ 1]) + data[-8:])
    else:
        newest.unlink()
    fresh = tiny_model()
    assert checkpoints.restore(fresh, str(tmp_path)) == 2
    out = capsys.readouterr().out
    assert "ckpt-4.weights.h5 is damaged" in out and "ckpt-2.weights.h5 (step 2)" in out


def test_no_usable_checkpoint_is_a_clear_error(tmp_path):
    _trained(tmp_path)
    for name in ("ckpt-2.weights.h5", "ckpt-4.weights.h5"):
        (tmp_path / name).write_bytes(b"\x89HDF\r\n")
    with pytest.raises(ValueError, match="no usable checkpoint.*ckpt-4.*ckpt-2"):
        checkpoints.restore(tiny_model(), str(tmp_path))


def test_a_garbled_index_is_a_clear_error(tmp_path):
    (tmp_path / checkpoints.INDEX).write_text("{not json")
    with pytest.raises(ValueError, match="is not a checkpoint index"):
        checkpoints.restore(tiny_model(), str(tmp_path))


def test_the_data_seed_is_drawn_once_and_kept(tmp_path):
    drawn = checkpoints.data_seed(str(tmp_path), None)
    assert checkpoints.data_seed(str(tmp_path), None) == drawn
    assert checkpoints.data_seed(str(tmp_path), drawn) == drawn
    with pytest.raises(ValueError, match=f"data seed is {drawn}"):
        checkpoints.data_seed(str(tmp_path), drawn + 1)
    assert checkpoints.data_seed(str(tmp_path / "seeded"), 7) == 7
    assert not (tmp_path / "seeded").exists()  # a given seed needs no record


def test_checkpoints_every_n_steps_also_with_steps_per_execution(tmp_path, monkeypatch):
    """With steps_per_execution = 4 the callback sees steps 4, 8, 10: a save every 6 steps
    happens at 8 (the first call past 6), then at the epoch's end."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", steps_per_execution=4)
    saved = []
    real_save = checkpoints.save

    def spy(model, model_dir, step, epoch, **kwargs):
        saved.append(step)
        return real_save(model, model_dir, step, epoch, **kwargs)

    monkeypatch.setattr(checkpoints, "save", spy)
    callback = checkpoints.Checkpointer(str(tmp_path), steps_per_epoch=10, every_steps=6)
    model.fit(np.ones((40, 3)), np.zeros((40, 2)), batch_size=4, epochs=1, verbose=0,
              callbacks=[callback])
    assert saved == [8, 10]
    assert checkpoints.latest(str(tmp_path))["step"] == 10

if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
