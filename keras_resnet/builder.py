"""The one generic builder: an ArchSpec plus orthogonal options -> a Keras functional model.

Architecture only: weights are loaded afterwards by `keras_resnet.weights`, and the public
constructors (`keras_resnet.models`) do both.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Literal

import keras

from keras_resnet import blocks
from keras_resnet.specs import ArchSpec, arch_name, architectures, spec_for

POOLINGS = (None, "avg", "max")


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
        x = opts.layers.Dense(classes, activation=classifier_activation, dtype=_head_dtype(),
                              name="predictions")(x)
    return x


def _head_dtype() -> str | None:
    """float32 under a mixed-precision policy (logits and loss stay float32); otherwise the
    policy's own, so that a model built under float64 (the exporter's exact reference) is
    float64 through its head."""
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype in ("float16", "bfloat16") else None


def _ensure_recursion_limit(spec: ArchSpec) -> None:
    """Keras walks a functional graph recursively; ResNet-1202's ~4,000 layers need a deeper
    Python stack than the default 1,000 frames. Raises the limit (never lowers it)."""
    needed = 1000 + 30 * sum(stage.blocks for stage in spec.stages)
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


#: The build arguments a `ResNet` records in its config, in constructor order.
BUILD_ARGS = ("family", "depth", "residual", "include_top", "input_shape", "pooling", "classes",
              "classifier_activation", "shortcut", "bottleneck_stride", "bn_momentum",
              "kernel_initializer", "zero_init_residual")


def _network(spec: ArchSpec, residual: bool, include_top: bool, input_tensor, input_shape,
             pooling, classes, classifier_activation, shortcut, bottleneck_stride, bn_momentum,
             kernel_initializer, zero_init_residual):
    """(inputs, outputs, resolved arguments) of the network; checks every argument first."""
    shortcut = spec.default_shortcut if shortcut is None else shortcut
    classes = spec.default_classes if classes is None else classes
    _validate(spec, include_top, pooling, classes, shortcut, bottleneck_stride)
    shape = _resolve_input_shape(spec, input_tensor, input_shape, include_top)
    _ensure_recursion_limit(spec)
    opts = blocks.BlockOptions(residual, shortcut, bottleneck_stride, bn_momentum,
                               kernel_initializer, zero_init_residual)
    if input_tensor is None:
        inputs = keras.layers.Input(shape=shape, name="input")
    elif keras.backend.is_keras_tensor(input_tensor):
        inputs = input_tensor
    else:
        inputs = keras.layers.Input(tensor=input_tensor, shape=shape, name="input")
    outputs = assemble(spec, opts, inputs, include_top, pooling, classes, classifier_activation)
    resolved = {"family": spec.family, "depth": spec.depth, "residual": residual,
                "include_top": include_top, "input_shape": shape, "pooling": pooling,
                "classes": classes, "classifier_activation": classifier_activation,
                "shortcut": shortcut, "bottleneck_stride": bottleneck_stride,
                "bn_momentum": bn_momentum, "kernel_initializer": kernel_initializer,
                "zero_init_residual": zero_init_residual}
    return inputs, outputs, resolved


@keras.saving.register_keras_serializable(package="keras_resnet")
class ResNet(keras.Model):
    """A ResNet (or its plain counterpart) as a functional model that records how it was built.

    Its config is its constructor's arguments (`BUILD_ARGS` and the name), so a `.keras` file,
    the weights loaders and the exporter read the architecture from the model instead of
    guessing it from layer names; `from_config` rebuilds the same graph. Weights are not an
    argument: they are loaded after the build (`keras_resnet.weights`).

    Args:
        family, depth: the architecture in the spec table (`keras_resnet.specs.spec_for`).
        residual: False builds the plain counterpart (same layers, no shortcuts).
        include_top: end with global average pooling and a `classes`-way dense layer.
        input_shape: (height, width, channels); the default is the family's training size with
            the top, ``(None, None, 3)`` without.
        pooling: without the top, None (4D features), "avg" or "max".
        classes: head size; defaults to the family's dataset (1000 ImageNet, 10 CIFAR).
        classifier_activation: activation of the head; None gives logits. The head always
            computes in float32, so logits stay float32 under mixed precision.
        shortcut: "A" (parameter-free: subsample + zero-pad) or "B" (1x1 projection) for the
            blocks that change shape; defaults to the family's (A for CIFAR, B for ImageNet).
        bottleneck_stride: "1x1" puts a bottleneck's stride in its first 1x1 conv (v1, the
            paper); "3x3" in its 3x3 conv (v1.5, torchvision's layout).
        bn_momentum: BatchNormalization moving-average momentum.
        kernel_initializer: initializer of every conv (He et al. use "he_normal").
        zero_init_residual: start each block's last BN at gamma=0 (Goyal et al. 2017).
        name: model name; defaults to the registry name (``resnet50``).
    """

    def __init__(self, family: str, depth: int, *, residual: bool = True,
                 include_top: bool = True,
                 input_shape: tuple[int | None, int | None, int] | None = None,
                 pooling: Literal["avg", "max"] | None = None, classes: int | None = None,
                 classifier_activation: str | None = "softmax",
                 shortcut: Literal["A", "B"] | None = None,
                 bottleneck_stride: Literal["1x1", "3x3"] = "1x1", bn_momentum: float = 0.9,
                 kernel_initializer: str = "he_normal", zero_init_residual: bool = False,
                 name: str | None = None, **kwargs):
        spec = spec_for(family, depth)
        inputs, outputs, resolved = _network(
            spec, residual, include_top, None, input_shape, pooling, classes,
            classifier_activation, shortcut, bottleneck_stride, bn_momentum, kernel_initializer,
            zero_init_residual)
        super().__init__(inputs, outputs, name=name or arch_name(spec, residual), **kwargs)
        self.build_args = resolved
        self.spec = spec

    def get_config(self) -> dict:
        return {**self.build_args, "input_shape": list(self.build_args["input_shape"]),
                "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> ResNet:
        config = dict(config)
        config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)


def build_network(spec: ArchSpec, *, residual: bool = True, input_tensor: Any = None,
                  name: str | None = None, **kwargs) -> keras.Model:
    """The network `spec` describes, without weights: a `ResNet` (which records its build
    arguments), or on an `input_tensor` a plain functional model whose graph starts there, as
    keras.applications builds it. `kwargs`: the `ResNet` arguments."""
    if input_tensor is None:
        return ResNet(spec.family, spec.depth, residual=residual, name=name, **kwargs)
    unknown = sorted(set(kwargs) - set(_RESNET_DEFAULTS))
    if unknown:
        raise TypeError(f"unexpected arguments {unknown}; a ResNet takes {sorted(BUILD_ARGS)}")
    args = {**_RESNET_DEFAULTS, **kwargs}
    inputs, outputs, _ = _network(spec, residual, args["include_top"], input_tensor,
                                  *(args[a] for a in BUILD_ARGS[4:]))
    sources = keras.utils.get_source_inputs(input_tensor)  # the graph may start before it
    sources = sources[0] if len(sources) == 1 else sources
    return keras.Model(sources, outputs, name=name or arch_name(spec, residual))


#: `ResNet`'s defaults of the build arguments after the architecture (family, depth, residual).
_RESNET_DEFAULTS = {name: parameter.default for name, parameter
                    in inspect.signature(ResNet.__init__).parameters.items()
                    if name in BUILD_ARGS[3:]}


def build_args(model: keras.Model) -> dict:
    """The build arguments of `model`: those a `ResNet` recorded; for a functional model saved
    before models recorded them (a ``.keras`` file of keras-resnet 0.1, named after its
    architecture), read back from its layers. ValueError for any other model."""
    if isinstance(model, ResNet):
        return dict(model.build_args)
    return _legacy_build_args(model)


def _legacy_build_args(model: keras.Model) -> dict:
    name = model.name
    known = {arch_name(spec, residual): (spec, residual) for spec, residual in architectures()}
    if name not in known:
        raise ValueError(f"model {name!r} was not built by keras_resnet (no recorded build "
                         "arguments, and its name is no registered architecture).")
    spec, residual = known[name]
    family, depth = spec.family, spec.depth
    names = {layer.name for layer in model.layers}
    include_top = "predictions" in names
    head = model.get_layer("predictions").get_config() if include_top else None
    stride = "1x1"
    if spec.block == "bottleneck":
        first = model.get_layer(f"{spec.stages[1].name}_block1_1_conv")
        stride = "1x1" if tuple(first.strides) != (1, 1) else "3x3"
    pooling = None if include_top else next(
        (p for layer, p in (("avg_pool", "avg"), ("max_pool", "max")) if layer in names), None)
    return {"family": family, "depth": depth, "residual": residual, "include_top": include_top,
            "input_shape": tuple(model.input_shape[1:]), "pooling": pooling,
            "classes": head["units"] if head else spec.default_classes,
            "classifier_activation": (None if head and head["activation"] == "linear"
                                      else head["activation"] if head else "softmax"),
            "shortcut": "B" if any(n.endswith("_0_conv") for n in names) else "A",
            "bottleneck_stride": stride, "bn_momentum": 0.9, "kernel_initializer": "he_normal",
            "zero_init_residual": False}
