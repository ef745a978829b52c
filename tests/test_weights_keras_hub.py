"""keras_resnet/weights/keras_hub.py: keras-hub's ResNet backbones (and classifiers) ported
to ours, checked against keras-hub installed from PyPI on random weights; presets load
through weights="keras_hub:..." (here a preset folder saved locally: no download)."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.weights.keras_hub import architecture_of, from_keras_hub

keras_hub = pytest.importorskip("keras_hub", reason="keras-hub is not installed ([dev] has it)")

#: keras-hub's arguments of its v1 presets (stem 7x7/64, strides 1-2-2-2).
V1 = dict(input_conv_filters=[64], input_conv_kernel_sizes=[7],
          stackwise_num_filters=[64, 128, 256, 512], stackwise_num_strides=[1, 2, 2, 2],
          use_pre_activation=False)


def random_backbone(block_type: str, blocks: list[int], size: int = 64):
    """A keras-hub ResNetBackbone with random weights and BatchNorm statistics."""
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.ResNetBackbone(
        **V1, stackwise_num_blocks=blocks, block_type=block_type, image_shape=(size, size, 3))
    rng = np.random.default_rng(0)
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape),
                               rng.uniform(-0.2, 0.2, beta.shape),
                               rng.uniform(-0.2, 0.2, mean.shape),
                               rng.uniform(0.5, 1.5, var.shape)])
    return backbone


@pytest.mark.parametrize("block_type,blocks,name", [
    ("basic_block", [2, 2, 2, 2], "resnet18"),
    ("bottleneck_block", [3, 4, 6, 3], "resnet50"),
])
def test_a_backbone_ports_exactly(block_type, blocks, name, rng):
    backbone = random_backbone(block_type, blocks)
    assert architecture_of(backbone.get_config()) == name
    ours = from_keras_hub(backbone)
    assert ours.name == name
    images = rng.normal(size=(2, 64, 64, 3)).astype("float32")
    want = np.asarray(backbone.predict(images, verbose=0))
    got = ours.predict(images, verbose=0)
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())
    pyramid = keras.Model(backbone.inputs, dict(backbone.pyramid_outputs)).predict(
        images, verbose=0)
    maps = keras_resnet.feature_model(ours).predict(images, verbose=0)
    for level, stage in zip(("P2", "P3", "P4", "P5"), ("conv2", "conv3", "conv4", "conv5"),
                            strict=True):
        np.testing.assert_allclose(maps[stage], pyramid[level],
                                   atol=1e-4 * np.abs(pyramid[level]).max(), err_msg=stage)


def test_a_classifier_ports_with_its_head_and_a_preset_folder_loads(tmp_path, rng):
    backbone = random_backbone("basic_block", [2, 2, 2, 2])
    classifier = keras_hub.models.ResNetImageClassifier(backbone=backbone, num_classes=7,
                                                        activation="softmax")
    images = rng.normal(size=(2, 64, 64, 3)).astype("float32")
    want = np.asarray(classifier.predict(images, verbose=0))
    ours = from_keras_hub(classifier)
    np.testing.assert_allclose(ours.predict(images, verbose=0), want, atol=1e-5)
    preset = str(tmp_path / "preset")
    classifier.save_to_preset(preset)
    loaded = keras_resnet.ResNet18(weights=f"keras_hub:{preset}", classes=7,
                                   input_shape=(64, 64, 3))
    np.testing.assert_allclose(loaded.predict(images, verbose=0), want, atol=1e-5)
    features = keras_resnet.ResNet18(weights=f"keras_hub:{preset}", include_top=False,
                                     input_shape=(64, 64, 3))
    maps = np.asarray(backbone.predict(images, verbose=0))
    np.testing.assert_allclose(features.predict(images, verbose=0), maps,
                               atol=1e-4 * np.abs(maps).max())


@pytest.mark.backend_independent  # configuration checks and error messages
def test_backbones_without_a_counterpart_are_refused(tmp_path):
    config = {**V1, "stackwise_num_blocks": [2, 2, 2, 2], "block_type": "basic_block_vd"}
    with pytest.raises(ValueError, match="block_type 'basic_block_vd' has no counterpart"):
        architecture_of(config)
    with pytest.raises(ValueError, match="pre-activation .* no counterpart"):
        architecture_of({**config, "block_type": "bottleneck_block",
                         "use_pre_activation": True})
    with pytest.raises(ValueError, match=r"stages \[1, 1, 1, 1\] has no counterpart"):
        architecture_of({**config, "block_type": "basic_block",
                         "stackwise_num_blocks": [1, 1, 1, 1]})
    preset = str(tmp_path / "r18")
    random_backbone("basic_block", [2, 2, 2, 2]).save_to_preset(preset)
    with pytest.raises(ValueError, match="is a resnet18; the model is a resnet34"):
        keras_resnet.ResNet34(weights=f"keras_hub:{preset}", include_top=False)
    with pytest.raises(ValueError, match="set bottleneck_stride='3x3'"):
        keras_resnet.ResNet50(weights=f"keras_hub:{preset}", bottleneck_stride="1x1")
    with pytest.raises(ValueError, match="cannot load keras-hub preset .*/nowhere"):
        keras_resnet.ResNet18(weights="keras_hub:/nowhere", include_top=False)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
