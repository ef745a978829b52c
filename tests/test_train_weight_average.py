"""--ema_decay: the weight average is validated and saved; training goes on from raw weights."""

import csv
import json
import os
import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.train import checkpoints, data_plan, evaluation, loop
from keras_resnet.train.config import TrainConfig
from keras_resnet.train.model import backbone_of, build_model
from keras_resnet.train.optimizer import make_sgd
from keras_resnet.train.weight_average import averaged_weights

pytestmark = pytest.mark.tf_backend


def _tiny_model(optimizer) -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _averages(model: keras.Model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in model.optimizer._model_variables_moving_average]


def test_fit_keeps_the_raw_weights_and_the_swap_restores_them():
    keras.utils.set_random_seed(0)
    model = _tiny_model(make_sgd(0.1, 0.9, False, ema_decay=0.9))
    x, y = np.random.rand(32, 4), np.random.rand(32, 3)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    raw = model.get_weights()
    average = _averages(model)
    # Keras' own use_ema would have copied the average onto the weights here.
    assert max(np.abs(r - a).max() for r, a in zip(raw, average, strict=True)) > 1e-4
    with averaged_weights(model):
        inside = model.get_weights()
    for got, want in zip(inside, average, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    for got, want in zip(model.get_weights(), raw, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_without_a_decay_the_optimizer_is_plain_sgd():
    model = _tiny_model(make_sgd(0.1, 0.9, True))
    assert not model.optimizer.use_ema  # test_train_optimizer: it steps as Keras' SGD
    with averaged_weights(model):  # nothing to swap
        pass
    with pytest.raises(ValueError, match="ema_decay"):
        make_sgd(0.1, 0.9, False, ema_decay=1.0)


def test_trainer_validates_and_saves_the_average(image_folder, tmp_path):
    cfg = TrainConfig(
        model="resnet20", dataset=f"folder:{image_folder}", model_dir=str(tmp_path),
        image_size=12, batch_size=9, val_fraction=0.25, normalization="cifar10",
        epochs=2, lr=0.2, ema_decay=0.8, verbose=0, seed=0)
    plan = data_plan.prepare(cfg)
    metrics = loop.fit(plan)
    # The checkpoint holds the raw weights and, in the optimizer, the average.
    model = build_model(plan)
    assert checkpoints.restore(model, cfg.model_dir) == 6
    saved = keras.models.load_model(os.path.join(cfg.model_dir, "model.keras"))
    average = _averages(model)
    for variable, got in zip(model.trainable_variables, _averages(model), strict=True):
        want = saved.get_layer(variable.path.split("/")[0]).trainable_variables
        match = [w for w in want if w.path == variable.path]
        np.testing.assert_allclose(keras.ops.convert_to_numpy(match[0]), got, atol=1e-6)
    raw = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    assert max(np.abs(r - a).max() for r, a in zip(raw, average, strict=True)) > 1e-4
    # The reported val accuracy is the saved (averaged) model's.
    evaluated = evaluation.evaluate(os.path.join(cfg.model_dir, "model.keras"), plan)
    assert evaluated["top1"] == pytest.approx(metrics["val_accuracy"], abs=1e-6)
    logged = json.load(open(os.path.join(cfg.model_dir, "metrics.json")))
    assert logged["val_accuracy"] == metrics["val_accuracy"]
    # history.csv also has the raw weights' accuracy, which is what the raw model scores.
    with open(os.path.join(cfg.model_dir, "history.csv")) as f:
        last = list(csv.DictReader(f))[-1]
    raw_model = keras_resnet.get_model("resnet20", input_shape=(12, 12, 3), classes=3,
                                       classifier_activation=None)
    raw_model.set_weights(backbone_of(model).get_weights())
    raw_model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    raw_top1 = raw_model.evaluate(plan.val_ds, return_dict=True, verbose=0)["accuracy"]
    assert float(last["val_raw_accuracy"]) == pytest.approx(raw_top1, abs=1e-6)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
