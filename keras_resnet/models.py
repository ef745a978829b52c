"""Public builders: one thin entry per registered model (keras.applications-style names).

Each takes the keyword arguments of `keras_resnet.resnet.build_resnet` (see `ResNetKwargs`).
"""

from __future__ import annotations

from typing import Unpack

import keras

from keras_resnet.registry import get_model
from keras_resnet.resnet import ResNetKwargs


def ResNet18(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """ResNet-18: basic blocks 2-2-2-2, 224x224 ImageNet."""
    return get_model("resnet18", **kwargs)


def ResNet34(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """ResNet-34: basic blocks 3-4-6-3, 224x224 ImageNet."""
    return get_model("resnet34", **kwargs)


def ResNet50(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """ResNet-50: bottleneck blocks 3-4-6-3, 224x224 ImageNet."""
    return get_model("resnet50", **kwargs)


def ResNet101(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """ResNet-101: bottleneck blocks 3-4-23-3, 224x224 ImageNet."""
    return get_model("resnet101", **kwargs)


def ResNet152(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """ResNet-152: bottleneck blocks 3-8-36-3, 224x224 ImageNet."""
    return get_model("resnet152", **kwargs)


def ResNet50V2(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """Pre-activation ResNet-50 (keras.applications' ResNet50V2 layout)."""
    return get_model("resnet50v2", **kwargs)


def ResNet101V2(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """Pre-activation ResNet-101 (keras.applications' ResNet101V2 layout)."""
    return get_model("resnet101v2", **kwargs)


def ResNet152V2(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """Pre-activation ResNet-152 (keras.applications' ResNet152V2 layout)."""
    return get_model("resnet152v2", **kwargs)


def ResNet20(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR ResNet-20: 3 stages of 3 basic blocks, 16/32/64 filters, 32x32."""
    return get_model("resnet20", **kwargs)


def ResNet32(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR ResNet-32: 3 stages of 5 basic blocks, 16/32/64 filters, 32x32."""
    return get_model("resnet32", **kwargs)


def ResNet44(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR ResNet-44: 3 stages of 7 basic blocks, 16/32/64 filters, 32x32."""
    return get_model("resnet44", **kwargs)


def ResNet56(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR ResNet-56: 3 stages of 9 basic blocks, 16/32/64 filters, 32x32."""
    return get_model("resnet56", **kwargs)


def ResNet110(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR ResNet-110: 3 stages of 18 basic blocks, 16/32/64 filters, 32x32."""
    return get_model("resnet110", **kwargs)


def ResNet1202(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR ResNet-1202: 3 stages of 200 basic blocks, 16/32/64 filters, 32x32."""
    return get_model("resnet1202", **kwargs)


def PlainNet18(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """Plain-18: ResNet-18's layers without shortcuts."""
    return get_model("plainnet18", **kwargs)


def PlainNet34(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """Plain-34: ResNet-34's layers without shortcuts."""
    return get_model("plainnet34", **kwargs)


def PlainNet50(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """Plain-50: ResNet-50's layers without shortcuts."""
    return get_model("plainnet50", **kwargs)


def PlainNet101(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """Plain-101: ResNet-101's layers without shortcuts."""
    return get_model("plainnet101", **kwargs)


def PlainNet152(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """Plain-152: ResNet-152's layers without shortcuts."""
    return get_model("plainnet152", **kwargs)


def PlainNet20(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR plain-20: ResNet-20's layers without shortcuts."""
    return get_model("plainnet20", **kwargs)


def PlainNet32(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR plain-32: ResNet-32's layers without shortcuts."""
    return get_model("plainnet32", **kwargs)


def PlainNet44(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR plain-44: ResNet-44's layers without shortcuts."""
    return get_model("plainnet44", **kwargs)


def PlainNet56(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR plain-56: ResNet-56's layers without shortcuts."""
    return get_model("plainnet56", **kwargs)


def PlainNet110(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR plain-110: ResNet-110's layers without shortcuts."""
    return get_model("plainnet110", **kwargs)


def PlainNet1202(**kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """CIFAR plain-1202: ResNet-1202's layers without shortcuts."""
    return get_model("plainnet1202", **kwargs)
