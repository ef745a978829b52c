"""Per-stage feature maps: a ResNet as a backbone for detection and segmentation, as
keras-hub's ``pyramid_outputs`` and timm's ``features_only`` give it.

`feature_model` turns a built ResNet (any weights, fine-tuned or not) into a model whose output
is a dict ``{"conv2": ..., "conv5": ...}``: each stage's last feature map at its stride (4, 8,
16, 32 on ImageNet networks; 1, 2, 4 on CIFAR ones), the same tensors the classifier computes.
In the pre-activation (V2) layout a stage downsamples in its last block, so a stage's map is
the output of the block before that one, and the last stage's is after the final BN + ReLU
(``post_relu``).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from keras_resnet.builder import build_args
from keras_resnet.specs import ArchSpec, spec_for


def feature_layers(spec: ArchSpec) -> dict[str, str]:
    """{stage name: the layer whose output is that stage's feature map} for `spec`."""
    found = {}
    for i, stage in enumerate(spec.stages):
        last = i == len(spec.stages) - 1
        if spec.stride_at == "first" or stage.stride == 1:
            block = stage.blocks
        elif stage.blocks > 1:
            block = stage.blocks - 1  # the last block downsamples: the map before it
        else:
            raise ValueError(f"stage {stage.name} has one block, which downsamples: it has no "
                             "feature map at its own stride.")
        found[stage.name] = f"{stage.name}_block{block}_out"
        if last and spec.family == "preact":
            found[stage.name] = "post_relu"
    return found


def feature_model(model: keras.Model, stages: Sequence[str] | None = None,
                  name: str | None = None) -> keras.Model:
    """`model`'s per-stage feature maps as a dict-output model sharing its layers and weights.

    Args:
        model: a network built by keras_resnet (with or without its top).
        stages: the stages to output (default: all, e.g. conv2 ... conv5).
        name: the model's name (default: ``<model name>_features``).
    """
    args = build_args(model)
    layers = feature_layers(spec_for(args["family"], args["depth"]))
    chosen = list(layers) if stages is None else list(stages)
    if unknown := [s for s in chosen if s not in layers]:
        raise ValueError(f"no stage {unknown} in {model.name}: its stages are "
                         f"{', '.join(layers)}.")
    if not chosen:
        raise ValueError("stages is empty: name at least one of " + ", ".join(layers) + ".")
    outputs = {stage: model.get_layer(layers[stage]).output for stage in chosen}
    return keras.Model(model.inputs, outputs, name=name or f"{model.name}_features")
