"""`.keras` files load with safe_mode=True; get_config/from_config round-trips."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet

CASES = [("resnet20", (32, 32, 3)), ("plainnet20", (32, 32, 3)), ("resnet18", (64, 64, 3)),
         ("resnet50v2", (64, 64, 3))]


@pytest.mark.parametrize("name,shape", CASES)
def test_keras_file_round_trip_in_safe_mode(name, shape, tmp_path, rng):
    model = keras_resnet.get_model(name, input_shape=shape, classes=5)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = rng.random((2, *shape), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("name,shape", CASES[:2])
def test_config_round_trip(name, shape, rng):
    model = keras_resnet.get_model(name, input_shape=shape)
    assert isinstance(model, keras_resnet.ResNet)
    assert model.get_config()["depth"] == int(name[-2:]) and model.get_config()["name"] == name
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = rng.random((1, *shape), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(clone(x)), atol=1e-6)
    assert clone.get_config() == model.get_config()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
