"""The generic builder, through the registry: shapes, parameter counts, options, bad input."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet import registry
from keras_resnet.paper import CIFAR_PARAMS_M, IMAGENET_PARAMS

SMALL = [n for n in registry.list_models() if not n.endswith("1202")]


@pytest.mark.parametrize("name,expected", IMAGENET_PARAMS.items())
def test_imagenet_parameter_counts_are_exact(name, expected, default_model):
    model = default_model(name)
    assert keras_resnet.count_trainable_params(model) == expected
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and not any(conv.use_bias for conv in convs)


@pytest.mark.parametrize("name,millions", [
    pytest.param(name, millions, marks=[pytest.mark.slow] if name.endswith("1202") else [])
    for name, millions in CIFAR_PARAMS_M.items()])  # ResNet-1202: ~4,000 layers, slow to build
def test_cifar_parameter_counts_match_the_paper(name, millions, default_model):
    params = keras_resnet.count_trainable_params(default_model(name))
    digits = 1 if millions >= 1 else 2
    assert round(params / 1e6, digits) == millions


@pytest.mark.parametrize("name", SMALL)
def test_forward_pass_at_small_input(name, rng):
    entry = registry.get_entry(name)
    size = 32 if entry.spec.family == "cifar" else 64
    model = keras_resnet.get_model(name, input_shape=(size, size, 3), classes=7)
    out = np.asarray(model(rng.random((2, size, size, 3), dtype=np.float32)))
    assert out.shape == (2, 7)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert keras_resnet.count_depth(model) == entry.spec.depth
    has_add = any(isinstance(layer, keras.layers.Add) for layer in model.layers)
    assert has_add == entry.residual


def test_stable_layer_names(default_model):
    names = {layer.name for layer in default_model("resnet50").layers}
    assert {"conv1_conv", "conv1_bn", "pool1_pool", "conv2_block1_0_conv", "conv4_block6_2_bn",
            "conv5_block3_out", "avg_pool", "predictions"} <= names
    names = {layer.name for layer in keras_resnet.ResNet20().layers}
    assert {"conv1_conv", "conv2_block3_out", "conv3_block1_0_pad", "conv4_block3_2_bn"} <= names


def test_bottleneck_stride_v1_and_v1_5():
    v1 = keras_resnet.ResNet50(input_shape=(64, 64, 3))
    v15 = keras_resnet.ResNet50(input_shape=(64, 64, 3), bottleneck_stride="3x3")
    assert v1.get_layer("conv3_block1_1_conv").strides == (2, 2)
    assert v1.get_layer("conv3_block1_2_conv").strides == (1, 1)
    assert v15.get_layer("conv3_block1_1_conv").strides == (1, 1)
    assert v15.get_layer("conv3_block1_2_conv").strides == (2, 2)
    assert v15.get_layer("conv3_block1_2_pad").padding == ((1, 1), (1, 1))
    assert keras_resnet.count_trainable_params(v1) == keras_resnet.count_trainable_params(v15)


def test_cifar_shortcut_options():
    a = keras_resnet.ResNet20()
    b = keras_resnet.ResNet20(shortcut="B")
    # Option B adds two 1x1 projections + BN: 16*32 + 2*32 and 32*64 + 2*64.
    extra = 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64
    assert keras_resnet.count_trainable_params(b) - keras_resnet.count_trainable_params(a) == extra
    assert a.get_layer("conv3_block1_0_pool").strides == (2, 2)
    assert a.get_layer("conv3_block1_0_pad").channels == 32
    assert b.get_layer("conv3_block1_0_conv").kernel.shape == (1, 1, 16, 32)


def test_plain_net_is_the_resnet_without_shortcuts(default_model):
    res = {layer.name for layer in default_model("resnet34").layers if layer.weights}
    plain = {layer.name for layer in default_model("plainnet34").layers if layer.weights}
    assert plain == {n for n in res if "_0_" not in n}


def test_preact_layout():
    model = keras_resnet.ResNet50V2(input_shape=(64, 64, 3))
    assert model.get_layer("conv1_conv").use_bias
    assert model.get_layer("conv2_block3_2_conv").strides == (2, 2)  # keras' V2: last block
    assert model.get_layer("conv5_block3_2_conv").strides == (1, 1)
    assert {"post_bn", "conv2_block1_preact_bn", "conv2_block1_0_conv"} <= {
        layer.name for layer in model.layers}


def test_include_top_false_and_pooling(rng):
    x = rng.random((1, 64, 64, 3), dtype=np.float32)
    feats = keras_resnet.ResNet18(include_top=False)
    assert feats.output.shape == (None, None, None, 512)
    assert np.asarray(feats(x)).shape == (1, 2, 2, 512)
    assert keras_resnet.ResNet50(include_top=False, pooling="avg").output.shape == (None, 2048)
    assert keras_resnet.ResNet18(include_top=False, pooling="max").output.shape == (None, 512)
    logits = keras_resnet.ResNet20(classifier_activation=None)
    assert np.asarray(logits(x[:, :32, :32])).sum() != pytest.approx(1.0)


def test_input_tensor_and_channels(rng):
    inp = keras.Input((40, 40, 1))
    model = keras_resnet.ResNet20(input_tensor=inp, classes=3)
    assert model.inputs[0] is inp
    assert np.asarray(model(rng.random((1, 40, 40, 1), dtype=np.float32))).shape == (1, 3)
    # On an input tensor the other arguments keep their ResNet defaults and meanings.
    feats = keras_resnet.ResNet20(input_tensor=keras.Input((32, 32, 3)), include_top=False,
                                  pooling="max", shortcut="B")
    names = [layer.name for layer in feats.layers]
    assert feats.output.shape == (None, 64) and "max_pool" in names
    assert any(name.endswith("_0_conv") for name in names)
    with pytest.raises(TypeError, match=r"unexpected arguments \['colour'\]"):
        keras_resnet.get_model("resnet20", input_tensor=keras.Input((32, 32, 3)), colour=1)


def test_zero_init_residual():
    model = keras_resnet.ResNet20(zero_init_residual=True)
    assert not np.asarray(model.get_layer("conv2_block1_2_bn").gamma).any()
    assert np.asarray(model.get_layer("conv2_block1_1_bn").gamma).all()


def test_mixed_precision_keeps_logits_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = keras_resnet.ResNet20(classifier_activation=None)
        assert model.get_layer("conv1_conv").compute_dtype == "bfloat16"
        assert model.output.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("kwargs,message", [
    ({"classes": 0}, "classes must be a positive integer"),
    ({"classes": 2.5}, "classes must be a positive integer"),
    ({"pooling": "mean", "include_top": False}, "pooling must be one of"),
    ({"input_shape": (16, 16, 3)}, "too small.*at least 32"),
    ({"input_shape": (224, 224)}, "height, width, channels"),
    ({"shortcut": "C"}, "shortcut must be"),
    ({"bottleneck_stride": "2x2"}, "bottleneck_stride must be"),
    ({"weights": "imagenet", "input_shape": (64, 64, 1)}, "3 channels"),
    ({"weights": "cifar10"}, "No pretrained 'cifar10' weights for resnet50"),
    ({"weights": "/no/such/file.weights.h5"}, "neither a pretrained tag .* nor an existing file"),
])
def test_bad_input_is_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_resnet.ResNet50(**kwargs)


def test_cifar_min_input_is_its_downsampling():
    keras_resnet.ResNet20(input_shape=(4, 4, 3))
    with pytest.raises(ValueError, match="at least 4"):
        keras_resnet.ResNet20(input_shape=(3, 8, 3))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
