"""What each set of weights expects of its input, and reading predictions back."""

import sys

import numpy as np
import pytest

from keras_resnet.preprocessing import (
    NORMALIZATION,
    decode_predictions,
    normalization_name,
    preprocess_input,
)

pytestmark = pytest.mark.backend_independent  # numpy preprocessing and label tables


def test_caffe_mode_is_bgr_minus_the_mean():
    pixel = np.array([[[[10.0, 20.0, 30.0]]]])
    np.testing.assert_allclose(preprocess_input(pixel, "caffe")[0, 0, 0],
                               [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-6)


def test_tf_mode_spans_minus_one_to_one():
    out = preprocess_input(np.array([0.0, 127.5, 255.0])[:, None] * np.ones(3), "tf")
    np.testing.assert_allclose(out[:, 0], [-1.0, 0.0, 1.0])


def test_torch_and_cifar10_modes_use_the_normalization_table():
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3))
    for mode, stats in (("torch", "imagenet"), ("cifar10", "cifar10")):
        mean, std = NORMALIZATION[stats]
        np.testing.assert_allclose(preprocess_input(pixels, mode),
                                   (pixels - np.array(mean)) / np.array(std), atol=1e-5)
    with pytest.raises(ValueError, match="No preprocessing named"):
        preprocess_input(pixels, "bgr")


def test_decode_cifar10_predictions_best_first():
    scores = np.zeros((2, 10))
    scores[0, 3], scores[0, 5], scores[1, 8] = 0.7, 0.2, 0.9
    decoded = decode_predictions(scores, labels="cifar10", top=2)
    assert [d[:2] for d in decoded[0]] == [(3, "cat"), (5, "dog")]
    assert decoded[1][0][:2] == (8, "ship") and len(decoded[1]) == 2
    with pytest.raises(ValueError, match="10 classes"):
        decode_predictions(np.zeros((1, 7)), labels="cifar10")


def test_normalization_name_resolves_auto():
    assert normalization_name("auto", "cifar10") == "cifar10"
    assert normalization_name("auto", "folder:/data") == "imagenet"
    assert normalization_name("cifar100", "folder:/data") == "cifar100"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
