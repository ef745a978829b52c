"""keras_resnet/train/optimizer.py: the trainer's SGD steps as Keras' own, except that the
backbone may learn at a fraction of the lr (the head at the full lr)."""

import sys

import keras
import numpy as np
import pytest

from keras_resnet.train.optimizer import TrainerSGD, make_sgd

pytestmark = pytest.mark.backend_independent


def _model(optimizer) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    x = keras.layers.Dense(5, name="conv2_block1_1_conv")(inputs)
    outputs = keras.layers.Dense(3, name="predictions")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _fit(optimizer) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(weights before, weights after) three steps of `optimizer` on fixed data."""
    model = _model(optimizer)
    before = [w.copy() for w in model.get_weights()]
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(12, 4)), rng.normal(size=(12, 3)), batch_size=4, epochs=1,
              shuffle=False, verbose=0)
    return before, model.get_weights()


def test_without_a_scale_it_steps_as_keras_sgd():
    _, keras_sgd = _fit(keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True))
    _, ours = _fit(make_sgd(0.1, 0.9, True))
    for want, got in zip(keras_sgd, ours, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_the_backbone_moves_at_its_fraction_of_the_lr_and_the_head_at_the_full_lr():
    before, full = _fit(make_sgd(0.1, 0.9, False))
    _, slow = _fit(make_sgd(0.1, 0.9, False, backbone_lr_scale=0.1))
    # first step: the same gradients, so the backbone's move is exactly a tenth
    backbone_full, backbone_slow = full[0] - before[0], slow[0] - before[0]
    assert np.abs(backbone_slow).max() < 0.2 * np.abs(backbone_full).max()
    assert np.abs(backbone_slow).max() > 0.02 * np.abs(backbone_full).max()
    head_moved = np.abs(slow[2] - before[2]).max()
    assert head_moved > 0.5 * np.abs(full[2] - before[2]).max()


def test_one_step_is_exactly_scaled():
    for scale in (1.0, 0.25):
        model = _model(make_sgd(0.5, 0.0, False, backbone_lr_scale=scale))
        w0 = [w.copy() for w in model.get_weights()]
        model.train_on_batch(np.ones((2, 4)), np.zeros((2, 3)))
        moved = [w - v for w, v in zip(model.get_weights(), w0, strict=True)]
        if scale == 1.0:
            reference = moved
        else:
            np.testing.assert_allclose(moved[0], scale * reference[0], rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(moved[2], reference[2], rtol=1e-5, atol=1e-7)


def test_a_scale_must_be_positive():
    with pytest.raises(ValueError, match="backbone_lr_scale must be > 0"):
        TrainerSGD(0.1, backbone_lr_scale=0.0)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
