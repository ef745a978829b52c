"""keras_resnet/train/finetune.py: a run starts from pretrained weights (a tag, a .weights.h5 or
a .keras file), gets a fresh head for other classes, and freezes what --trainable leaves out,
with frozen BatchNorm in inference mode and no decay or optimizer slots on frozen weights."""

import dataclasses
import os
import sys

import keras
import numpy as np
import pytest
from resume_checks import assert_same_final_weights, fit_until_checkpoint
from test_weights_load import keras_applications_file, md5, serve_row

import keras_resnet
from keras_resnet.preprocessing import normalization_for, preprocess_input
from keras_resnet.train import data_plan, finetune, loop
from keras_resnet.train.config import TrainConfig
from keras_resnet.train.finetune import HEAD

pytestmark = pytest.mark.tf_backend  # the trainer's tf.data path


def test_bad_choices_are_refused_naming_the_flag(tmp_path):
    with pytest.raises(ValueError, match=r"--weights='imagenet' is neither an existing file "
                                         r"nor a tag of resnet20 \(its tags: cifar10\)"):
        finetune.check("resnet20", "imagenet", "all")
    with pytest.raises(ValueError, match="--trainable='conv5': choose all, head, or a stage of "
                                         "resnet20: conv2, conv3, conv4"):
        finetune.check("resnet20", "cifar10", "conv5")
    with pytest.raises(ValueError, match="randomly initialized network; give --weights"):
        finetune.check("resnet20", None, "head")
    bad = tmp_path / "w.h5"
    bad.write_bytes(b"")
    with pytest.raises(ValueError, match="a file must be a Keras '.weights.h5' or '.keras'"):
        finetune.check("resnet20", str(bad), "all")
    finetune.check("resnet50", "imagenet", "conv4")  # a tag of the model: no download yet


def test_a_tag_loads_the_backbone_and_a_fresh_head_for_other_classes():
    pretrained = finetune.read("resnet20", "cifar10")
    assert pretrained.preprocessing == "cifar10" and pretrained.classes == 10
    model = keras_resnet.ResNet20(classes=3, classifier_activation=None)
    head_before = model.get_layer("predictions").get_weights()[0].copy()
    message = finetune.load(model, pretrained)
    assert "10-class head and the run 3 classes, so the head starts fresh" in message
    np.testing.assert_array_equal(model.get_layer("conv3_block2_1_conv").get_weights()[0],
                                  pretrained.arrays["conv3_block2_1_conv"][0])
    np.testing.assert_array_equal(model.get_layer("predictions").get_weights()[0], head_before)
    same = keras_resnet.ResNet20(classifier_activation=None)
    assert "the head included" in finetune.load(same, pretrained)
    shipped = keras_resnet.ResNet20(weights="cifar10", classifier_activation=None)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(same.predict(x, verbose=0), shipped.predict(x, verbose=0),
                               atol=1e-5)


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = str(tmp_path / "r32.weights.h5")
    keras_resnet.ResNet32().save_weights(path)
    with pytest.raises(ValueError, match="--weights: weights file .* does not fit model"):
        finetune.read("resnet20", path)
    keras_resnet.ResNet32().save(str(tmp_path / "r32.keras"))
    with pytest.raises(ValueError, match="holds a resnet32, and the run trains a resnet20"):
        finetune.read("resnet20", str(tmp_path / "r32.keras"))


def test_files_load_and_say_what_input_they_expect(tmp_path):
    keras.utils.set_random_seed(3)
    source = keras_resnet.ResNet20(classes=4, classifier_activation=None)
    run = tmp_path / "run"
    run.mkdir()
    source.save(str(run / "model_best.keras"))
    source.save_weights(str(run / "w.weights.h5"))
    (run / "flags.txt").write_text("--model=resnet20\n--normalization=cifar10\n")
    for name in ("model_best.keras", "w.weights.h5"):
        pretrained = finetune.read("resnet20", str(run / name))
        assert pretrained.classes == 4, name
        model = keras_resnet.ResNet20(classes=4, classifier_activation=None)
        finetune.load(model, pretrained)
        np.testing.assert_array_equal(model.get_layer("predictions").get_weights()[0],
                                      source.get_layer("predictions").get_weights()[0])
        assert finetune.expected_input("resnet20", str(run / name)) == "cifar10"
    assert finetune.expected_input("resnet50", "imagenet") == "caffe"
    assert finetune.expected_input("resnet18", "imagenet") == "torch"


