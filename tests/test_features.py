"""keras_resnet/features.py: per-stage feature maps (strides 4 to 32, or 1 to 4 on CIFAR) as
a dict-output model, equal to the classifier's own intermediate tensors, with any weights, on
both backends."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.features import feature_layers
from keras_resnet.specs import spec_for


@pytest.mark.backend_independent  # shapes; the maps themselves are compared on both below
@pytest.mark.parametrize("name,size,strides", [
    ("resnet20", 32, {"conv2": 1, "conv3": 2, "conv4": 4}),
    ("resnet18", 64, {"conv2": 4, "conv3": 8, "conv4": 16, "conv5": 32}),
    ("resnet50", 64, {"conv2": 4, "conv3": 8, "conv4": 16, "conv5": 32}),
    ("resnet50v2", 64, {"conv2": 4, "conv3": 8, "conv4": 16, "conv5": 32}),
])
def test_every_stage_at_its_stride(name, size, strides, rng):
    model = keras_resnet.get_model(name, features_only=True, input_shape=(size, size, 3))
    images = rng.normal(size=(2, size, size, 3)).astype("float32")
    maps = model.predict(images, verbose=0)
    assert list(maps) == list(strides)
    for stage, stride in strides.items():
        assert maps[stage].shape[1:3] == (size // stride, size // stride), stage


def test_the_maps_are_the_classifiers_own_tensors_with_the_weights_loaded(rng):
    classifier = keras_resnet.ResNet20(weights="cifar10")
    features = keras_resnet.ResNet20(weights="cifar10", features_only=True)
    layers = feature_layers(spec_for("cifar", 20))
    inner = keras.Model(classifier.input,
                        {s: classifier.get_layer(n).output for s, n in layers.items()})
    images = rng.uniform(-2, 2, (4, 32, 32, 3)).astype("float32")
    want, got = inner.predict(images, verbose=0), features.predict(images, verbose=0)
    for stage in layers:
        np.testing.assert_array_equal(got[stage], want[stage], err_msg=stage)


def test_the_v2_layout_takes_each_map_before_its_stages_downsampling():
    layers = feature_layers(spec_for("preact", 50))
    assert layers == {"conv2": "conv2_block2_out", "conv3": "conv3_block3_out",
                      "conv4": "conv4_block5_out", "conv5": "post_relu"}
    assert feature_layers(spec_for("imagenet", 50))["conv2"] == "conv2_block3_out"


def test_a_fine_tuned_model_and_a_saved_file_give_the_same_maps(tmp_path, rng):
    model = keras_resnet.ResNet20(classes=3, classifier_activation=None)
    features = keras_resnet.feature_model(model, stages=["conv3", "conv4"])
    path = str(tmp_path / "features.keras")
    features.save(path)
    loaded = keras.models.load_model(path)
    images = rng.normal(size=(2, 32, 32, 3)).astype("float32")
    want, got = features.predict(images, verbose=0), loaded.predict(images, verbose=0)
    assert sorted(got) == ["conv3", "conv4"]
    for stage in want:
        np.testing.assert_allclose(got[stage], want[stage], rtol=0, atol=1e-6)


@pytest.mark.backend_independent
def test_bad_requests_are_refused():
    model = keras_resnet.ResNet20()
    with pytest.raises(ValueError, match=r"no stage \['conv5'\] in resnet20: its stages are "
                                         "conv2, conv3, conv4"):
        keras_resnet.feature_model(model, stages=["conv5"])
    with pytest.raises(ValueError, match="leave include_top and pooling unset"):
        keras_resnet.ResNet20(features_only=True, include_top=True)
    with pytest.raises(ValueError, match="not built by keras_resnet"):
        keras_resnet.feature_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
