"""keras_resnet/train/evaluation.py: evaluating saved models, single view and flip-averaged."""

import sys

import keras
import numpy as np
import pytest

from keras_resnet.train import evaluation


def test_flip_averaged_is_the_mean_of_both_views_softmax():

    inputs = keras.Input((4, 6, 3))
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    x = np.random.default_rng(0).normal(size=(3, 4, 6, 3)).astype("float32")

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    plain = softmax(model.predict(x, verbose=0))
    mirrored = softmax(model.predict(x[:, :, ::-1, :], verbose=0))
    averaged = evaluation.flip_averaged(model).predict(x, verbose=0)
    np.testing.assert_allclose(averaged, (plain + mirrored) / 2, atol=1e-6)
    assert np.abs(averaged - plain).max() > 1e-3  # the mirror view changed something
    head = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(
        keras.layers.Flatten()(inputs)))
    head.set_weights(model.get_weights())  # the same logits, a softmax head on top
    np.testing.assert_allclose(evaluation.flip_averaged(head).predict(x, verbose=0),
                               (plain + mirrored) / 2, atol=1e-6)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
