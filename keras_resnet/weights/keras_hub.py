"""Reader of keras-hub ResNets (`keras_hub.models.ResNetBackbone`, and the
`ResNetImageClassifier` head on it): the backbone's architecture is matched to one of ours,
then its weights are copied layer by layer.

keras-hub's v1 blocks put a bottleneck's stride in its 3x3 conv and pad strided convs by one
pixel on every side, as torchvision does: our ``bottleneck_stride="3x3"`` layout. Its
BatchNorm epsilon is 1e-5 where ours is keras.applications' 1.001e-5; the moving variance is
shifted by the difference, so that ``var + epsilon`` is the same and the port exact. Layer
names map ``stack{s}_block{b}_{i}_{conv,bn}`` -> ``conv{s+2}_block{b+1}_{i}_{conv,bn}``.

No counterpart (refused, naming what differs): the pre-activation layout (keras-hub's V2
downsamples in the first block of a stage, ours in the last, as keras.applications), the
"vd" blocks (deep stem, average-pool shortcut), stems other than one 7x7 conv, and depths
outside the spec table (18, 34, 50, 101, 152).
"""

from __future__ import annotations

import keras
import numpy as np

from keras_resnet import registry
from keras_resnet.blocks import BN_EPSILON
from keras_resnet.specs import arch_name, architectures, spec_for

#: A `weights=` value that loads a keras-hub preset: ``"keras_hub:resnet_50_imagenet"`` or
#: ``"keras_hub:/path/to/a/preset/folder"``.
PREFIX = "keras_hub:"
#: keras-hub's block types with a counterpart here -> our block type.
BLOCKS = {"basic_block": "basic", "bottleneck_block": "bottleneck"}


def architecture_of(config: dict) -> str:
    """Our registry name for a keras-hub ResNetBackbone `config` (its get_config()), or a
    ValueError naming what has no counterpart."""
    block = config["block_type"]
    if block not in BLOCKS:
        raise ValueError(f"keras-hub block_type {block!r} has no counterpart in keras_resnet "
                         f"(it has {', '.join(BLOCKS)}; the 'vd' blocks' deep stem and "
                         "average-pool shortcut are not in the spec table).")
    if config.get("use_pre_activation"):
        raise ValueError("keras-hub's pre-activation (V2) ResNet downsamples in the first block "
                         "of each stage, keras_resnet's V2 (keras.applications' layout) in the "
                         "last: no counterpart.")
    if list(config["input_conv_filters"]) != [64] or list(
            config["input_conv_kernel_sizes"]) != [7]:
        raise ValueError(f"keras-hub stem {config['input_conv_filters']} filters, kernels "
                         f"{config['input_conv_kernel_sizes']}: keras_resnet's is one 7x7 conv "
                         "of 64 filters.")
    blocks = tuple(config["stackwise_num_blocks"])
    for spec, residual in architectures():
        if (residual and spec.family == "imagenet" and spec.block == BLOCKS[block]
                and tuple(s.blocks for s in spec.stages) == blocks
                and [s.filters for s in spec.stages] == list(config["stackwise_num_filters"])
                and [s.stride for s in spec.stages] == list(config["stackwise_num_strides"])):
            return registry.get_entry(f"resnet{spec.depth}").name
    raise ValueError(f"keras-hub {block} backbone with stages {list(blocks)} has no "
                     "counterpart in keras_resnet (ResNet-18, 34, 50, 101, 152).")


def _ours(name: str) -> str:
    if not name.startswith("stack"):
        return name  # conv1_conv, conv1_bn
    stack, block, rest = name.split("_", 2)
    return f"conv{int(stack[5:]) + 2}_block{int(block[5:]) + 1}_{rest}"


def port_backbone(backbone: keras.Model, target: keras.Model, head=None) -> keras.Model:
    """Copies keras-hub `backbone`'s weights (and the Dense `head`, if given) into `target`,
    built with the matching architecture; returns `target`. ValueError naming the layer if a
    weight has no place or is left over."""
    src = {_ours(layer.name): layer for layer in backbone.layers if layer.weights}
    if head is not None:
        src["predictions"] = head
    used = set()
    for layer in target.layers:
        if not layer.weights:
            continue
        if layer.name not in src:
            raise ValueError(f"layer {layer.name!r} of {target.name} has no counterpart in the "
                             "keras-hub model.")
        source = src[layer.name]
        values = [np.asarray(w) for w in source.get_weights()]
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = values
            var = np.maximum(var + source.epsilon - BN_EPSILON, 0.0).astype(var.dtype)
            values = [gamma, beta, mean, var]
        found, wanted = [v.shape for v in values], [tuple(w.shape) for w in layer.weights]
        if found != wanted:
            raise ValueError(f"layer {layer.name!r}: keras-hub shapes {found}, ours {wanted}.")
        layer.set_weights(values)
        used.add(layer.name)
    if left := sorted(set(src) - used):
        raise ValueError(f"keras-hub weights left unused: {left[:5]}")
    return target


def from_keras_hub(model: keras.Model, **kwargs) -> keras.Model:
    """Our twin of a keras-hub `ResNetBackbone` (no top: the 4-D features) or
    `ResNetImageClassifier` (with its Dense head, average pooling), its weights ported.
    `kwargs` go to the builder (e.g. ``classifier_activation``, ``input_shape``)."""
    backbone = getattr(model, "backbone", model)
    name = architecture_of(backbone.get_config())
    head = getattr(model, "output_dense", None)
    if head is not None:
        if getattr(model, "pooling", "avg") != "avg":
            raise ValueError(f"the keras-hub classifier pools with {model.pooling!r}; "
                             "keras_resnet's head averages.")
        kwargs.setdefault("classes", head.units)
        activation = head.get_config()["activation"]
        kwargs.setdefault("classifier_activation", None if activation == "linear"
                          else activation)
    kwargs.setdefault("input_shape", tuple(backbone.input_shape[1:]))
    kwargs.setdefault("include_top", head is not None)
    if registry.get_entry(name).spec.block == "bottleneck":
        kwargs.setdefault("bottleneck_stride", "3x3")
    target = registry.build(name, **kwargs)
    return port_backbone(backbone, target, head)


def load_preset(model: keras.Model, preset: str) -> None:
    """Loads the keras-hub preset `preset` (a Kaggle preset name, or a local preset folder)
    into the built `model`: the backbone's weights, and the classifier's head when `model`
    has a top."""
    try:
        import keras_hub
    except ImportError:
        raise ImportError(f"weights={PREFIX}{preset} needs keras-hub, which is not installed: "
                          "pip install 'keras-resnet[keras_hub]'.") from None

    from keras_resnet.builder import build_args

    include_top = build_args(model)["include_top"]
    try:
        if include_top:
            task = keras_hub.models.ImageClassifier.from_preset(preset)
            backbone, head = task.backbone, task.output_dense
        else:
            backbone, head = keras_hub.models.Backbone.from_preset(preset), None
    except Exception as err:  # noqa: BLE001 (missing, offline, no classifier in the preset)
        raise ValueError(f"cannot load keras-hub preset {preset!r}"
                         f"{' with its classifier head' if include_top else ''}: "
                         f"{type(err).__name__}: {err}"
                         + (" (build with include_top=False for the backbone alone)"
                            if include_top else "")) from None
    name = architecture_of(backbone.get_config())
    args = build_args(model)
    ours = arch_name(spec_for(args["family"], args["depth"]), args["residual"])
    if name != ours:
        raise ValueError(f"keras-hub preset {preset!r} is a {name}; the model is a {ours}.")
    port_backbone(backbone, model, head)
