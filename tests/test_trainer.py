"""The trainer library in-process: TFDS through tfds.testing.mock_data, config checks."""

import dataclasses
import json
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_resnet.preprocessing import normalization_for
from training import callbacks, carry_run, checkpoints, trainer
from training.callbacks import best_epoch

pytestmark = pytest.mark.tf_backend


def test_tfds_dataset_trains_with_mock_data(tmp_path):
    cfg = trainer.TrainConfig(model="resnet20", dataset="cifar10", model_dir=str(tmp_path / "m"),
                              train_split="train[:40]", val_split="test", global_batch_size=10,
                              epochs=1, verbose=0, cache=False, seed=0)
    with tfds.testing.mock_data(num_examples=40):
        plan = trainer.prepare(cfg)
        assert plan.num_classes == 10 and plan.steps_per_epoch == 4
        metrics = trainer.fit(plan)
    assert metrics["steps"] == 4
    saved = json.load(open(os.path.join(cfg.model_dir, "metrics.json")))
    assert saved["val_accuracy"] == metrics["val_accuracy"]


def test_classes_must_match_the_dataset(tmp_path):
    cfg = trainer.TrainConfig(model="resnet20", dataset="cifar10", model_dir=str(tmp_path),
                              val_split="test", classes=100)
    with tfds.testing.mock_data(num_examples=20), pytest.raises(ValueError, match="has 10"):
        trainer.prepare(cfg)


def test_alternating_flip_and_cutout_train_on_tf_data_and_are_refused_by_numpy(image_folder,
                                                                              tmp_path):
    """--flip=alternating with --cutout runs real epochs through fit on tf.data (the epochs'
    steps must come out right); the numpy pipeline, which
    augments on the device, refuses each before anything is written."""
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                global_batch_size=3, val_fraction=0.25, normalization="cifar10", epochs=2,
                verbose=0, seed=0, flip="alternating", cutout=4)
    cfg = trainer.TrainConfig(**base, model_dir=str(tmp_path / "tf"))
    plan = trainer.prepare(cfg)
    assert trainer.fit(plan)["steps"] == 2 * plan.steps_per_epoch
    numpy_dir = tmp_path / "numpy"
    with pytest.raises(ValueError, match="--flip=alternating needs the tf.data pipeline"):
        trainer.prepare(trainer.TrainConfig(**base, model_dir=str(numpy_dir),
                                            input_pipeline="numpy"))
    with pytest.raises(ValueError, match="--cutout=4 needs the tf.data pipeline"):
        trainer.prepare(trainer.TrainConfig(**{**base, "flip": "random"},
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
    cfg = trainer.TrainConfig(model="resnet20", dataset=f"folder:{folder}", image_size=12,
                              global_batch_size=4, val_fraction=0.25, normalization="cifar10",
                              epochs=3, verbose=0, seed=0, flip="alternating",
                              model_dir=str(tmp_path / "run"))
    plan = trainer.prepare(cfg)
    handed: list = []
    original = plan.epoch_data
    monkeypatch.setattr(plan, "epoch_data",
                        lambda *a, **k: handed.append(original(*a, **k)) or handed[-1])
    trainer.fit(plan)
    assert len(handed) == 3
    mean, std = normalization_for("cifar10")
    seen = [_flips_seen(ds, mean, std) for ds in handed]
    ids = sorted(seen[0])
    assert len(ids) == plan.train_examples and all(sorted(s) == ids for s in seen)
    assert all(seen[1][i] != seen[0][i] and seen[2][i] == seen[0][i] for i in ids)
    assert 0 < sum(seen[0].values()) < len(ids)


class _StopError(Exception):
    pass


def test_a_run_resumed_mid_epoch_ends_with_the_uninterrupted_runs_weights(image_folder,
                                                                         tmp_path,
                                                                         monkeypatch):
    """Stopped right after the checkpoint at step 12 (batch 3 of epoch 2), carried to another
    folder with carry_run and resumed there: the data order, augmentation and schedule
    continue, so the final weights equal those of a run that never stopped."""
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                global_batch_size=3, val_fraction=0.25, normalization="cifar10", epochs=2,
                verbose=0, seed=0, checkpoint_every_steps=4)
    whole = trainer.TrainConfig(**base, model_dir=str(tmp_path / "whole"))
    keras.utils.set_random_seed(0)  # as train.py does with --seed: the same initial weights
    trainer.fit(trainer.prepare(whole))
    parted = trainer.TrainConfig(**base, model_dir=str(tmp_path / "parted"))
    save = checkpoints.save

    def save_then_stop(model, model_dir, step, epoch, **kwargs):
        name = save(model, model_dir, step, epoch, **kwargs)
        if step == 12:
            raise _StopError
        return name

    monkeypatch.setattr(checkpoints, "save", save_then_stop)
    keras.utils.set_random_seed(0)
    with pytest.raises(_StopError):
        trainer.fit(trainer.prepare(parted))
    monkeypatch.setattr(checkpoints, "save", save)
    # Carried as between machines: packed into a folder, unpacked into another model_dir.
    carry_run.pack(parted.model_dir, str(tmp_path / "pack"))
    moved = dataclasses.replace(parted, model_dir=str(tmp_path / "elsewhere"))
    assert carry_run.unpack(str(tmp_path / "pack"), moved.model_dir)["step"] == 12
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)  # a new process with the same --seed
    trainer.fit(trainer.prepare(moved))
    a = keras.models.load_model(os.path.join(whole.model_dir, "model.keras"))
    b = keras.models.load_model(os.path.join(moved.model_dir, "model.keras"))
    for x, y in zip(a.weights, b.weights, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=1e-6,
                                   err_msg=x.path)


