"""The Keras model recomputed in float64: the exact reference the float `.tflite` variants are
measured against. Keras' own float32 output carries rounding error too (about 1e-4 on
ResNet-50's logits), so a float32-vs-float32 difference measures two roundings, not the
conversion."""

from __future__ import annotations

import keras
import numpy as np

_FLOAT_POLICIES = {"float32", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16",
                   "float64"}


def _policy_name(value) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        return value["config"].get("name")
    return None


def _to_float64(node):
    if isinstance(node, dict):
        return {key: ("float64" if key == "dtype" and _policy_name(value) in _FLOAT_POLICIES
                      else _to_float64(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_to_float64(value) for value in node]
    return node


def float64_twin(model: keras.Model) -> keras.Model:
    """A copy of `model` whose every layer computes and stores weights in float64."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")  # for what the config leaves to the default
    try:
        twin = type(model).from_config(_to_float64(model.get_config()))
    finally:
        keras.config.set_dtype_policy(previous)
    weights = model.get_weights()
    twin.set_weights([w.astype(np.float64) if np.issubdtype(w.dtype, np.floating) else w
                      for w in weights])
    return twin


def float64_outputs(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """`model`'s output on `images`, computed in float64."""
    twin = float64_twin(model)
    outputs = np.asarray(twin.predict(images.astype(np.float64), batch_size=batch_size,
                                      verbose=0))
    if outputs.dtype != np.float64:  # e.g. JAX without jax_enable_x64 computes in float32
        raise RuntimeError(f"the {keras.backend.backend()} backend computed the float64 twin "
                           f"in {outputs.dtype}; the export runs on TensorFlow (on JAX, set "
                           "JAX_ENABLE_X64=1).")
    return outputs
