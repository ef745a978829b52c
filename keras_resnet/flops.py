"""Multiply-adds and depth of a built model, counted layer by layer.

A convolution costs ``H_out * W_out * C_in * C_out * K_h * K_w`` multiply-adds (divided by its
groups), a dense layer ``in * out``: the count He et al. use for their FLOPs. BatchNorm, ReLU,
pooling, additions and the parameter-free option-A shortcut are not counted, as in the paper.

At 224x224 this gives, in 10^9 (v1 = stride in the first 1x1, the paper's layout; v1.5 = stride in
the 3x3), against the paper's Table 1:

=========  =====  =====  =====
model      paper  v1     v1.5
=========  =====  =====  =====
ResNet18   1.8    1.81   1.81
ResNet34   3.6    3.66   3.66
ResNet50   3.8    3.86   4.09
ResNet101  7.6    7.57   7.80
ResNet152  11.3   11.28  11.51
=========  =====  =====  =====

Where the paper's rounding differs: it gives one decimal and rounds 18/34/50 down (1.81 -> 1.8,
3.66 -> 3.6, 3.86 -> 3.8) while 101/152 round to nearest; the counts include the projection
shortcuts. Basic blocks have no 1x1 to move the stride to, so 18/34 are the same in both layouts.
"""

from __future__ import annotations

import math

import keras


def _layers(model: keras.Model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        else:
            yield layer


def layer_flops(layer: keras.layers.Layer) -> int:
    """Multiply-adds of one Conv2D or Dense layer at its built output shape (0 for others)."""
    if isinstance(layer, keras.layers.Conv2D):
        _, height, width, _ = layer.output.shape
        if height is None or width is None:
            raise ValueError(
                f"count_flops needs a fixed input size, but layer '{layer.name}' has output "
                f"shape {layer.output.shape}. Build the model with e.g. input_shape=(224, 224, 3)."
            )
        kh, kw, cin_per_group, cout = layer.kernel.shape
        return height * width * kh * kw * cin_per_group * cout
    if isinstance(layer, keras.layers.Dense):
        return math.prod(layer.kernel.shape)
    return 0


def count_flops(model: keras.Model) -> int:
    """Multiply-adds of one forward pass of one image through `model` (the paper's "FLOPs")."""
    return sum(layer_flops(layer) for layer in _layers(model))


def count_depth(model: keras.Model) -> int:
    """Weighted layers on the main path (convs and dense, shortcut projections excluded): the
    number in a ResNet's name."""
    return sum(
        isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
        and not layer.name.endswith("_0_conv")
        for layer in _layers(model)
    )


def count_trainable_params(model: keras.Model) -> int:
    """Trainable parameters (`count_params()` also counts BN's moving mean and variance)."""
    return sum(math.prod(w.shape) for w in model.trainable_weights)
