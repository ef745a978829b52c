"""Augmentation and normalization as Keras preprocessing layers, run on the device inside the
model being fit: the JAX path's counterpart of the tf.data augmentation in
`keras_resnet.data.pipeline`.

``cifar``: a random shift of up to 4 pixels with zero (black) fill and a horizontal flip, the
paper's "pad 4, random 32x32 crop, flip" (the shift is drawn per image and rounded to whole
pixels by nearest-neighbour sampling). The random layers are identities at inference, so the
same wrapper also evaluates.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from keras_resnet.preprocessing import normalization_layer

#: The augmentations the device path has; ImageNet's random-resized crop needs tf.data.
DEVICE_AUGMENTS = ("cifar", "none")
CIFAR_SHIFT_PIXELS = 4


def with_input_layers(backbone: keras.Model, mean: np.ndarray, std: np.ndarray,
                      augment: str, seed: int | None = None) -> keras.Model:
    """`backbone` behind augmentation (training only) and per-channel normalization: a model
    that takes raw 0..255 RGB pixels. The backbone's weights are shared, not copied."""
    if augment not in DEVICE_AUGMENTS:
        raise ValueError(f"augment={augment!r} is not available on the device path (it has "
                         f"{DEVICE_AUGMENTS}); ImageNet-style random-resized crops need the "
                         "tf.data pipeline (--input_pipeline=tf.data, TensorFlow backend).")
    size = backbone.input_shape[1]
    inputs = keras.Input(backbone.input_shape[1:], name="pixels")
    x = inputs
    if augment == "cifar":
        factor = CIFAR_SHIFT_PIXELS / size
        x = layers.RandomTranslation(factor, factor, fill_mode="constant", fill_value=0.0,
                                     interpolation="nearest", seed=seed, dtype="float32",
                                     name="random_shift")(x)
    if augment != "none":
        x = layers.RandomFlip("horizontal", seed=seed, dtype="float32", name="random_flip")(x)
    x = normalization_layer(mean, std, dtype="float32")(x)
    return keras.Model(inputs, backbone(x), name=f"{backbone.name}_with_input_layers")
