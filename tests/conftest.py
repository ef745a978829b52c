"""Shared test setup: TensorFlow backend unless KERAS_BACKEND says otherwise, quiet logs, and a
fresh Keras session per test (layer name counters and memory)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """Tests marked tf_backend exercise the tf.distribute trainer, which runs on TensorFlow:
    under another backend they are skipped (the TensorFlow pass of the suite runs them)."""
    if keras.backend.backend() == "tensorflow":
        return
    skip = pytest.mark.skip(reason="the tf.distribute trainer needs KERAS_BACKEND=tensorflow; "
                                   "the TensorFlow pass of the suite runs this test")
    for item in items:
        if "tf_backend" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


@pytest.fixture(scope="session")
def default_model():
    """`default_model(name)`: the registered model with default arguments, built once per test
    session (the largest take seconds to build; several test files read the same ones)."""
    import functools

    import keras_resnet

    return functools.lru_cache(maxsize=None)(keras_resnet.get_model)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def image_folder(tmp_path):
    """A tiny image folder: 3 classes x 12 random 12x12 PNGs (enough for a 2-epoch run)."""
    from PIL import Image

    root = tmp_path / "images"
    rng = np.random.default_rng(1)
    for c, name in enumerate(["cat", "dog", "emu"]):
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 80, (12, 12, 3)) + 80 * c
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i:03d}.png")
    return root