def test_caffe_weights_take_rgb_after_the_first_conv_turns(rng):
    """A BGR network equals its turned copy fed RGB with normalization_for("caffe")."""
    keras.utils.set_random_seed(0)
    bgr = keras_resnet.ResNet50(input_shape=(32, 32, 3), classes=5, classifier_activation=None)
    rgb = keras_resnet.ResNet50(input_shape=(32, 32, 3), classes=5, classifier_activation=None)
    arrays = finetune.rgb_first_conv(finetune._arrays(bgr))
    finetune.load(rgb, finetune.Pretrained(arrays, 5, "caffe", "test"))
    pixels = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    mean, std = normalization_for("caffe")
    np.testing.assert_allclose(rgb.predict((pixels - mean) / std, verbose=0),
                               bgr.predict(preprocess_input(pixels, "caffe"), verbose=0),
                               rtol=1e-4, atol=1e-4)


def test_freezing_keeps_frozen_weights_and_statistics_and_gives_them_no_decay(image_folder,
                                                                              tmp_path):
    cfg = TrainConfig(model="resnet20", dataset=f"folder:{image_folder}",
                      model_dir=str(tmp_path / "run"), image_size=12, batch_size=6,
                      val_fraction=0.25, epochs=1, verbose=0, seed=0, weights="cifar10",
                      trainable="conv4", weight_decay=1e-3)
    assert data_plan.resolved_normalization(cfg) == "cifar10"
    plan = data_plan.prepare(cfg)
    from keras_resnet.train.model import build_model

    model = build_model(plan)
    frozen = [layer for layer in model.layers if layer.weights and not layer.trainable]
    assert {layer.name.split("_")[0] for layer in frozen} == {"conv1", "conv2", "conv3"}
    assert all(layer.trainable for layer in model.layers if layer.name.startswith("conv4_"))
    assert all(getattr(w, "regularizer", None) is None for layer in frozen
               for w in layer.weights)
    assert model.get_layer("conv4_block1_1_conv").kernel.regularizer is not None
    bn = model.get_layer("conv2_block1_1_bn")
    before = [np.asarray(w).copy() for w in bn.weights]
    conv = model.get_layer("conv3_block3_2_conv").kernel.numpy().copy()
    head = model.get_layer("predictions").kernel.numpy().copy()
    model.fit(plan.epoch_data(0, seed=0), steps_per_epoch=2, epochs=1, verbose=0)
    for was, now in zip(before, bn.weights, strict=True):
        np.testing.assert_array_equal(was, np.asarray(now))  # moving stats too: inference mode
    np.testing.assert_array_equal(conv, model.get_layer("conv3_block3_2_conv").kernel.numpy())
    assert not np.array_equal(head, model.get_layer("predictions").kernel.numpy())
    slots = {v.path for v in model.optimizer.variables}
    assert not any("conv2_block1_1_conv" in path for path in slots)
    assert any("conv4_block1_1_conv" in path for path in slots)


def test_a_fine_tuning_run_trains_and_saves(image_folder, tmp_path):
    cfg = TrainConfig(model="resnet20", dataset=f"folder:{image_folder}",
                      model_dir=str(tmp_path / "run"), image_size=12, batch_size=6,
                      val_fraction=0.25, epochs=1, verbose=0, seed=0, weights="cifar10",
                      trainable="head")
    metrics = loop.fit(data_plan.prepare(cfg))
    assert metrics["steps"] == 4
    saved = keras.models.load_model(os.path.join(cfg.model_dir, "model.keras"))
    shipped = keras_resnet.ResNet20(weights="cifar10")
    np.testing.assert_array_equal(saved.get_layer("conv2_block1_1_conv").get_weights()[0],
                                  shipped.get_layer("conv2_block1_1_conv").get_weights()[0])


def test_the_run_is_built_in_the_layout_of_its_weights(image_folder, tmp_path):
    """Weights of torchvision's v1.5 layout (stride in the 3x3 conv) make the run's ResNet-50
    v1.5 too: the kernels alone would also fit the paper's layout, and compute another net."""
    from keras_resnet.train.model import backbone_of, build_model

    donor = keras_resnet.ResNet50(input_shape=(32, 32, 3), classes=3,
                                  classifier_activation=None, bottleneck_stride="3x3")
    path = str(tmp_path / "donor.keras")
    donor.save(path)
    assert finetune.read("resnet50", path).layout == {"bottleneck_stride": "3x3"}
    cfg = TrainConfig(model="resnet50", dataset=f"folder:{image_folder}",
                      model_dir=str(tmp_path / "run"), image_size=32, batch_size=6,
                      val_fraction=0.25, weights=path, normalization="cifar10")
    model = backbone_of(build_model(data_plan.prepare(cfg)))
    assert keras_resnet.build_args(model)["bottleneck_stride"] == "3x3"


