"""Residual blocks: basic, bottleneck (v1 / v1.5) and pre-activation bottleneck (v2).

Each block takes a Keras tensor and returns one, naming its layers as keras.applications does
(``conv4_block6_2_bn``): ``_0_*`` is the shortcut, ``_1_*``/``_2_*``/``_3_*`` the residual branch,
``_add`` the sum and ``_out`` the block output. With ``residual=False`` the same layers are built
without the shortcut: the paper's plain networks.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import keras

from keras_resnet.layers import ZeroPadChannels
from keras_resnet.specs import BOTTLENECK_EXPANSION

#: keras.applications' BatchNormalization epsilon; kept so that its weights port exactly.
BN_EPSILON = 1.001e-5


@dataclasses.dataclass(frozen=True)
class BlockOptions:
    """Switches shared by all blocks of one network."""

    residual: bool = True
    shortcut: Literal["A", "B"] = "B"
    bottleneck_stride: Literal["1x1", "3x3"] = "1x1"
    bn_momentum: float = 0.9
    kernel_initializer: str = "he_normal"
    zero_init_residual: bool = False
    #: The layers to build with: Keras 3's, or tf_keras' for the QAT twin
    #: (keras_resnet/export/qat.py), and the option-A channel-padding layer of that Keras.
    layers: Any = keras.layers
    pad_channels: Any = ZeroPadChannels


def conv_bn(x, filters: int, kernel: int, stride: int, name: str, opts: BlockOptions,
            relu: bool = True, zero_gamma: bool = False):
    """Conv (no bias) + BatchNorm (+ ReLU), named ``{name}_conv``, ``_bn``, ``_relu``.

    A strided 3x3 conv pads explicitly by 1 on every side (``{name}_pad``), as Caffe and
    torchvision do; ``padding="same"`` would pad only bottom/right and shift the sampling grid.
    """
    padding = "valid" if kernel == 1 else "same"
    if kernel > 1 and stride > 1:
        x = opts.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        padding = "valid"
    x = opts.layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False,
                      kernel_initializer=opts.kernel_initializer, name=f"{name}_conv")(x)
    x = opts.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=opts.bn_momentum,
                                  gamma_initializer="zeros" if zero_gamma else "ones",
                                  name=f"{name}_bn")(x)
    if relu:
        x = opts.layers.Activation("relu", name=f"{name}_relu")(x)
    return x


def shortcut(x, channels: int, stride: int, name: str, opts: BlockOptions, bn: bool = True):
    """The shortcut of a block whose output is `channels` wide and `stride` times smaller.

    Identity when nothing changes; otherwise option B (1x1 projection, + BN when `bn`) or option A
    (subsample by `stride`, zero-pad the extra channels: no parameters).
    """
    if stride == 1 and x.shape[-1] == channels:
        return x
    if opts.shortcut == "B":
        if not bn:
            return opts.layers.Conv2D(channels, 1, strides=stride,
                                 kernel_initializer=opts.kernel_initializer,
                                 name=f"{name}_0_conv")(x)
        return conv_bn(x, channels, 1, stride, f"{name}_0", opts, relu=False)
    if stride > 1:
        x = opts.layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
    if x.shape[-1] != channels:
        x = opts.pad_channels(channels, name=f"{name}_0_pad")(x)
    return x


def _merge(residual_branch, short, name: str, opts: BlockOptions):
    if opts.residual:
        residual_branch = opts.layers.Add(name=f"{name}_add")([short, residual_branch])
    return opts.layers.Activation("relu", name=f"{name}_out")(residual_branch)


def basic_block(x, filters: int, stride: int, name: str, opts: BlockOptions):
    """Two 3x3 convs (the paper's Fig. 2 left); the first one carries the stride."""
    short = shortcut(x, filters, stride, name, opts) if opts.residual else None
    y = conv_bn(x, filters, 3, stride, f"{name}_1", opts)
    y = conv_bn(y, filters, 3, 1, f"{name}_2", opts, relu=False, zero_gamma=opts.zero_init_residual)
    return _merge(y, short, name, opts)


def bottleneck_block(x, filters: int, stride: int, name: str, opts: BlockOptions):
    """1x1 reduce, 3x3, 1x1 expand x4 (the paper's Fig. 5 right).

    The stride sits in the first 1x1 (v1, the paper and keras.applications) or in the 3x3
    (v1.5, torchvision), by ``opts.bottleneck_stride``.
    """
    out = filters * BOTTLENECK_EXPANSION
    short = shortcut(x, out, stride, name, opts) if opts.residual else None
    s1, s3 = (stride, 1) if opts.bottleneck_stride == "1x1" else (1, stride)
    y = conv_bn(x, filters, 1, s1, f"{name}_1", opts)
    y = conv_bn(y, filters, 3, s3, f"{name}_2", opts)
    y = conv_bn(y, out, 1, 1, f"{name}_3", opts, relu=False, zero_gamma=opts.zero_init_residual)
    return _merge(y, short, name, opts)


def preact_bottleneck_block(x, filters: int, stride: int, name: str, opts: BlockOptions,
                            first: bool):
    """Pre-activation bottleneck (He et al. 2016), layer for layer keras.applications' `block2`.

    BN-ReLU comes before the convs; the output is the plain sum (no ReLU after the add). The
    first block of a stage projects the pre-activated input; the others subsample the raw input.
    """
    out = filters * BOTTLENECK_EXPANSION
    pre = opts.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=opts.bn_momentum,
                                    name=f"{name}_preact_bn")(x)
    pre = opts.layers.Activation("relu", name=f"{name}_preact_relu")(pre)
    short = None
    if opts.residual:
        if first:  # keras' V2 projects the pre-activated input, with a bias and no BN
            short = shortcut(pre, out, stride, name, opts, bn=False)
        elif stride > 1:
            short = opts.layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
        else:
            short = x
    y = opts.layers.Conv2D(filters, 1, use_bias=False, kernel_initializer=opts.kernel_initializer,
                      name=f"{name}_1_conv")(pre)
    y = opts.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=opts.bn_momentum,
                                  name=f"{name}_1_bn")(y)
    y = opts.layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = opts.layers.ZeroPadding2D(1, name=f"{name}_2_pad")(y)
    y = opts.layers.Conv2D(filters, 3, strides=stride, use_bias=False,
                      kernel_initializer=opts.kernel_initializer, name=f"{name}_2_conv")(y)
    y = opts.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=opts.bn_momentum,
                                  name=f"{name}_2_bn")(y)
    y = opts.layers.Activation("relu", name=f"{name}_2_relu")(y)
    y = opts.layers.Conv2D(out, 1, kernel_initializer=opts.kernel_initializer,
                      name=f"{name}_3_conv")(y)
    if short is None:
        return y
    return opts.layers.Add(name=f"{name}_out")([short, y])
