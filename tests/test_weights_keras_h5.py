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


def _legacy_h5(model, path) -> str:
    """`model`'s weights in keras.applications' legacy .h5 format."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return str(path)


def test_legacy_h5_loads_and_a_damaged_shape_is_refused_before_reading(tmp_path, rng):
    """keras.applications' format: loads into the same network; a dataset whose stored shape
    was damaged (here 10**9 rows) is refused from its metadata, naming the layer, without
    reading it."""
    import h5py

    from keras_resnet.weights.keras_h5 import load_legacy_h5

    model = keras_resnet.ResNet20(input_shape=(8, 8, 3), classes=3)
    path = _legacy_h5(model, tmp_path / "r20.h5")
    again = keras_resnet.ResNet20(input_shape=(8, 8, 3), classes=3)
    load_legacy_h5(again, path)
    x = rng.random((2, 8, 8, 3), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(again(x)))
    with h5py.File(path, "a") as f:
        group = f["predictions"]
        name = group.attrs["weight_names"][0]
        name = name.decode() if isinstance(name, bytes) else name
        del group[name]
        group.create_dataset(name, shape=(10**9, 3), dtype="float32")  # no data written
    with pytest.raises(ValueError, match=r"layer 'predictions' holds arrays of shapes "
                                         r"\[\(1000000000, 3\), \(3,\)\]"):
        load_legacy_h5(keras_resnet.ResNet20(input_shape=(8, 8, 3), classes=3), path)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
