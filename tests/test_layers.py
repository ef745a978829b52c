import sys

import keras
import numpy as np
import pytest

from keras_resnet.layers import ZeroPadChannels


def test_pads_channels_with_zeros(rng):
    x = rng.random((2, 4, 4, 16), dtype=np.float32)
    y = np.asarray(ZeroPadChannels(32)(x))
    assert y.shape == (2, 4, 4, 32)
    np.testing.assert_array_equal(y[..., :16], x)
    assert not y[..., 16:].any()


def test_config_round_trip():
    layer = ZeroPadChannels(64, name="pad")
    clone = ZeroPadChannels.from_config(layer.get_config())
    assert clone.channels == 64 and clone.name == "pad"
    assert keras.saving.get_registered_object("keras_resnet>ZeroPadChannels") is ZeroPadChannels


def test_narrowing_is_refused():
    with pytest.raises(ValueError, match="more than the 8"):
        ZeroPadChannels(8)(keras.Input((4, 4, 16)))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