def test_two_phases_head_then_backbone_slowly_and_resume_in_either_phase(image_folder,
                                                                         tmp_path, capsys,
                                                                         monkeypatch):
    """--head_epochs=1 --trainable=conv4 --backbone_lr_scale=0.1: epoch 1 moves the head only,
    epoch 2 on moves conv4 too, conv3 never. A run stopped in phase 1 (step 2) and again in
    phase 2 (step 6), resumed each time, ends with the uninterrupted run's weights."""
    from keras_resnet.train import checkpoints

    base = dict(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                batch_size=6, val_fraction=0.25, epochs=3, verbose=0, seed=0,
                weights="cifar10", trainable="conv4", head_epochs=1, backbone_lr_scale=0.1,
                checkpoint_every_steps=2)
    save = checkpoints.save
    seen = {}

    def save_and_look(model, model_dir, step, epoch, **kwargs):
        seen[step] = {name: model.get_layer(name).get_weights()[0].copy()
                      for name in ("conv3_block3_2_conv", "conv4_block1_1_conv", HEAD)}
        return save(model, model_dir, step, epoch, **kwargs)

    monkeypatch.setattr(checkpoints, "save", save_and_look)
    whole = TrainConfig(**base, model_dir=str(tmp_path / "whole"))
    keras.utils.set_random_seed(0)
    assert loop.fit(data_plan.prepare(whole))["steps"] == 12
    printed = capsys.readouterr().out
    assert "epoch 1: the head trains alone (--head_epochs=1)" in printed
    assert "epoch 2: --trainable=conv4 trains from now on, the backbone at 0.1 x the lr" in printed
    shipped = keras_resnet.ResNet20(weights="cifar10")
    for step in (2, 4):  # phase 1: the backbone as shipped
        np.testing.assert_array_equal(seen[step]["conv4_block1_1_conv"],
                                      shipped.get_layer("conv4_block1_1_conv").get_weights()[0])
    assert not np.array_equal(seen[2][HEAD], seen[4][HEAD])
    assert not np.array_equal(seen[6]["conv4_block1_1_conv"], seen[4]["conv4_block1_1_conv"])
    np.testing.assert_array_equal(seen[12]["conv3_block3_2_conv"],
                                  shipped.get_layer("conv3_block3_2_conv").get_weights()[0])

    monkeypatch.setattr(checkpoints, "save", save)
    parted = TrainConfig(**base, model_dir=str(tmp_path / "parted"))
    for stop in (2, 6):
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        fit_until_checkpoint(parted, stop, monkeypatch)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    loop.fit(data_plan.prepare(parted))
    assert_same_final_weights(whole.model_dir, parted.model_dir)


def test_two_phase_settings_that_cannot_work_are_refused(image_folder, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="--head_epochs=2 trains a head on a randomly"):
        finetune.check("resnet20", None, "all", head_epochs=2)
    with pytest.raises(ValueError, match="both phases would train the head only"):
        finetune.check("resnet20", "cifar10", "head", head_epochs=2)
    with pytest.raises(ValueError, match="--backbone_lr_scale=0.0: give a fraction > 0"):
        finetune.check("resnet20", "cifar10", "all", backbone_lr_scale=0.0)
    cfg = TrainConfig(model="resnet20", dataset=f"folder:{image_folder}",
                      model_dir=str(tmp_path / "run"), image_size=12, batch_size=6,
                      val_fraction=0.25, epochs=2, weights="cifar10", head_epochs=2)
    with pytest.raises(ValueError, match="--head_epochs=2 covers the whole run"):
        data_plan.prepare(cfg)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="--head_epochs runs on the TensorFlow backend only"):
        data_plan.prepare(dataclasses.replace(cfg, epochs=3))


@pytest.mark.slow  # a 100 MB keras.applications file; the TensorFlow pass runs it
def test_the_imagenet_recipe_fine_tunes_offline_from_a_served_file(server, monkeypatch,
                                                                   image_folder, tmp_path):
    """finetune_resnet50_imagenet.flags' code path, with keras.applications' ResNet-50 file
    made here and served from 127.0.0.1: caffe weights turned to RGB, conv4 on trained."""
    folder, base = server
    path = folder / "resnet50_top.h5"
    source = keras_applications_file(path, keras.applications.ResNet50)
    serve_row(monkeypatch, "resnet50", True, base + path.name, md5(path))
    cfg = TrainConfig(model="resnet50", dataset=f"folder:{image_folder}",
                      model_dir=str(tmp_path / "run"), image_size=32, batch_size=6,
                      val_fraction=0.25, epochs=1, verbose=0, seed=0, weights="imagenet",
                      trainable="conv4", augment="none")
    assert data_plan.resolved_normalization(cfg) == "caffe"
    cfg = dataclasses.replace(cfg, normalization="caffe")
    plan = data_plan.prepare(cfg)
    metrics = loop.fit(plan)
    assert metrics["steps"] == 4
    saved = keras.models.load_model(os.path.join(cfg.model_dir, "model.keras"))
    # Frozen stem: the RGB-taking kernel is keras.applications' BGR one turned around.
    np.testing.assert_allclose(saved.get_layer("conv1_conv").get_weights()[0],
                               source.get_layer("conv1_conv").get_weights()[0][:, :, ::-1, :])
    assert saved.get_layer("predictions").units == 3


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
