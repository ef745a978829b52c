"""The benchmarks' step timer: every model gets its warm-up and its timed steps, round by round."""

import os
import sys

import keras
import numpy as np
import pytest

from keras_resnet.common.step_timing import alternating_rates

pytestmark = pytest.mark.backend_independent


def _tiny(name: str) -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)], name=name)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_each_model_trains_warmup_plus_rounds_times_steps_and_gets_a_rate_per_round(capsys):
    models = {"a": _tiny("a"), "b": _tiny("b")}
    x = np.ones((5, 4), np.float32)
    y = np.zeros((5,), np.int64)
    rates = alternating_rates(models, x, y, rounds=3, steps=2, warmup=1)
    assert [int(m.optimizer.iterations) for m in models.values()] == [7, 7]
    assert set(rates) == {"a", "b"} and all(len(v) == 3 and min(v) > 0 for v in rates.values())
    rounds = [line for line in capsys.readouterr().out.splitlines() if line.startswith("round")]
    assert rounds[0].startswith("round 1/3: a ") and ", b " in rounds[0] and len(rounds) == 3


if __name__ == "__main__":
    sys.exit(pytest.main([os.path.abspath(__file__)]))
