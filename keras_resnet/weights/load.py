"""The `weights=` argument resolved and loaded into a built model, whatever the file's format.

`resolve` checks the argument against the table before anything is built; `load_weights` fills
an already-built model (never builds the one it fills): a tag's row goes to the reader of its
format, a path to the ``.weights.h5`` reader.
"""

from __future__ import annotations

import os

import keras

from keras_resnet.builder import ResNet, build_args
from keras_resnet.weights import keras_h5
from keras_resnet.weights.download import fetch
from keras_resnet.weights.table import PRETRAINED, PretrainedWeights, find

WEIGHTS_SUFFIX = keras_h5.WEIGHTS_SUFFIX
#: `weights=` values that load a keras-hub preset (`keras_resnet.weights.keras_hub`).
KERAS_HUB = "keras_hub:"


def is_pretrained_tag(weights: object) -> bool:
    """True when `weights` names published weights (a tag of the table) rather than a file."""
    return isinstance(weights, str) and any(weights == tag for _, tag, _ in PRETRAINED)


def resolve(weights: object, model: str, channels: int | None, include_top: bool = True,
            classes: int | None = None) -> PretrainedWeights | None:
    """Checks `weights` for architecture `model` (a registry name); returns the table row for
    a tag, None for None or a file. Raises ValueError unless `weights` is None, a tag published
    for this model, or an existing ``.weights.h5`` file."""
    if weights is None:
        return None
    if is_pretrained_tag(weights):
        if channels != 3:
            raise ValueError(
                f"weights={weights!r} were trained on RGB images, so the input must have 3 "
                f"channels; got {channels}. Use weights=None for other inputs.")
        row = find(model, weights, include_top)
        if include_top and classes is not None and classes != row.classes:
            raise ValueError(
                f"weights={weights!r} have a {row.classes}-class top; got classes={classes}. "
                "Use include_top=False (and a head of your own) for other classes.")
        return row
    known = sorted({tag for _, tag, _ in PRETRAINED})
    if isinstance(weights, str) and weights.startswith(KERAS_HUB):
        if not weights[len(KERAS_HUB):]:
            raise ValueError(f"weights={weights!r}: name a keras-hub preset after "
                             f"'{KERAS_HUB}', e.g. '{KERAS_HUB}resnet_50_imagenet'.")
        if channels != 3:
            raise ValueError(f"weights={weights!r} were trained on RGB images, so the input "
                             f"must have 3 channels; got {channels}.")
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"weights must be None, a tag ({', '.join(known)}) or a path; got "
                         f"{type(weights).__name__}.")
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise ValueError(f"weights={path!r} is neither a pretrained tag ({', '.join(known)}) "
                         "nor an existing file.")
    if not path.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"weights file {path!r} must be a Keras 3 '{WEIGHTS_SUFFIX}' file "
                         "(written by model.save_weights()).")
    return None


def load_weights(model: keras.Model, weights: str | os.PathLike | PretrainedWeights) -> None:
    """Loads a table row's weights, or a ``.weights.h5`` file, into the built `model`."""
    if isinstance(weights, PretrainedWeights):
        _load_row(model, weights)
    elif isinstance(weights, str) and weights.startswith(KERAS_HUB):
        from keras_resnet.weights.keras_hub import load_preset

        load_preset(model, weights[len(KERAS_HUB):])
    else:
        keras_h5.load_weights_file(model, os.fspath(weights))


def _load_row(model: keras.Model, row: PretrainedWeights) -> None:
    """Loads `row`'s weights into `model` (built with the row's architecture and top)."""
    path = fetch(row)
    if row.source_format == "keras_weights_h5":
        if row.include_top:
            keras_h5.load_weights_file(model, path)
            return
        # The file has the top: load it into the same network with its head, copy by name.
        args = build_args(model) | {"include_top": True, "classes": row.classes,
                                    "pooling": None, "classifier_activation": None}
        full = ResNet(**args)
        keras_h5.load_weights_file(full, path)
        for layer in model.layers:
            if layer.weights:
                layer.set_weights(full.get_layer(layer.name).get_weights())
    elif row.source_format == "torchvision_pth":
        from keras_resnet.weights.torch_checkpoint import port_torchvision_resnet, read_state_dict

        port_torchvision_resnet(read_state_dict(path), model)
    elif row.source_format == "keras_applications_h5":
        from keras_resnet.weights.keras_applications import port_weights

        port_weights(_keras_applications_model(model, row, path), model)
    else:
        raise ValueError(f"unknown weights format {row.source_format!r}")


def _keras_applications_model(model: keras.Model, row: PretrainedWeights, path: str):
    builders = {"resnet50": "ResNet50", "resnet101": "ResNet101", "resnet152": "ResNet152",
                "resnet50v2": "ResNet50V2", "resnet101v2": "ResNet101V2",
                "resnet152v2": "ResNet152V2"}
    builder = getattr(keras.applications, builders[row.model])
    kwargs = {"include_top": row.include_top, "weights": None,
              "input_shape": tuple(model.input_shape[1:])}
    if not row.include_top:
        kwargs["pooling"] = build_args(model)["pooling"]
    source = builder(**kwargs)
    keras_h5.load_legacy_h5(source, path)
    return source
