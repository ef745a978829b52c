"""The SavedModel an export starts from: a ``serving_default`` signature taking ``image``
(batch, height, width, 3) float32 and returning ``probabilities`` (a softmax at the end, what
mobile classifiers show as scores) or ``logits``, optionally with the normalization inside so
that an app feeds raw RGB pixel values 0..255."""

from __future__ import annotations

import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_resnet.common.atomic_io import sync
from keras_resnet.preprocessing import with_normalization

INPUT_NAME = "image"
#: What the exported output holds: the signature's output name.
SCORES = ("probabilities", "logits")


def ends_in_softmax(model: keras.Model) -> bool:
    """Whether `model`'s output is already a softmax (its last layer's activation)."""
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return True
    return last.get_config().get("activation") == "softmax"


def serving_model(model: keras.Model, mean: np.ndarray | None = None,
                  std: np.ndarray | None = None, scores: str = "probabilities") -> keras.Model:
    """`model` with `mean`/`std` normalization in front (raw 0..255 input) when given, and a
    softmax at the end when `scores` is "probabilities" and the model has none."""
    if scores not in SCORES:
        raise ValueError(f"scores must be one of {SCORES}, not {scores!r}.")
    has_softmax = ends_in_softmax(model)
    if scores == "logits" and has_softmax:
        raise ValueError(f"{model.name} ends in a softmax, so its logits are not available: "
                         "export it with --scores=probabilities, or export a model built "
                         "with classifier_activation=None.")
    if mean is not None:
        model = with_normalization(model, mean, std, input_name=INPUT_NAME)
    if scores == "logits" or has_softmax:
        return model
    return keras.Model(model.inputs, keras.layers.Softmax(name="probabilities")(model.output),
                       name=f"{model.name}_probabilities")


def check_fixed_size(model: keras.Model) -> tuple[int, int]:
    """(height, width) of `model`'s input; TFLite needs them fixed."""
    shape = model.input_shape
    if len(shape) != 4 or shape[1] is None or shape[2] is None or shape[3] != 3:
        raise ValueError(f"the model's input shape is {shape}: TFLite export needs a fixed "
                         "spatial size, (None, height, width, 3). Rebuild the model with "
                         "input_shape=(height, width, 3).")
    return shape[1], shape[2]


def write_saved_model(model: keras.Model, path: str, output_name: str | None) -> None:
    """Writes `model`'s SavedModel, its output named `output_name` (None: a model whose
    output is a dict, one output per key), to the folder `path`, replacing it only once
    complete."""
    height, width = check_fixed_size(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = tf.TensorSpec((None, height, width, 3), tf.float32, name=INPUT_NAME)
    endpoint = (model if output_name is None
                else (lambda image: {output_name: model(image)}))
    archive.add_endpoint("serving_default", endpoint, [spec])
    parent = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-saved_model-")
    try:
        archive.write_out(tmp, verbose=False)
        sync(tmp)
        if os.path.exists(path):
            shutil.rmtree(path)
        os.replace(tmp, path)
        sync(path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
