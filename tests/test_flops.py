import sys

import keras
import pytest

import keras_resnet
from keras_resnet.paper import IMAGENET_GMACS as PAPER_TABLE_1

pytestmark = pytest.mark.backend_independent  # counts from layer shapes: same on any backend

V1_5 = {"resnet18": 1.82, "resnet34": 3.67, "resnet50": 4.09, "resnet101": 7.80,
        "resnet152": 11.51}


@pytest.mark.parametrize("name,gmacs", PAPER_TABLE_1.items())
def test_v1_reproduces_the_papers_table_1(name, gmacs, default_model):
    flops = keras_resnet.count_flops(default_model(name))
    assert flops / 1e9 == pytest.approx(gmacs, rel=0.03)


@pytest.mark.parametrize("name,gmacs", V1_5.items())
def test_v1_5_matches_torchvision_layout(name, gmacs):
    model = keras_resnet.get_model(name, bottleneck_stride="3x3")
    assert keras_resnet.count_flops(model) / 1e9 == pytest.approx(gmacs, rel=0.02)


def test_formula_on_a_tiny_model():
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(inp)  # 4*4 out
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(5)(x)
    model = keras.Model(inp, out)
    assert keras_resnet.count_flops(model) == 4 * 4 * 3 * 4 * 3 * 3 + 4 * 5
    assert keras_resnet.count_depth(model) == 2


def test_option_a_shortcut_costs_nothing():
    a = keras_resnet.count_flops(keras_resnet.ResNet20())
    b = keras_resnet.count_flops(keras_resnet.ResNet20(shortcut="B"))
    assert b - a == 16 * 16 * 16 * 32 + 8 * 8 * 32 * 64
    assert a == keras_resnet.count_flops(keras_resnet.PlainNet20())


def test_unknown_spatial_size_is_a_clear_error():
    model = keras_resnet.ResNet18(include_top=False)
    with pytest.raises(ValueError, match="fixed input size.*input_shape"):
        keras_resnet.count_flops(model)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
