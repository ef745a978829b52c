"""training/carry_run.py: packing a run's newest checkpoint and unpacking it elsewhere."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_resnet.common.folder_lock import FolderBusyError
from keras_resnet.train import checkpoints
from training import carry_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(folder, steps=(2, 4)):
    """A model_dir with checkpoints at `steps`, flags.txt and history.csv."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=2, batch_size=2, verbose=0)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flags.txt").write_text("--model=resnet20\n")
    (folder / "history.csv").write_text("epoch,val_accuracy\n0,0.5\n")
    for step in steps:
        checkpoints.save(model, str(folder), step=step, epoch=step // 2)
    return model


def test_pack_keeps_only_the_newest_checkpoint_and_the_run_files(tmp_path):
    _run(tmp_path / "run")
    record = carry_run.pack(str(tmp_path / "run"), str(tmp_path / "pack"))
    assert record["step"] == 4
    assert sorted(os.listdir(tmp_path / "pack")) == [
        "checkpoint.json", "ckpt-4.weights.h5", "flags.txt", "history.csv"]
    index = json.loads((tmp_path / "pack" / "checkpoint.json").read_text())
    assert "previous" not in index and index["bytes"] == os.path.getsize(
        tmp_path / "pack" / "ckpt-4.weights.h5")
    _run(tmp_path / "run", steps=(6,))  # the next stretch: the pack moves on
    carry_run.pack(str(tmp_path / "run"), str(tmp_path / "pack"))
    assert [f for f in os.listdir(tmp_path / "pack") if f.startswith("ckpt-")] == [
        "ckpt-6.weights.h5"]


def test_unpack_refuses_to_replace_a_newer_checkpoint(tmp_path):
    _run(tmp_path / "run")
    carry_run.pack(str(tmp_path / "run"), str(tmp_path / "pack"))
    _run(tmp_path / "ahead", steps=(8,))
    with pytest.raises(ValueError, match="already holds step 8"):
        carry_run.unpack(str(tmp_path / "pack"), str(tmp_path / "ahead"))
    assert carry_run.unpack(str(tmp_path / "pack"), str(tmp_path / "new"))["step"] == 4


def test_a_model_dir_a_trainer_is_writing_is_neither_packed_nor_unpacked_into(
        tmp_path, hold_in_another_process):
    _run(tmp_path / "run")
    carry_run.pack(str(tmp_path / "run"), str(tmp_path / "pack"))
    hold_in_another_process(tmp_path / "live")
    with pytest.raises(FolderBusyError, match="in use by another process"):
        carry_run.unpack(str(tmp_path / "pack"), str(tmp_path / "live"))
    assert os.listdir(tmp_path / "live") == [".lock"]
    hold_in_another_process(tmp_path / "run")
    with pytest.raises(FolderBusyError, match="in use by another process"):
        carry_run.pack(str(tmp_path / "run"), str(tmp_path / "later"))
    assert not (tmp_path / "later").exists()


def test_a_damaged_checkpoint_is_not_packed(tmp_path):
    _run(tmp_path / "run")
    newest = tmp_path / "run" / "ckpt-4.weights.h5"
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.raises(ValueError, match="does not match its index"):
        carry_run.pack(str(tmp_path / "run"), str(tmp_path / "pack"))
    assert not (tmp_path / "pack").exists()


def test_command_line_pack_and_a_clear_usage_error(tmp_path):
    _run(tmp_path / "run")
    command = [sys.executable, os.path.join(ROOT, "training", "carry_run.py")]
    done = subprocess.run([*command, "--pack", f"--model_dir={tmp_path / 'run'}",
                           f"--to={tmp_path / 'pack'}"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ckpt-4.weights.h5 (step 4" in done.stdout
    bad = subprocess.run([*command, "--unpack", f"--model_dir={tmp_path / 'x'}"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode != 0 and "--unpack with --from" in bad.stderr
    empty = subprocess.run([*command, "--pack", f"--model_dir={tmp_path / 'none'}",
                            f"--to={tmp_path / 'p2'}"], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    assert empty.returncode == 2 and "none does not exist; nothing to carry" in empty.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
