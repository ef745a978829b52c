"""Test helper: two runs ended with the same weights (a resumed run against an uninterrupted
one)."""

import os

import keras
import numpy as np


def assert_same_final_weights(model_dir_a: str, model_dir_b: str, atol: float = 1e-6) -> None:
    """The model.keras of both run folders holds the same weights, variable by variable."""
    a = keras.models.load_model(os.path.join(model_dir_a, "model.keras"))
    b = keras.models.load_model(os.path.join(model_dir_b, "model.keras"))
    for x, y in zip(a.weights, b.weights, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=atol,
                                   err_msg=x.path)
