"""Our models compute what keras.applications' do once its weights are ported (biases folded)."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.weights.keras_applications import from_keras_applications, port_weights

# Builds every keras.applications ResNet: the TensorFlow pass of the suite runs it, the JAX
# pass (-m "not slow") leaves it out to keep CI short.
pytestmark = pytest.mark.slow

SOURCES = ["ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2"]


def randomize_biases_and_statistics(model: keras.Model, rng: np.random.Generator) -> None:
    """Non-trivial BN statistics and conv biases, so that folding mistakes would show."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c),
                               rng.normal(0, 0.1, c), rng.uniform(0.5, 1.5, c)])
        elif isinstance(layer, keras.layers.Conv2D) and layer.use_bias:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(0, 0.1, bias.shape)])


@pytest.mark.parametrize("source_name", SOURCES)
def test_outputs_agree_with_keras_applications(source_name, rng):
    source = getattr(keras.applications, source_name)(weights=None, input_shape=(64, 64, 3),
                                                      classifier_activation=None)
    randomize_biases_and_statistics(source, rng)
    ours = from_keras_applications(source, classifier_activation=None)
    assert ours.name == source.name.lower()
    x = rng.uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    expected = np.asarray(source(x))
    assert np.abs(expected).max() > 1.0  # the comparison is not between near-zero logits
    np.testing.assert_allclose(np.asarray(ours(x)), expected, rtol=0, atol=1e-4)
    if not source_name.endswith("V2"):
        assert ours.count_params() < source.count_params()  # no conv biases left


def test_feature_extractor_without_top(rng):
    source = keras.applications.ResNet50(weights=None, include_top=False, pooling="avg",
                                         input_shape=(64, 64, 3))
    randomize_biases_and_statistics(source, rng)
    ours = from_keras_applications(source)
    x = rng.uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(source(x)), rtol=0, atol=1e-4)


def test_mismatched_architectures_are_refused():
    source = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="layer 'conv4_block7_1_conv'.*no counterpart"):
        port_weights(source, keras_resnet.ResNet101(input_shape=(64, 64, 3)))
    with pytest.raises(ValueError, match="'predictions'.*source shapes"):
        port_weights(source, keras_resnet.ResNet50(input_shape=(64, 64, 3), classes=10))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
