"""The model an export starts from: normalization in front, a softmax at the end unless logits
are asked for, never a second softmax."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.export.serving import ends_in_softmax, serving_model


@pytest.fixture(scope="module")
def logits_model():
    keras.utils.set_random_seed(0)
    return keras_resnet.ResNet20(classifier_activation=None)


def test_probabilities_are_the_softmax_of_the_logits(logits_model, rng):
    images = rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    mean, std = np.full(3, 120.0), np.full(3, 60.0)
    probabilities = serving_model(logits_model, mean, std)
    logits = serving_model(logits_model, mean, std, scores="logits")
    assert ends_in_softmax(probabilities) and not ends_in_softmax(logits)
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(logits.predict(images, verbose=0)))
    np.testing.assert_allclose(probabilities.predict(images, verbose=0), expected, atol=1e-6)


def test_a_model_with_a_softmax_gets_no_second_one():
    model = keras_resnet.ResNet20(classifier_activation="softmax")
    assert serving_model(model) is model
    with pytest.raises(ValueError, match="ends in a softmax.*--scores=probabilities"):
        serving_model(model, scores="logits")
    with pytest.raises(ValueError, match="scores must be one of"):
        serving_model(model, scores="probs")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
