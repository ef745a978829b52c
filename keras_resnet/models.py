"""The public constructors: build the network, then load its weights, then (optionally) put the
input preprocessing in front. `build_resnet(spec)`, `get_model(name)`, `cifar_resnet(depth)`,
and one thin entry per registered model with keras.applications-style names (`ResNet50`).
"""

from __future__ import annotations

import os
from typing import Any, Literal, TypedDict, Unpack

import keras

from keras_resnet import registry
from keras_resnet.builder import build_network
from keras_resnet.features import feature_model
from keras_resnet.preprocessing import PREPROCESSING, with_preprocessing
from keras_resnet.specs import ArchSpec, arch_name, cifar_spec
from keras_resnet.weights import load_weights, resolve
from keras_resnet.weights.load import KERAS_HUB
from keras_resnet.weights.table import PretrainedWeights


class ResNetKwargs(TypedDict, total=False):
    """Keyword arguments every public builder takes (see `build_resnet`)."""

    include_top: bool
    weights: str | os.PathLike | None
    input_tensor: Any
    input_shape: tuple[int | None, int | None, int] | None
    pooling: Literal["avg", "max"] | None
    classes: int | None
    classifier_activation: str | None
    name: str | None
    shortcut: Literal["A", "B"] | None
    bottleneck_stride: Literal["1x1", "3x3"]
    bn_momentum: float
    kernel_initializer: str
    zero_init_residual: bool
    include_preprocessing: bool | str
    features_only: bool



def build_resnet(spec: ArchSpec, *, residual: bool = True,
                 weights: str | os.PathLike | None = None, input_tensor: Any = None,
                 include_preprocessing: bool | str = False, features_only: bool = False,
                 **kwargs) -> keras.Model:
    """The network `spec` describes, with keras.applications' signature: built first
    (`keras_resnet.builder.ResNet`, whose arguments `kwargs` are), then `weights` loaded.

    Args:
        spec: the architecture (see `keras_resnet.specs`).
        residual: False builds the plain counterpart (same layers, no shortcuts).
        weights: None (random init), a pretrained tag (``keras_resnet.weights.tags(name)``),
            or a ``.weights.h5`` file path. Checked before anything is built.
        input_tensor: optional Keras tensor to build the model on (the model is then a plain
            functional one that records no build arguments, as keras.applications builds it).
        include_preprocessing: put the input normalization into the model, which then takes
            RGB pixel values 0..255: True for what the pretrained `weights` expect, or a key
            of `keras_resnet.preprocessing.PREPROCESSING` ("caffe", "tf", "torch",
            "cifar10"). The network is nested inside, under its own name.
        features_only: return the per-stage feature maps, a dict ``{"conv2": ..., ...}``
            (`keras_resnet.features.feature_model`), instead of the classifier: the network
            is built without its top, and the weights' top is not loaded.
        **kwargs: include_top, input_shape, pooling, classes, classifier_activation, name,
            shortcut, bottleneck_stride, bn_momentum, kernel_initializer, zero_init_residual
            (see `keras_resnet.builder.ResNet`).
    """
    if features_only:
        if kwargs.get("include_top") or kwargs.get("pooling"):
            raise ValueError("features_only=True returns the stages' feature maps: leave "
                             "include_top and pooling unset.")
        kwargs["include_top"] = False
    if input_tensor is not None:
        channels = input_tensor.shape[-1]
    else:
        channels = (kwargs.get("input_shape") or (None, None, 3))[-1]
    classes = kwargs.get("classes")
    row = resolve(weights, arch_name(spec, residual), channels, kwargs.get("include_top", True),
                  spec.default_classes if classes is None else classes)
    needed = row.bottleneck_stride if row is not None else None
    if (isinstance(weights, str) and weights.startswith(KERAS_HUB)
            and spec.block == "bottleneck"):
        needed = "3x3"  # keras-hub's v1 bottleneck strides in the 3x3 conv
    if needed is not None:
        given = kwargs.get("bottleneck_stride")
        if given is not None and given != needed:
            layout = {"1x1": "v1, the paper's", "3x3": "v1.5, torchvision's"}
            raise ValueError(
                f"weights={weights!r} were trained with the stride in the {needed} conv "
                f"({layout[needed]} layout), and the model asks for "
                f"bottleneck_stride={given!r}: set bottleneck_stride={needed!r} (or leave "
                "it unset).")
        kwargs["bottleneck_stride"] = needed
    preprocessing = _preprocessing_mode(include_preprocessing, row, weights)
    model = build_network(spec, residual=residual, input_tensor=input_tensor, **kwargs)
    if weights is not None:
        load_weights(model, row if row is not None else weights)
    if features_only:
        model = feature_model(model)
    if preprocessing is not None:
        model = with_preprocessing(model, preprocessing)
    return model


def _preprocessing_mode(include_preprocessing: bool | str, row: PretrainedWeights | None,
                        weights) -> str | None:
    """The PREPROCESSING key `include_preprocessing` asks for, or None; raises early."""
    if include_preprocessing is False or include_preprocessing is None:
        return None
    if include_preprocessing is True:
        if row is None:
            raise ValueError(
                f"include_preprocessing=True takes the preprocessing of pretrained weights, "
                f"but weights={weights!r} is not a published tag; name the preprocessing "
                f"instead, one of {sorted(PREPROCESSING)}.")
        return row.preprocessing
    if include_preprocessing not in PREPROCESSING:
        raise ValueError(f"include_preprocessing={include_preprocessing!r}: choose True (the "
                         f"pretrained weights' own) or one of {sorted(PREPROCESSING)}.")
    return include_preprocessing


def get_model(model: str, /, **kwargs: Unpack[ResNetKwargs]) -> keras.Model:
    """The registered `model` (case-insensitive; see `list_models`) built with `kwargs`, those
    of `build_resnet` (``name`` defaults to the registry name)."""
    entry = registry.get_entry(model)
    kwargs.setdefault("name", entry.name)
    return build_resnet(entry.spec, residual=entry.residual, **kwargs)


def cifar_resnet(depth: int, residual: bool = True, **kwargs) -> keras.Model:
    """A CIFAR ResNet (or plain net) of any depth 6n+2, registered or not."""
    spec = cifar_spec(depth)
    kwargs.setdefault("name", arch_name(spec, residual))
    return build_resnet(spec, residual=residual, **kwargs)


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
