import sys

import pytest

from keras_resnet import specs

pytestmark = pytest.mark.backend_independent  # the spec table is plain Python


def test_imagenet_table_matches_the_paper():
    assert specs.IMAGENET_DEPTHS[50] == ("bottleneck", (3, 4, 6, 3))
    for depth, (block, blocks) in specs.IMAGENET_DEPTHS.items():
        per_block = 2 if block == "basic" else 3
        assert per_block * sum(blocks) + 2 == depth  # stem conv + blocks + fc


@pytest.mark.parametrize("depth", specs.CIFAR_DEPTHS)
def test_cifar_depth_is_6n_plus_2(depth):
    spec = specs.cifar_spec(depth)
    assert [s.blocks for s in spec.stages] == [(depth - 2) // 6] * 3
    assert [s.filters for s in spec.stages] == [16, 32, 64]
    assert spec.total_stride == 4


@pytest.mark.parametrize("depth", [19, 21, 2, 0, -4, 20.0, True, "20"])
def test_cifar_depth_not_6n_plus_2_is_rejected(depth):
    with pytest.raises(ValueError, match="6n\\+2"):
        specs.cifar_spec(depth)


def test_unknown_imagenet_depth_is_rejected():
    with pytest.raises(ValueError, match="18, 34, 50, 101, 152"):
        specs.imagenet_spec(42)
    with pytest.raises(ValueError, match="pre-activation"):
        specs.preact_spec(18)


def test_downsampling_and_output_width():
    assert specs.imagenet_spec(18).total_stride == 32
    assert specs.preact_spec(50).total_stride == 32
    assert specs.imagenet_spec(34).output_channels == 512
    assert specs.imagenet_spec(50).output_channels == 2048


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
