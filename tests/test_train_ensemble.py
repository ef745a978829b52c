"""keras_resnet/train/ensemble.py: lists of models parsed, their logits averaged, members that
cannot be averaged refused; an ensemble evaluated through the trainer's --mode=eval path."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.train import data_plan, ensemble, evaluation
from keras_resnet.train.config import TrainConfig

pytestmark = pytest.mark.tf_backend


def _dense(seed: int, classes: int = 3, activation=None) -> keras.Model:
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(classes, activation=activation,
                                 kernel_initializer=keras.initializers.GlorotUniform(seed))(inputs)
    return keras.Model(inputs, outputs, name="net")  # all of one name, as two ResNet-20s


def test_members_are_the_comma_separated_names_and_bad_lists_are_refused():
    assert ensemble.members("runs/a/model_best.keras") == ["runs/a/model_best.keras"]
    assert ensemble.members("a.keras, resnet56:cifar10") == ["a.keras", "resnet56:cifar10"]
    with pytest.raises(ValueError, match="an empty name in the list"):
        ensemble.members("a.keras,,b.keras")
    with pytest.raises(ValueError, match="names a.keras more than once"):
        ensemble.members("a.keras,b.keras,a.keras")


def test_the_ensemble_outputs_the_mean_of_its_members_logits_with_their_weights():
    first, second, third = _dense(0), _dense(1), _dense(2)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    expected = np.mean([np.asarray(m(x)) for m in (first, second, third)], axis=0)
    averaged = ensemble.average_logits([first, second, third])  # same names: renamed
    np.testing.assert_allclose(np.asarray(averaged(x)), expected, atol=1e-6)
    assert np.abs(expected - np.asarray(first(x))).max() > 1e-3  # members differ
    assert averaged.count_params() == 3 * first.count_params()
    first.layers[-1].kernel.assign(np.zeros((4, 3), "float32"))  # shared, not copied
    np.testing.assert_allclose(np.asarray(averaged(x)), np.mean(
        [np.asarray(m(x)) for m in (first, second, third)], axis=0), atol=1e-6)
    assert ensemble.average_logits([second]) is second


def test_members_that_cannot_be_averaged_are_refused():
    with pytest.raises(ValueError, match=r"member 2 \(net\) ends in a softmax"):
        ensemble.average_logits([_dense(0), _dense(1, activation="softmax")])
    with pytest.raises(ValueError, match="predicts 4 classes, member 1 .* predicts 3"):
        ensemble.average_logits([_dense(0), _dense(1, classes=4)])
    with pytest.raises(ValueError, match="at least one model"):
        ensemble.average_logits([])


def test_an_ensemble_evaluates_to_the_accuracy_of_its_mean_logits(image_folder, tmp_path):
    cfg = TrainConfig(model="resnet20", dataset=f"folder:{image_folder}", image_size=12,
                      batch_size=3, val_fraction=0.25, normalization="cifar10", verbose=0,
                      seed=0, model_dir=str(tmp_path / "unused"))
    plan = data_plan.prepare(cfg)
    paths = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        path = str(tmp_path / f"net{seed}.keras")
        keras_resnet.ResNet20(input_shape=(12, 12, 3), classes=3,
                              classifier_activation=None).save(path)
        paths.append(path)
    models = [keras.models.load_model(p) for p in paths]
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in plan.val_ds], strict=True)
    images, labels = np.concatenate(images), np.concatenate(labels).reshape(-1)
    logits = [m.predict(images, verbose=0) for m in models]
    expected = np.mean(np.mean(logits, axis=0).argmax(-1) == labels)
    result = evaluation.evaluate(",".join(paths), plan)
    assert result["top1"] == pytest.approx(expected, abs=1e-6)
    assert result["images"] == len(labels)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
