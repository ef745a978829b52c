"""Readers of Keras' own files: ``.weights.h5`` (ours, and any a user saved), checked first;
keras.applications' legacy ``.h5`` weights; whole ``.keras`` models.

A weights file is checked against the model before Keras reads it, so that a file saved from
another architecture fails with the layer and the shapes that differ, not a framework error.
A damaged file of any of the three gives a ValueError that names it.
"""

from __future__ import annotations

import os
import re

import h5py
import keras
import numpy as np

WEIGHTS_SUFFIX = ".weights.h5"


def _snake_case(class_name: str) -> str:
    """The group name Keras' weights format gives a layer class (``BatchNormalization`` ->
    ``batch_normalization``, ``Conv2D`` -> ``conv2d``)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _storage_paths(model: keras.Model) -> list[tuple[keras.layers.Layer, str]]:
    """Each layer with weights and its group in a ``.weights.h5`` file (Keras addresses layers
    by class name and position, not by their names)."""
    used: dict[str, int] = {}
    paths = []
    for layer in model.layers:
        base = _snake_case(type(layer).__name__)
        count = used.get(base, 0)
        used[base] = count + 1
        if layer.weights:
            paths.append((layer, f"layers/{base}" + (f"_{count}" if count else "")))
    return paths


def check_weights_file(model: keras.Model, path: str) -> None:
    """Raises ValueError naming the first layer whose weights in `path` don't fit `model`."""
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"weights file {path!r} is not a readable HDF5 file: {err}") from None
    problems = []
    with handle:
        for layer, group in _storage_paths(model):
            expected = [tuple(w.shape) for w in layer.weights]
            stored = handle.get(f"{group}/vars")
            if stored is None:
                problems.append(f"layer '{layer.name}': not in the file (expected {expected})")
                continue
            found = [tuple(stored[str(i)].shape) for i in range(len(stored))]
            if found != expected:
                problems.append(f"layer '{layer.name}': the file has shapes {found}, "
                                f"the model expects {expected}")
        groups = handle.get("layers", {})
        n_file = sum(len(groups[k].get("vars", {})) > 0 for k in groups)
    n_model = len(_storage_paths(model))
    if n_file != n_model and not problems:
        problems.append(f"the file has {n_file} layers with weights, the model {n_model}")
    if problems:
        more = f" (and {len(problems) - 1} more mismatches)" if len(problems) > 1 else ""
        raise ValueError(
            f"weights file {path!r} does not fit model '{model.name}': {problems[0]}{more}. "
            "Was it saved from another architecture, input channel count or number of classes?"
        )


#: What h5py and Keras raise on a damaged HDF5 file (bad B-tree or symbol table signatures,
#: truncated datasets, wrong dtypes), turned into a ValueError naming the file.
DAMAGED_FILE_ERRORS = (OSError, RuntimeError, KeyError, TypeError, IndexError, AttributeError,
                       UnicodeDecodeError, OverflowError)


def load_weights_file(model: keras.Model, path: str) -> None:
    """Checks `path` against `model`, then loads it. ValueError for a file that does not
    fit or cannot be read."""
    try:
        check_weights_file(model, path)
        model.load_weights(path)
    except DAMAGED_FILE_ERRORS as err:
        raise ValueError(f"weights file {path!r} is damaged or not a Keras weights file: "
                         f"{type(err).__name__}: {err}") from None


def check_legacy_h5(model: keras.Model, path: str) -> None:
    """ValueError unless every array in the legacy ``.h5`` file at `path` has the shape of
    the weight of `model` it will be loaded into (layers with weights in order; each layer's
    trainable weights, then the others). Reads shapes only, so that a damaged shape (a
    flipped bit making a dataset of billions of values) fails at once instead of being read."""
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f \
            else f
        names = _names(group, "layer_names", path)
        stored = []
        for name in names:
            weight_names = _names(group[name], "weight_names", path)
            if weight_names:
                stored.append((name, [group[name][w].shape for w in weight_names]))
    layers = [(layer, layer.trainable_weights + layer.non_trainable_weights)
              for layer in model.layers if layer.weights]
    if len(stored) != len(layers):
        raise ValueError(f"weights file {path!r} holds {len(stored)} layers with weights; "
                         f"{model.name} has {len(layers)}.")
    for (name, shapes), (layer, weights) in zip(stored, layers, strict=True):
        wanted = [tuple(w.shape) for w in weights]
        if [tuple(s) for s in shapes] != wanted:
            raise ValueError(f"weights file {path!r}: layer {name!r} holds arrays of shapes "
                             f"{[tuple(s) for s in shapes]}; {model.name}'s {layer.name!r} "
                             f"needs {wanted}.")


#: More names than any ResNet's file lists (layers, or one layer's weights): a longer list is
#: a damaged size, which would take minutes to read.
MAX_NAMES = 100_000


def _names(node, attribute: str, path: str) -> list[str]:
    """The list of names in `attribute` of an HDF5 group, its length checked before reading."""
    if attribute not in node.attrs:
        return []
    size = int(np.prod(node.attrs.get_id(attribute).shape or (1,)))
    if size > MAX_NAMES:
        raise ValueError(f"weights file {path!r} is damaged: {node.name!r} lists {size:,} "
                         f"{attribute}.")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in node.attrs[attribute]]


def load_legacy_h5(model: keras.Model, path: str) -> None:
    """Loads a legacy Keras ``.h5`` weights file (keras.applications' format) into `model`,
    layer by layer in order, its shapes checked first (`check_legacy_h5`). ValueError for a
    file that does not fit or cannot be read."""
    try:
        check_legacy_h5(model, path)
        model.load_weights(path)
    except (ValueError, *DAMAGED_FILE_ERRORS) as err:
        raise ValueError(f"weights file {path!r} is damaged or does not fit {model.name}: "
                         f"{type(err).__name__}: {err}") from None


def load_model_file(path: str) -> keras.Model:
    """The model in the ``.keras`` file at `path`, uncompiled; in safe mode, so that a file
    from elsewhere cannot run code. ValueError for a missing, damaged or foreign file."""
    if not os.path.isfile(path):
        raise ValueError(f"no model file at {path!r}.")
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # noqa: BLE001 (a corrupt zip, a foreign file, an unknown layer)
        raise ValueError(f"cannot load {path!r} as a Keras model: "
                         f"{type(err).__name__}: {err}") from None
