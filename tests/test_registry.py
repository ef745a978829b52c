import sys

import pytest

import keras_resnet
from keras_resnet import registry


def public_builder_name(name: str) -> str:
    if name.startswith("plainnet"):
        return "PlainNet" + name[len("plainnet"):]
    return "ResNet" + name[len("resnet"):].upper()


def test_every_variant_of_the_paper_is_registered():
    names = set(keras_resnet.list_models())
    for depth in (18, 34, 50, 101, 152, 20, 32, 44, 56, 110, 1202):
        assert f"resnet{depth}" in names and f"plainnet{depth}" in names
    assert {"resnet50v2", "resnet101v2", "resnet152v2"} <= names


@pytest.mark.parametrize("name", registry.list_models())
def test_every_registered_model_has_a_public_builder(name):
    builder = getattr(keras_resnet, public_builder_name(name))
    assert builder.__doc__
    assert builder.__name__ in keras_resnet.__all__


def test_list_models_glob_and_order():
    assert keras_resnet.list_models("resnet*v2") == ["resnet50v2", "resnet101v2", "resnet152v2"]
    assert keras_resnet.list_models("plainnet2*") == ["plainnet20"]
    assert keras_resnet.list_models("nothing*") == []


def test_get_model_accepts_any_spelling():
    assert keras_resnet.get_model("ResNet-20").name == "resnet20"
    assert keras_resnet.get_model("resnet_20", name="mine").name == "mine"


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ValueError, match="Did you mean.*resnet50") as err:
        keras_resnet.get_model("resnet51")
    assert "list_models" in str(err.value)
    with pytest.raises(ValueError, match="Unknown model 'vgg16'"):
        keras_resnet.get_model("vgg16")


def test_cifar_resnet_any_6n_plus_2_depth():
    model = keras_resnet.cifar_resnet(14)
    assert keras_resnet.count_depth(model) == 14
    with pytest.raises(ValueError, match="6n\\+2"):
        keras_resnet.cifar_resnet(15)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
