"""The tf_keras twin QAT builds from the zoo's own spec: same logits, weights copied by name."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet

pytestmark = pytest.mark.tf_backend  # tf_keras and tfmot run on TensorFlow

qat = pytest.importorskip("keras_resnet.export.qat",
                          reason="tensorflow-model-optimization and tf_keras")


def with_nontrivial_batchnorm(model, rng):
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma * rng.uniform(0.5, 1.5, gamma.shape),
                               beta + rng.normal(0, 0.1, beta.shape),
                               mean + rng.normal(0, 0.1, mean.shape),
                               var * rng.uniform(0.5, 1.5, var.shape)])
    return model


@pytest.mark.parametrize("name,kwargs", [
    ("resnet20", {}),                                      # basic blocks, option A shortcut
    ("resnet20", {"shortcut": "B"}),                       # projection shortcut
    ("plainnet20", {}),                                    # no shortcuts
    ("resnet50", {"input_shape": (32, 32, 3), "classes": 7}),               # bottleneck v1
    ("resnet50", {"input_shape": (32, 32, 3), "classes": 7, "bottleneck_stride": "3x3"}),
    ("resnet50v2", {"input_shape": (32, 32, 3), "classes": 7}),             # pre-activation
])
def test_twin_reproduces_the_keras3_logits(name, kwargs, rng):
    model = with_nontrivial_batchnorm(
        keras_resnet.get_model(name, classifier_activation=None, **kwargs), rng)
    twin = qat.tf_keras_twin(model)
    assert twin.name == model.name and len(twin.weights) == len(model.weights)
    images = rng.normal(size=(3, *model.input_shape[1:])).astype("float32")
    assert qat.check_twin(model, twin, images) <= qat.TWIN_TOLERANCE


def test_a_different_network_is_refused(rng):
    model = keras_resnet.get_model("resnet20", classifier_activation=None)
    twin = qat.tf_keras_twin(model)
    other = keras_resnet.get_model("resnet20", classifier_activation=None)  # other weights
    with pytest.raises(ValueError, match="refusing to quantize"):
        qat.check_twin(other, twin, rng.normal(size=(2, 32, 32, 3)).astype("float32"))


def test_models_without_a_top_or_not_built_by_keras_resnet_are_refused():
    with pytest.raises(ValueError, match="classification top"):
        qat.tf_keras_twin(keras_resnet.ResNet20(include_top=False, input_shape=(32, 32, 3)))
    inputs = keras.Input((32, 32, 3))
    foreign = keras.Model(inputs, keras.layers.Dense(10)(inputs), name="my_net")
    with pytest.raises(ValueError, match="'my_net' was not built by keras_resnet"):
        qat.tf_keras_twin(foreign)


def test_a_renamed_model_twins_from_its_recorded_build_arguments(rng):
    model = keras_resnet.ResNet20(name="my_net", classifier_activation=None)
    twin = qat.tf_keras_twin(model)
    images = rng.normal(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(twin.predict(images, verbose=0), model.predict(images, verbose=0),
                               atol=1e-4)


def test_quantize_wraps_every_layer_and_keeps_the_padding_layer_unquantized(rng):
    twin = qat.tf_keras_twin(keras_resnet.ResNet20(classifier_activation=None))
    quantized = qat.quantize(twin)
    kinds = {type(layer).__name__ for layer in quantized.layers}
    assert "QuantizeWrapperV2" in kinds or "QuantizeWrapper" in kinds
    images = rng.normal(size=(2, 32, 32, 3)).astype("float32")
    assert quantized.predict(images, verbose=0).shape == (2, 10)


def test_fine_tuning_lr_falls_from_its_start_to_zero():
    schedule = qat.qat_schedule(1e-4, steps=100)
    assert float(schedule(0)) == pytest.approx(1e-4)
    assert float(schedule(50)) == pytest.approx(5e-5, rel=1e-3)
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-12)
    assert float(schedule(150)) == pytest.approx(0.0, abs=1e-12)

if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
