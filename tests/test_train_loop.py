"""keras_resnet/train/loop.py in-process: TFDS through tfds.testing.mock_data, per-epoch data
through the trainer's own loop, mid-epoch resumes."""

import dataclasses
import json
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds
from resume_checks import assert_same_final_weights, fit_until_checkpoint

from keras_resnet.preprocessing import normalization_for
from keras_resnet.train import data_plan, loop, stretches
from keras_resnet.train.config import TrainConfig
from training import carry_run

pytestmark = pytest.mark.tf_backend


def test_tfds_dataset_trains_with_mock_data(tmp_path):
    """A TFDS dataset trains; --results_dir keeps the run's record beside model_dir."""
    cfg = TrainConfig(model="resnet20", dataset="cifar10", model_dir=str(tmp_path / "m"),
                      train_split="train[:40]", val_split="test", batch_size=10, epochs=1,
                      verbose=0, cache=False, seed=0, results_dir=str(tmp_path / "record"))
    with tfds.testing.mock_data(num_examples=40):
        plan = data_plan.prepare(cfg)
        assert plan.num_classes == 10 and plan.steps_per_epoch == 4
        metrics = loop.fit(plan)
    assert metrics["steps"] == 4
    saved = json.load(open(os.path.join(cfg.model_dir, "metrics.json")))
    assert saved["val_accuracy"] == metrics["val_accuracy"]
    assert sorted(os.listdir(cfg.results_dir)) == ["history.csv", "labels.txt", "metrics.json",
                                                   "stretches.csv"]
    for name in os.listdir(cfg.results_dir):
        with open(os.path.join(cfg.results_dir, name)) as kept:
            assert kept.read() == open(os.path.join(cfg.model_dir, name)).read()


def test_alternating_flip_cutout_and_trivial_augment_train_on_tf_data_not_numpy(image_folder,
                                                                                tmp_path):
    """--flip=alternating with --cutout and --auto_augment=trivial runs real epochs through
    fit on tf.data (the epochs' steps must come out right); the numpy pipeline, which
    augments on the device, refuses each before anything is written."""
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                batch_size=3, val_fraction=0.25, normalization="cifar10", epochs=2,
                verbose=0, seed=0, flip="alternating", cutout=4, auto_augment="trivial")
    cfg = TrainConfig(**base, model_dir=str(tmp_path / "tf"))
    plan = data_plan.prepare(cfg)
    assert loop.fit(plan)["steps"] == 2 * plan.steps_per_epoch
    numpy_dir = tmp_path / "numpy"
    with pytest.raises(ValueError, match="--flip=alternating needs the tf.data pipeline"):
        data_plan.prepare(TrainConfig(**base, model_dir=str(numpy_dir),
                                      input_pipeline="numpy"))
    with pytest.raises(ValueError, match="--cutout=4 needs the tf.data pipeline"):
        data_plan.prepare(TrainConfig(**{**base, "flip": "random"},
                                      model_dir=str(numpy_dir), input_pipeline="numpy"))
    with pytest.raises(ValueError, match="--auto_augment=trivial needs the tf.data pipeline"):
        data_plan.prepare(TrainConfig(**{**base, "flip": "random", "cutout": 0},
                                      model_dir=str(numpy_dir), input_pipeline="numpy"))
    assert not numpy_dir.exists()


def _ramp_folder(root, n: int = 12, size: int = 12):
    """`n` PNGs in two classes: red rises to the right (a flip shows as a falling row), green
    is flat and names the image (10, 20, ...), so each image is found again after a crop."""
    from PIL import Image

    for i in range(n):
        folder = root / f"c{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        image = np.zeros((size, size, 3), np.uint8)
        image[..., 0] = 20 + 15 * np.arange(size)[None, :]
        image[..., 1] = 10 * (i + 1)
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    return root


