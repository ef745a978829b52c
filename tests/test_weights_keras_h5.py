import sys

import numpy as np
import pytest

import keras_resnet
from keras_resnet.weights import load


def test_weights_round_trip_through_the_builder(tmp_path, rng):
    model = keras_resnet.ResNet20(classes=4)
    path = str(tmp_path / "r20.weights.h5")
    model.save_weights(path)
    again = keras_resnet.ResNet20(classes=4, weights=path)
    x = rng.random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(again(x)))


def test_file_for_another_head_names_the_layer_and_shapes(tmp_path):
    path = str(tmp_path / "r20.weights.h5")
    keras_resnet.ResNet20(classes=10).save_weights(path)
    with pytest.raises(ValueError, match=r"'predictions'.*\(64, 10\).*\(64, 100\)"):
        keras_resnet.ResNet20(classes=100, weights=path)


def test_file_for_another_depth_is_refused(tmp_path):
    path = str(tmp_path / "r20.weights.h5")
    keras_resnet.ResNet20().save_weights(path)
    with pytest.raises(ValueError, match="does not fit model 'resnet32'"):
        keras_resnet.ResNet32(weights=path)


def test_file_for_another_input_channel_count(tmp_path):
    path = str(tmp_path / "gray.weights.h5")
    keras_resnet.ResNet20(input_shape=(32, 32, 1)).save_weights(path)
    with pytest.raises(ValueError, match=r"'conv1_conv'.*\(3, 3, 1, 16\).*\(3, 3, 3, 16\)"):
        keras_resnet.ResNet20(weights=path)


def test_wrong_suffix_and_corrupt_file(tmp_path):
    other = tmp_path / "model.h5"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match="must be a Keras 3 '.weights.h5' file"):
        keras_resnet.ResNet20(weights=str(other))
    corrupt = tmp_path / "bad.weights.h5"
    corrupt.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        keras_resnet.ResNet20(weights=str(corrupt))


def test_weights_argument_types():
    with pytest.raises(ValueError, match="must be None"):
        load.resolve(3, "resnet20", 3)
    with pytest.raises(ValueError, match="No pretrained 'imagenet' weights for resnet20"):
        keras_resnet.ResNet20(weights="imagenet")
    assert load.is_pretrained_tag("imagenet")
    assert not load.is_pretrained_tag("imagenet.weights.h5")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