def test_weight_decay_is_l2_on_the_chosen_variables(image_folder, tmp_path):
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", model_dir=str(tmp_path),
                image_size=12, global_batch_size=9, val_fraction=0.25, normalization="cifar10")
    with_bn = trainer.build_model(trainer.prepare(trainer.TrainConfig(**base)))
    kernels_only = trainer.build_model(trainer.prepare(
        trainer.TrainConfig(**base, decay_bn_and_bias=False)))
    n_kernels = sum(1 for w in kernels_only.trainable_weights if "kernel" in w.path)
    assert len(kernels_only.losses) == n_kernels
    assert len(with_bn.losses) == len(with_bn.trainable_weights) > n_kernels


def test_best_epoch_reads_the_history(tmp_path):
    path = tmp_path / "history.csv"
    assert best_epoch(str(path)) is None
    path.write_text("epoch,accuracy,val_accuracy\n0,0.3,0.5\n1,0.4,0.7\n2,0.5,0.7\n3,0.6,0.6\n")
    assert best_epoch(str(path)) == (1, 0.7)  # the first of equals: the epoch model_best holds


def test_resumed_run_keeps_a_better_best_model(image_folder, tmp_path):
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", model_dir=str(tmp_path),
                image_size=12, global_batch_size=9, val_fraction=0.25, normalization="cifar10",
                verbose=0, seed=0)
    trainer.fit(trainer.prepare(trainer.TrainConfig(**base, epochs=1)))
    best = tmp_path / "model_best.keras"
    history = tmp_path / "history.csv"
    kept = best.read_bytes()
    # Pretend the first epoch scored perfectly: no later epoch may replace its model.
    lines = history.read_text().splitlines()
    column = lines[0].split(",").index("val_accuracy")
    row = lines[1].split(",")
    row[column] = "1.0"
    history.write_text("\n".join([lines[0], ",".join(row)]) + "\n")
    trainer.fit(trainer.prepare(trainer.TrainConfig(**base, epochs=2)))
    assert len(history.read_text().splitlines()) == 3  # the second epoch did run
    assert best.read_bytes() == kept