def _flips_seen(ds, mean, std) -> dict[int, bool]:
    """Image id (its green value) -> whether the batch shows it mirrored."""
    seen = {}
    for x, _ in ds:
        for image in np.rint(x.numpy() * std + mean).astype(int):
            row = image[image.shape[0] // 2]
            row = row[row[:, 1] > 0]  # drop the black fill of the crop's shift
            seen[int(row[0, 1])] = bool(row[0, 0] > row[-1, 0])
    return seen


def test_alternating_flip_alternates_through_the_trainers_epoch_loop(tmp_path, monkeypatch):
    """The datasets the trainer's own loop hands to fit(), one per epoch: each image's flip
    alternates from epoch to epoch (before the fix, every fit() call restarted the alternation
    and each image kept one flip all run)."""
    folder = _ramp_folder(tmp_path / "images")
    cfg = TrainConfig(model="resnet20", dataset=f"folder:{folder}", image_size=12,
                      batch_size=4, val_fraction=0.25, normalization="cifar10",
                      epochs=3, verbose=0, seed=0, flip="alternating",
                      model_dir=str(tmp_path / "run"))
    plan = data_plan.prepare(cfg)
    handed: list = []
    original = plan.epoch_data
    monkeypatch.setattr(plan, "epoch_data",
                        lambda *a, **k: handed.append(original(*a, **k)) or handed[-1])
    loop.fit(plan)
    assert len(handed) == 3
    mean, std = normalization_for("cifar10")
    seen = [_flips_seen(ds, mean, std) for ds in handed]
    ids = sorted(seen[0])
    assert len(ids) == plan.train_examples and all(sorted(s) == ids for s in seen)
    assert all(seen[1][i] != seen[0][i] and seen[2][i] == seen[0][i] for i in ids)
    assert 0 < sum(seen[0].values()) < len(ids)


def test_a_run_resumed_mid_epoch_ends_with_the_uninterrupted_runs_weights(image_folder,
                                                                         tmp_path,
                                                                         monkeypatch):
    """Stopped right after the checkpoint at step 12 (batch 3 of epoch 2), carried to another
    folder with carry_run and resumed there: the data order, augmentation and schedule
    continue, so the final weights equal those of a run that never stopped. The record of
    stretches says so: 0 to 12 on this machine, then 12 to the end."""
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                batch_size=3, val_fraction=0.25, normalization="cifar10", epochs=2,
                verbose=0, seed=0, checkpoint_every_steps=4)
    whole = TrainConfig(**base, model_dir=str(tmp_path / "whole"))
    keras.utils.set_random_seed(0)  # as train.py does with --seed: the same initial weights
    loop.fit(data_plan.prepare(whole))
    parted = TrainConfig(**base, model_dir=str(tmp_path / "parted"))
    keras.utils.set_random_seed(0)
    fit_until_checkpoint(parted, 12, monkeypatch)
    # Carried as between machines: packed into a folder, unpacked into another model_dir.
    carry_run.pack(parted.model_dir, str(tmp_path / "pack"))
    moved = dataclasses.replace(parted, model_dir=str(tmp_path / "elsewhere"))
    assert carry_run.unpack(str(tmp_path / "pack"), moved.model_dir)["step"] == 12
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)  # a new process with the same --seed
    end = loop.fit(data_plan.prepare(moved))["steps"]
    assert_same_final_weights(whole.model_dir, moved.model_dir)
    assert [(r["first_step"], r["last_step"]) for r in stretches.read(whole.model_dir)] == [
        (0, end)]
    carried = stretches.read(moved.model_dir)
    assert [(r["first_step"], r["last_step"]) for r in carried] == [(0, 12), (12, end)]
    assert all(r["machine"] == stretches.this_machine() and "open" not in r for r in carried)
    assert carried[0]["stopped"] <= carried[1]["started"] <= carried[1]["stopped"]


def test_resumed_run_keeps_a_better_best_model(image_folder, tmp_path):
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", model_dir=str(tmp_path),
                image_size=12, batch_size=9, val_fraction=0.25, normalization="cifar10",
                verbose=0, seed=0)
    loop.fit(data_plan.prepare(TrainConfig(**base, epochs=1)))
    best = tmp_path / "model_best.keras"
    history = tmp_path / "history.csv"
    kept = best.read_bytes()
    # Pretend the first epoch scored perfectly: no later epoch may replace its model.
    lines = history.read_text().splitlines()
    column = lines[0].split(",").index("val_accuracy")
    row = lines[1].split(",")
    row[column] = "1.0"
    history.write_text("\n".join([lines[0], ",".join(row)]) + "\n")
    loop.fit(data_plan.prepare(TrainConfig(**base, epochs=2)))
    assert len(history.read_text().splitlines()) == 3  # the second epoch did run
    assert best.read_bytes() == kept


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
