"""The float64 twin the export measures float variants against: every layer in float64, the
same function as the float32 model up to float32 rounding."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.export.reference import float64_outputs, float64_twin


def _model_with_preprocessing() -> keras.Model:
    backbone = keras_resnet.get_model("resnet20", input_shape=(32, 32, 3), classes=10,
                                      classifier_activation=None)
    image = keras.Input((32, 32, 3), name="image")
    normalized = keras.layers.Normalization(mean=[125.0, 123.0, 114.0],
                                            variance=[3900.0, 3800.0, 4400.0])(image)
    return keras.Model(image, backbone(normalized))


def _jax_x64() -> bool:
    import jax

    return bool(jax.config.jax_enable_x64)


def test_twin_computes_in_float64_and_matches():
    model = _model_with_preprocessing()
    twin = float64_twin(model)
    assert {layer.compute_dtype for layer in twin.layers} == {"float64"}
    assert {w.dtype for w in twin.weights} == {"float64"}
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    if keras.backend.backend() == "jax" and not _jax_x64():
        with pytest.raises(RuntimeError, match="JAX_ENABLE_X64"):
            float64_outputs(model, images)
        return
    exact = float64_outputs(model, images)
    assert exact.dtype == np.float64
    ours = np.asarray(model.predict(images, verbose=0))
    scale = np.abs(exact).max()
    assert 0 < np.abs(ours - exact).max() <= 1e-4 * max(scale, 1.0)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