def test_throughput_counts_steps_not_calls(monkeypatch):
    """With steps_per_execution = 4 Keras reports batches 3 and 7: 8 batches, not 2."""
    clock = iter([0.0, 1.0, 2.0, 2.0])
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: next(clock))
    throughput = callbacks.Throughput(global_batch_size=32)
    throughput.on_epoch_begin(0)
    logs = {}
    throughput.on_train_batch_end(3, logs)
    assert logs["img/s"] == pytest.approx(4 * 32 / 1.0)
    throughput.on_train_batch_end(7, logs)
    assert logs["img/s"] == pytest.approx(8 * 32 / 2.0)
    throughput.on_epoch_end(0, logs)
    assert logs["img_per_sec"] == pytest.approx(128.0)


def _drive(log: callbacks.StepLog, losses, first_step=0, calls=None, monkeypatch=None):
    """Feeds `log` one epoch whose step i has loss losses[i] (accuracy = loss / 10), reporting
    Keras-style running means at the 0-based batches in `calls` (default: every batch)."""
    monkeypatch.setattr(callbacks, "optimizer_step", lambda model: first_step)
    log.set_params({"steps": len(losses)})
    log.on_epoch_begin(0)
    for batch in calls or range(len(losses)):
        mean = sum(losses[:batch + 1]) / (batch + 1)
        log.on_train_batch_end(batch, {"loss": mean, "accuracy": mean / 10})


def _rows(path):
    with open(path) as f:
        return [line.strip().split(",") for line in f][1:]


@pytest.mark.parametrize("calls", [None, [3, 7, 9]])  # every step, or steps_per_execution=4
def test_step_log_writes_exact_window_means(tmp_path, monkeypatch, calls):
    path = str(tmp_path / "steps.csv")
    losses = [float(i) for i in range(1, 11)]
    _drive(callbacks.StepLog(path, every=4, steps_per_epoch=10), losses, calls=calls,
           monkeypatch=monkeypatch)
    rows = _rows(path)
    assert [int(r[0]) for r in rows] == [4, 8, 10]  # two windows and the epoch's tail
    assert [float(r[2]) for r in rows] == pytest.approx([2.5, 6.5, 9.5])
    assert [float(r[3]) for r in rows] == pytest.approx([0.25, 0.65, 0.95])


def test_step_log_resumes_mid_epoch_without_duplicate_rows(tmp_path, monkeypatch):
    path = tmp_path / "steps.csv"
    path.write_text("step,epoch,loss,accuracy\n4,0,1,0.1\n8,0,2,0.2\n12,1,3,0.3\n")
    log = callbacks.StepLog(str(path), every=4, steps_per_epoch=10, resumed_step=6)
    assert [r[0] for r in _rows(path)] == ["4"]  # rows past the resumed step are gone
    _drive(log, [5.0, 7.0, 9.0, 11.0], first_step=6, monkeypatch=monkeypatch)
    rows = _rows(path)
    assert [int(r[0]) for r in rows] == [4, 8, 10]
    assert [float(r[2]) for r in rows[1:]] == pytest.approx([6.0, 10.0])  # steps 7-8, 9-10
    assert [int(r[1]) for r in rows] == [0, 0, 0]


def test_flip_averaged_is_the_mean_of_both_views_softmax():
    import keras
    import numpy as np

    inputs = keras.Input((4, 6, 3))
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    x = np.random.default_rng(0).normal(size=(3, 4, 6, 3)).astype("float32")

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    plain = softmax(model.predict(x, verbose=0))
    mirrored = softmax(model.predict(x[:, :, ::-1, :], verbose=0))
    averaged = trainer.flip_averaged(model).predict(x, verbose=0)
    np.testing.assert_allclose(averaged, (plain + mirrored) / 2, atol=1e-6)
    assert np.abs(averaged - plain).max() > 1e-3  # the mirror view changed something
    head = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(
        keras.layers.Flatten()(inputs)))
    head.set_weights(model.get_weights())  # the same logits, a softmax head on top
    np.testing.assert_allclose(trainer.flip_averaged(head).predict(x, verbose=0),
                               (plain + mirrored) / 2, atol=1e-6)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
