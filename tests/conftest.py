"""Shared test setup: TensorFlow backend unless KERAS_BACKEND says otherwise, quiet logs, and a
fresh Keras session per test (layer name counters and memory)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
