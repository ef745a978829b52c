"""The one generic builder: an ArchSpec plus orthogonal options -> a Keras functional model."""

from __future__ import annotations

import os
import sys
from typing import Any, Literal, TypedDict

import keras

from keras_resnet import blocks
from keras_resnet.preprocessing import PREPROCESSING, with_preprocessing
from keras_resnet.specs import ArchSpec
from keras_resnet.weights_file import load_weights_file, validate_weights_arg

POOLINGS = (None, "avg", "max")


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


def _resolve_input_shape(spec: ArchSpec, input_tensor, input_shape, include_top: bool):
    if input_tensor is not None:
        shape = tuple(input_tensor.shape[1:])
    elif input_shape is not None:
        shape = tuple(input_shape)
    elif include_top:
        shape = (spec.default_input_size, spec.default_input_size, 3)
    else:
        shape = (None, None, 3)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels); got {shape}.")
    height, width, channels = shape
    if channels is None or channels < 1:
        raise ValueError(f"input_shape needs a positive channel count; got {shape}.")
    for size in (height, width):
        if size is not None and size < spec.total_stride:
            raise ValueError(
                f"input_shape {shape} is too small: this network downsamples by "
                f"{spec.total_stride}, so height and width must be at least {spec.total_stride} "
                f"(its default is {spec.default_input_size}x{spec.default_input_size})."
            )
    return shape


def _validate(spec, include_top, pooling, classes, shortcut, bottleneck_stride):
    if keras.config.image_data_format() != "channels_last":
        raise ValueError(
            "keras_resnet builds channels_last models only; call "
            "keras.config.set_image_data_format('channels_last') first."
        )
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}.")
    if include_top and (isinstance(classes, bool) or not isinstance(classes, int) or classes < 1):
        raise ValueError(f"classes must be a positive integer; got {classes!r}.")
    if shortcut not in ("A", "B"):
        raise ValueError(f"shortcut must be 'A' (zero-pad) or 'B' (projection); got {shortcut!r}.")
    if bottleneck_stride not in ("1x1", "3x3"):
        raise ValueError(
            "bottleneck_stride must be '1x1' (v1, the paper) or '3x3' (v1.5, torchvision); "
            f"got {bottleneck_stride!r}."
        )


def _stem(x, spec: ArchSpec, opts: blocks.BlockOptions):
    if spec.stem == "cifar":
        return blocks.conv_bn(x, spec.stages[0].filters, 3, 1, "conv1", opts)
    if spec.family == "preact":  # keras.applications' V2 stem: a biased conv, no BN/ReLU.
        x = opts.layers.ZeroPadding2D(3, name="conv1_pad")(x)
        x = opts.layers.Conv2D(64, 7, strides=2, kernel_initializer=opts.kernel_initializer,
                          name="conv1_conv")(x)
    else:
        x = blocks.conv_bn(x, 64, 7, 2, "conv1", opts)  # conv1_pad, conv1_conv, _bn, _relu
    x = opts.layers.ZeroPadding2D(1, name="pool1_pad")(x)
    return opts.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)


def _stages(x, spec: ArchSpec, opts: blocks.BlockOptions):
    for stage in spec.stages:
        for i in range(stage.blocks):
            at = 0 if spec.stride_at == "first" else stage.blocks - 1
            stride = stage.stride if i == at else 1
            name = f"{stage.name}_block{i + 1}"
            if spec.block == "basic":
                x = blocks.basic_block(x, stage.filters, stride, name, opts)
            elif spec.block == "bottleneck":
                x = blocks.bottleneck_block(x, stage.filters, stride, name, opts)
            else:
                x = blocks.preact_bottleneck_block(x, stage.filters, stride, name, opts,
                                                   first=i == 0)
    if spec.family == "preact":
        x = opts.layers.BatchNormalization(epsilon=blocks.BN_EPSILON, momentum=opts.bn_momentum,
                                      name="post_bn")(x)
        x = opts.layers.Activation("relu", name="post_relu")(x)
    return x


def assemble(spec: ArchSpec, opts: blocks.BlockOptions, inputs, include_top: bool = True,
             pooling: str | None = None, classes: int = 1000,
             classifier_activation: str | None = "softmax"):
    """The output tensor of the network `spec` on `inputs`, built with `opts.layers` (Keras 3's
    for the zoo; tf_keras' for the QAT twin, from this same code)."""
    x = _stages(_stem(inputs, spec, opts), spec, opts)
    if include_top or pooling == "avg":
        x = opts.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = opts.layers.GlobalMaxPooling2D(name="max_pool")(x)
    if include_top:
        x = opts.layers.Dense(classes, activation=classifier_activation, dtype="float32",
                              name="predictions")(x)
    return x


