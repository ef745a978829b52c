import sys

import keras
import numpy as np
import pytest

from keras_resnet.train.schedules import ResNetSchedule


def lrs(schedule, steps):
    return np.array([float(schedule(s)) for s in steps])


def test_paper_cifar_step_schedule():
    s = ResNetSchedule(0.1, 64000, "step", boundaries=(32000, 48000))
    np.testing.assert_allclose(lrs(s, [0, 31999, 32000, 47999, 48000, 63999]),
                               [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-5)


def test_constant_warmup_of_resnet110():
    s = ResNetSchedule(0.1, 64000, "step", boundaries=(32000,), warmup_steps=400,
                       warmup="constant", warmup_lr=0.01)
    np.testing.assert_allclose(lrs(s, [0, 399, 400]), [0.01, 0.01, 0.1], rtol=1e-6)


def test_linear_warmup_then_cosine():
    s = ResNetSchedule(0.4, 1100, "cosine", warmup_steps=100)
    got = lrs(s, [0, 49, 99, 100, 600, 1100])
    np.testing.assert_allclose(got, [0.004, 0.2, 0.4, 0.4, 0.2, 0.0], atol=1e-6)


def test_linear_decay_to_zero_after_warmup():
    s = ResNetSchedule(0.2, 1100, "linear", warmup_steps=100)
    got = lrs(s, [99, 100, 350, 600, 1100, 1200])
    np.testing.assert_allclose(got, [0.2, 0.2, 0.15, 0.1, 0.0, 0.0], atol=1e-6)


def test_serializable_and_checked():
    s = ResNetSchedule(0.1, 10, "step", boundaries=(5,))
    clone = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(s))
    assert clone.get_config() == s.get_config()
    with pytest.raises(ValueError, match="boundaries must increase"):
        ResNetSchedule(0.1, 10, boundaries=(5, 3))
    with pytest.raises(ValueError, match="decay must be"):
        ResNetSchedule(0.1, 10, decay="poly")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
