"""Knowledge distillation (--teacher): the loss it trains on, a student pulled toward its
teacher, a run through the trainer's own loop that resumes bit-compatibly, and teachers that
cannot teach the run refused before anything is written."""

import dataclasses
import os
import shutil
import sys

import h5py
import keras
import numpy as np
import pytest
from resume_checks import assert_same_final_weights, fit_until_checkpoint

import keras_resnet
from keras_resnet.train import checkpoints, data_plan, loop
from keras_resnet.train.config import TrainConfig, run_differences
from keras_resnet.train.distillation import Distiller, load_teacher
from keras_resnet.train.flags import flags_text
from keras_resnet.train.losses import SoftTargetKL, classification_loss

pytestmark = pytest.mark.tf_backend


def _dense(seed: int, classes: int = 3) -> keras.Model:
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu",
                                kernel_initializer=keras.initializers.GlorotUniform(seed))(inputs)
    outputs = keras.layers.Dense(classes, kernel_initializer=keras.initializers.GlorotUniform(
        seed + 1), kernel_regularizer=keras.regularizers.L2(1e-3))(hidden)
    return keras.Model(inputs, outputs)


def test_distiller_loss_is_the_weighted_sum_in_training_and_the_plain_loss_otherwise():
    student, teacher = _dense(0), _dense(10)
    label_loss = classification_loss(0.1)
    model = Distiller(student, teacher, weight=0.7, temperature=2.0, label_loss=label_loss)
    model.compile(optimizer="sgd", loss=label_loss)
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    y = np.array([0, 1, 2, 1, 0])
    y_pred = model(x)
    np.testing.assert_allclose(np.asarray(y_pred), np.asarray(student(x)))
    ce = float(label_loss(y, y_pred))
    decay = float(sum(student.losses))
    assert decay > 0 and not teacher.losses  # the teacher's weights do not train: no decay
    kl = float(SoftTargetKL(2.0)(teacher(x), y_pred))  # checked against numpy in test_train_losses
    trained = float(model.compute_loss(x, y, y_pred, training=True))
    assert trained == pytest.approx(0.3 * ce + 0.7 * kl + decay, rel=1e-5)
    assert float(model.compute_loss(x, y, y_pred, training=False)) == pytest.approx(
        ce + decay, rel=1e-5)


def test_a_student_distilled_with_weight_one_learns_its_teachers_answers_not_the_labels():
    """With w = 1 the labels carry no weight: labels that contradict the teacher everywhere
    still leave the student agreeing with the teacher, whose weights do not move."""
    student, teacher = _dense(0), _dense(10)
    x = np.random.default_rng(2).normal(size=(256, 4)).astype("float32")
    teacher_says = np.asarray(teacher(x)).argmax(-1)
    wrong = (teacher_says + 1) % 3
    label_loss = classification_loss()
    model = Distiller(student, teacher, weight=1.0, temperature=1.0, label_loss=label_loss)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=label_loss,
                  metrics=["accuracy"])
    before = [np.asarray(w).copy() for w in teacher.weights]
    agree_before = np.mean(np.asarray(student(x)).argmax(-1) == teacher_says)
    model.fit(x, wrong, batch_size=32, epochs=30, verbose=0)
    agree_after = np.mean(np.asarray(student(x)).argmax(-1) == teacher_says)
    assert agree_after > 0.9 and agree_after > agree_before + 0.2
    assert len(model.trainable_variables) == len(student.trainable_variables)
    for w, kept in zip(teacher.weights, before, strict=True):
        np.testing.assert_array_equal(np.asarray(w), kept)


@pytest.fixture
def teacher_run(image_folder, tmp_path):
    """A trained ResNet-20 teacher of `image_folder` (3 classes, 12 px): its model_dir."""
    cfg = TrainConfig(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                      batch_size=9, val_fraction=0.25, normalization="cifar10", epochs=1,
                      verbose=0, seed=0, model_dir=str(tmp_path / "teacher"))
    loop.fit(data_plan.prepare(cfg))
    (tmp_path / "teacher" / "flags.txt").write_text(flags_text(cfg))  # as train.py writes it
    return tmp_path / "teacher"


@pytest.mark.parametrize("files", [("model_best.keras",), ("model_best.keras", "model.keras")],
                         ids=["one_teacher", "ensemble_of_two"])