def _ensure_recursion_limit(spec: ArchSpec) -> None:
    """Keras walks a functional graph recursively; ResNet-1202's ~4,000 layers need a deeper
    Python stack than the default 1,000 frames. Raises the limit (never lowers it)."""
    needed = 1000 + 30 * sum(stage.blocks for stage in spec.stages)
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


def build_resnet(
    spec: ArchSpec,
    *,
    residual: bool = True,
    include_top: bool = True,
    weights: str | os.PathLike | None = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: Literal["avg", "max"] | None = None,
    classes: int | None = None,
    classifier_activation: str | None = "softmax",
    name: str | None = None,
    shortcut: Literal["A", "B"] | None = None,
    bottleneck_stride: Literal["1x1", "3x3"] = "1x1",
    bn_momentum: float = 0.9,
    kernel_initializer: str = "he_normal",
    zero_init_residual: bool = False,
    include_preprocessing: bool | str = False,
) -> keras.Model:
    """Builds the network `spec` describes, with keras.applications' signature.

    Args:
        spec: the architecture (see `keras_resnet.specs`).
        residual: False builds the plain counterpart (same layers, no shortcuts).
        include_top: end with global average pooling and a `classes`-way dense layer.
        weights: None (random init), a pretrained tag, or a ``.weights.h5`` file path.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: (height, width, channels); the default is the family's training size with
            the top, ``(None, None, 3)`` without.
        pooling: without the top, None (4D features), "avg" or "max".
        classes: head size; defaults to the family's dataset (1000 ImageNet, 10 CIFAR).
        classifier_activation: activation of the head; None gives logits. The head always
            computes in float32, so logits stay float32 under mixed precision.
        name: model name; defaults to the registry name.
        shortcut: "A" (parameter-free: subsample + zero-pad) or "B" (1x1 projection) for the
            blocks that change shape; defaults to the family's (A for CIFAR, B for ImageNet).
        bottleneck_stride: "1x1" puts a bottleneck's stride in its first 1x1 conv (v1, the
            paper); "3x3" in its 3x3 conv (v1.5, torchvision's layout).
        bn_momentum: BatchNormalization moving-average momentum.
        kernel_initializer: initializer of every conv (He et al. use "he_normal").
        zero_init_residual: start each block's last BN at gamma=0 (Goyal et al. 2017).
        include_preprocessing: put the input normalization into the model, which then takes
            RGB pixel values 0..255: True for what the pretrained `weights` expect, or a key
            of `keras_resnet.preprocessing.PREPROCESSING` ("caffe", "tf", "torch",
            "cifar10"). The network is nested inside, under its own name.
    """
    shortcut = spec.default_shortcut if shortcut is None else shortcut
    classes = spec.default_classes if classes is None else classes
    _validate(spec, include_top, pooling, classes, shortcut, bottleneck_stride)
    shape = _resolve_input_shape(spec, input_tensor, input_shape, include_top)
    model_name = name or f"resnet{spec.depth}"
    published = validate_weights_arg(weights, model_name, shape[-1], include_top, classes)
    preprocessing = _preprocessing_mode(include_preprocessing, published, weights)

    _ensure_recursion_limit(spec)
    opts = blocks.BlockOptions(residual, shortcut, bottleneck_stride, bn_momentum,
                               kernel_initializer, zero_init_residual)
    if input_tensor is None:
        inputs = keras.layers.Input(shape=shape, name="input")
    elif keras.backend.is_keras_tensor(input_tensor):
        inputs = input_tensor
    else:
        inputs = keras.layers.Input(tensor=input_tensor, shape=shape, name="input")
    x = assemble(spec, opts, inputs, include_top, pooling, classes, classifier_activation)
    sources = inputs
    if input_tensor is not None:  # the graph may start before input_tensor
        sources = keras.utils.get_source_inputs(input_tensor)
        sources = sources[0] if len(sources) == 1 else sources
    model = keras.Model(sources, x, name=model_name)
    if published is not None:
        from keras_resnet import pretrained

        pretrained.load(model, published)
    elif weights is not None:
        load_weights_file(model, os.fspath(weights))
    if preprocessing is not None:
        model = with_preprocessing(model, preprocessing)
    return model


def _preprocessing_mode(include_preprocessing: bool | str, published, weights) -> str | None:
    """The PREPROCESSING key `include_preprocessing` asks for, or None; raises early."""
    if include_preprocessing is False or include_preprocessing is None:
        return None
    if include_preprocessing is True:
        if published is None:
            raise ValueError(
                f"include_preprocessing=True takes the preprocessing of pretrained weights, "
                f"but weights={weights!r} is not a published tag; name the preprocessing "
                f"instead, one of {sorted(PREPROCESSING)}.")
        return published.preprocessing
    if include_preprocessing not in PREPROCESSING:
        raise ValueError(f"include_preprocessing={include_preprocessing!r}: choose True (the "
                         f"pretrained weights' own) or one of {sorted(PREPROCESSING)}.")
    return include_preprocessing