def test_a_distilled_run_trains_saves_the_student_and_resumes_bit_compatibly(
        image_folder, teacher_run, tmp_path, monkeypatch, files):
    teacher = ",".join(str(teacher_run / name) for name in files)
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                batch_size=3, val_fraction=0.25, normalization="cifar10", epochs=2,
                verbose=0, seed=0, checkpoint_every_steps=4, teacher=teacher,
                distill_weight=0.5, distill_temperature=3.0)
    whole = TrainConfig(**base, model_dir=str(tmp_path / "whole"))
    keras.utils.set_random_seed(0)
    metrics = loop.fit(data_plan.prepare(whole))
    assert metrics["steps"] == 18 and metrics["val_loss"] > 0
    # The saved models are the student alone: a ResNet-20 with the ResNet-20's weights.
    best = keras.models.load_model(os.path.join(whole.model_dir, "model_best.keras"))
    reference = keras.models.load_model(str(teacher_run / files[0]))
    assert best.name == reference.name and best.count_params() == reference.count_params()
    # The checkpoint holds the teacher (each member) too, so a resume distils from the same.
    record = checkpoints.latest(whole.model_dir)
    arrays = []
    with h5py.File(os.path.join(whole.model_dir, record["file"])) as f:
        f["layers"].visititems(lambda name, item: arrays.append(name)
                               if isinstance(item, h5py.Dataset) else None)
    assert len(arrays) == len(best.weights) + len(files) * len(reference.weights)

    parted = TrainConfig(**base, model_dir=str(tmp_path / "parted"))
    keras.utils.set_random_seed(0)
    fit_until_checkpoint(parted, 12, monkeypatch)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    loop.fit(data_plan.prepare(parted))
    assert_same_final_weights(whole.model_dir, parted.model_dir)
    # Another teacher (or none) is another run: a resume with it is refused.
    assert run_differences(whole, dataclasses.replace(whole, teacher="resnet20:cifar10")) == [
        "teacher"]
    assert run_differences(whole, dataclasses.replace(whole, distill_weight=0.9)) == [
        "distill_weight"]


def _two_class_folder(image_folder, root):
    shutil.copytree(image_folder / "cat", root / "cat")
    shutil.copytree(image_folder / "dog", root / "dog")
    return root


def test_teachers_that_cannot_teach_the_run_are_refused_before_anything_is_written(
        image_folder, teacher_run, tmp_path):
    teacher = str(teacher_run / "model_best.keras")
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                batch_size=3, val_fraction=0.25, normalization="cifar10", verbose=0, seed=0)
    out = tmp_path / "student"

    def refused(match, **changes):
        cfg = TrainConfig(**{**base, "teacher": teacher, **changes}, model_dir=str(out))
        with pytest.raises(ValueError, match=match):
            data_plan.prepare(cfg)
        assert not out.exists()

    refused("no model file at", teacher=str(tmp_path / "missing.keras"))
    refused(r"NAME:TAG \(e.g. resnet56:cifar10\)", teacher="resnet56")
    refused("has no weights tag 'imagenet'", teacher="resnet56:imagenet")
    refused("predicts 10 classes and the run has 3", teacher="resnet20:cifar10")
    refused("predicts 3 classes and the run has 2",
            dataset=f"folder:{_two_class_folder(image_folder, tmp_path / 'two')}")
    renamed = tmp_path / "renamed"
    shutil.copytree(image_folder, renamed)
    (renamed / "emu").rename(renamed / "yak")
    refused(r"its run's classes .* are not the run's", dataset=f"folder:{renamed}")
    refused("trained on 'cifar10'-normalized images", normalization="imagenet")
    refused("takes 12x12 images and the run --image_size=16", image_size=16)
    refused("needs the tf.data pipeline", input_pipeline="numpy")
    # In a list each teacher is checked; the message names the one that cannot teach.
    refused(r"--teacher=resnet20:cifar10 predicts 10 classes",
            teacher=f"{teacher},resnet20:cifar10")
    refused("more than once", teacher=f"{teacher},{teacher}")
    # A classifier that ends in a softmax gives probabilities, not logits.
    softmax = tmp_path / "softmax" / "model.keras"
    softmax.parent.mkdir()
    keras_resnet.ResNet20(input_shape=(12, 12, 3), classes=3).save(softmax)
    refused("applies a softmax; distillation needs logits", teacher=str(softmax))
    with pytest.raises(ValueError, match="applies a softmax"):
        load_teacher(str(softmax), 12)
    # A network behind its own preprocessing takes raw pixels, not the run's normalized input.
    inputs = keras.Input((12, 12, 3))
    wrapped = keras.Model(inputs, keras.models.load_model(teacher)(
        keras.layers.Rescaling(1 / 255)(inputs)))
    wrapped.save(tmp_path / "softmax" / "wrapped.keras")
    refused("wraps another network", teacher=str(tmp_path / "softmax" / "wrapped.keras"))
    # A registered model's weights load as a teacher with logits (its head without softmax).
    shipped = load_teacher("resnet20:cifar10", 32)
    assert not shipped.trainable and shipped.output_shape == (None, 10)
    assert shipped.get_layer("predictions").activation is keras.activations.linear
    # A list loads as one frozen teacher: the mean of its members' logits.
    pair = load_teacher("resnet20:cifar10,resnet56:cifar10", 32)
    members = [layer for layer in pair.layers if isinstance(layer, keras.Model)]
    assert not pair.trainable and len(members) == 2 and pair.output_shape == (None, 10)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(pair(x)), np.mean(
        [np.asarray(m(x)) for m in members], axis=0), atol=1e-5)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
