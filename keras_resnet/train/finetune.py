"""Starting a run from pretrained weights, and what trains.

The weights a user names (a tag of the model, a ``.weights.h5`` or a ``.keras`` file) are read
into a donor model of the same architecture, then copied layer by layer into the run's model.
When the classes differ from the donor's head, the head starts fresh. "caffe" weights take BGR
input; the first conv's kernel turns its input channels so that the run feeds RGB like every
other (`keras_resnet.preprocessing.normalization_for`). Freezing sets ``trainable = False`` on
layers, so a frozen BatchNorm runs in inference mode, and frozen weights get neither weight
decay nor optimizer slots.
"""

from __future__ import annotations

import dataclasses
import os

import h5py
import keras
import numpy as np

import keras_resnet
from keras_resnet.builder import build_args
from keras_resnet.common.flagfile import read_flagfile
from keras_resnet.specs import arch_name, spec_for
from keras_resnet.weights.keras_h5 import WEIGHTS_SUFFIX, load_model_file

#: The classification head's layer.
HEAD = "predictions"
#: Layers before the first stage.
STEM = ("conv1_", "pool1_")


@dataclasses.dataclass
class Pretrained:
    """Weights read from a donor, by layer name, and what they expect."""

    arrays: dict[str, list[np.ndarray]]
    classes: int | None
    preprocessing: str | None
    description: str
    #: Build arguments the weights need beyond the architecture's defaults (e.g. torchvision's
    #: v1.5 layout: {"bottleneck_stride": "3x3"}); the run's model is built with them.
    layout: dict = dataclasses.field(default_factory=dict)


def stage_names(model: str) -> list[str]:
    """The stages of the registered `model`, first to last (``conv2`` ... ``conv5``)."""
    return [stage.name for stage in keras_resnet.registry.get_entry(model).spec.stages]


def check(model: str, weights: str | None, trainable: str, head_epochs: int = 0,
          backbone_lr_scale: float = 1.0) -> None:
    """ValueError naming the flag when `weights`, `trainable`, `head_epochs` or
    `backbone_lr_scale` cannot apply to `model`; reads nothing but the file's existence and
    the weights table."""
    if trainable not in ("all", "head", *stage_names(model)):
        raise ValueError(f"--trainable={trainable!r}: choose all, head, or a stage of {model}: "
                         f"{', '.join(stage_names(model))}.")
    if trainable != "all" and weights is None:
        raise ValueError(f"--trainable={trainable} freezes layers of a randomly initialized "
                         "network; give --weights to start from, or --trainable=all.")
    if head_epochs and weights is None:
        raise ValueError(f"--head_epochs={head_epochs} trains a head on a randomly initialized "
                         "backbone; give --weights to start from, or --head_epochs=0.")
    if head_epochs and trainable == "head":
        raise ValueError(f"--head_epochs={head_epochs} with --trainable=head: both phases "
                         "would train the head only; give --trainable=all or a stage for the "
                         "second phase.")
    if not backbone_lr_scale > 0:
        raise ValueError(f"--backbone_lr_scale={backbone_lr_scale}: give a fraction > 0 "
                         "(--trainable=head keeps the backbone fixed).")
    if weights is None or os.path.isfile(weights):
        if weights is not None and not weights.endswith((WEIGHTS_SUFFIX, ".keras")):
            raise ValueError(f"--weights={weights}: a file must be a Keras '{WEIGHTS_SUFFIX}' "
                             "or '.keras' file.")
        return
    name = keras_resnet.registry.get_entry(model).name
    tags = keras_resnet.weights.tags(name)
    if weights not in tags:
        raise ValueError(f"--weights={weights!r} is neither an existing file nor a tag of "
                         f"{name} (its tags: {', '.join(tags) or 'none'}).")


def expected_input(model: str, weights: str) -> str | None:
    """The input statistics `weights` for `model` were trained with, where known: a tag's
    preprocessing; for a file, the --normalization of the run whose flags.txt sits beside
    it."""
    if not os.path.isfile(weights):
        name = keras_resnet.registry.get_entry(model).name
        row = keras_resnet.weights.PRETRAINED.get((name, weights, True))
        return row.preprocessing if row else None
    run = read_flagfile(os.path.join(os.path.dirname(os.path.abspath(weights)), "flags.txt"))
    value = run.get("normalization")
    return value if value and value != "auto" else None


def _head_classes(path: str) -> int | None:
    """The head size of a ``.weights.h5`` file of a ResNet (its only dense layer), or None
    for a file without a head."""
    with h5py.File(path, "r") as handle:
        kernel = handle.get("layers/dense/vars/0")
        return None if kernel is None else int(kernel.shape[-1])


def _inner_resnet(model: keras.Model) -> keras.Model:
    """The ResNet of a loaded ``.keras`` file: itself, or the one nested inside it (a model
    with built-in preprocessing)."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested[-1] if nested else model


def read(model: str, weights: str) -> Pretrained:
    """The weights `weights` names, read into a donor of architecture `model`."""
    entry = keras_resnet.registry.get_entry(model)
    if weights.endswith(".keras"):
        donor = _inner_resnet(load_model_file(weights))
        args = build_args(donor)
        found = arch_name(spec_for(args["family"], args["depth"]), args["residual"])
        if found != entry.name:
            raise ValueError(f"--weights={weights} holds a {found}, and the run trains a "
                             f"{entry.name}; give weights of the same architecture.")
        classes = args["classes"] if args["include_top"] else None
        return Pretrained(_arrays(donor), classes, None, weights,
                          {"bottleneck_stride": args["bottleneck_stride"]})
    if weights.endswith(WEIGHTS_SUFFIX):
        classes = _head_classes(weights)
        top = {"classes": classes} if classes else {"include_top": False}
        try:
            donor = keras_resnet.get_model(entry.name, weights=weights, **top)
        except ValueError as err:
            raise ValueError(f"--weights: {err}") from None
        return Pretrained(_arrays(donor), classes, None, weights)
    row = keras_resnet.weights.find(entry.name, weights, include_top=True)
    donor = keras_resnet.get_model(entry.name, weights=weights, classifier_activation=None)
    arrays = _arrays(donor)
    if row.preprocessing == "caffe":  # BGR in: the first conv takes RGB from here on
        arrays = rgb_first_conv(arrays)
    layout = {"bottleneck_stride": row.bottleneck_stride} if row.bottleneck_stride else {}
    return Pretrained(arrays, row.classes, row.preprocessing,
                      f"{entry.name} {weights!r} weights ({row.accuracy or row.url})", layout)


def rgb_first_conv(arrays: dict[str, list[np.ndarray]]) -> dict[str, list[np.ndarray]]:
    """Weights of a network fed BGR, changed to take RGB: the first conv's kernel with its
    input channels the other way round (exact: it only reorders the sum)."""
    kernel, *rest = arrays["conv1_conv"]
    return {**arrays, "conv1_conv": [kernel[:, :, ::-1, :].copy(), *rest]}


def _arrays(model: keras.Model) -> dict[str, list[np.ndarray]]:
    return {layer.name: [np.asarray(w) for w in layer.get_weights()]
            for layer in model.layers if layer.weights}


def load(model: keras.Model, pretrained: Pretrained) -> str:
    """Copies `pretrained` into `model` layer by layer; a head of another size starts fresh.
    Returns what was done, for the log; ValueError if a layer below the head does not fit."""
    fresh_head = False
    for layer in model.layers:
        if not layer.weights:
            continue
        source = pretrained.arrays.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if layer.name == HEAD and (source is None or [a.shape for a in source] != shapes):
            fresh_head = True
            continue
        if source is None or [a.shape for a in source] != shapes:
            found = "missing" if source is None else [a.shape for a in source]
            raise ValueError(f"--weights={pretrained.description}: layer {layer.name!r} does "
                             f"not fit (the weights have {found}, the model {shapes}); were "
                             "they saved from another architecture?")
        layer.set_weights(source)
    if fresh_head:
        had = f"a {pretrained.classes}-class head" if pretrained.classes else "no head"
        return (f"started from {pretrained.description}: the backbone loaded; the weights have "
                f"{had} and the run {model.get_layer(HEAD).units} classes, so the head starts "
                "fresh")
    return f"started from {pretrained.description}: every layer loaded, the head included"


def trainable_in_epoch(cfg, epoch: int) -> str:
    """What trains in `epoch` (0-based) of the run `cfg`: the head during its --head_epochs,
    then --trainable."""
    return "head" if epoch < cfg.head_epochs else cfg.trainable


def set_phase(model: keras.Model, cfg, epoch: int) -> str | None:
    """Makes `model` (the ResNet itself) train what `epoch` trains; returns a line saying what
    changed, or None when nothing did (the compiled step must then be rebuilt)."""
    wanted = trainable_in_epoch(cfg, epoch)
    frozen = {layer.name for layer in model.layers if layer.weights and not layer.trainable}
    for layer in model.layers:
        layer.trainable = True
    now = set(freeze(model, cfg.model, wanted))
    if now == frozen:
        return None
    if wanted == "head":
        return (f"epoch {epoch + 1}: the head trains alone (--head_epochs={cfg.head_epochs}); "
                f"{len(now)} layers frozen, their BatchNorm layers in inference mode")
    return (f"epoch {epoch + 1}: --trainable={cfg.trainable} trains from now on, the "
            f"backbone at {cfg.backbone_lr_scale:g} x the lr ({len(now)} layers frozen)")


def freeze(model: keras.Model, model_name: str, trainable: str) -> list[str]:
    """Sets ``trainable = False`` on the layers `trainable` leaves out; returns their names."""
    if trainable == "all":
        return []
    first = None if trainable == "head" else trainable + "_"
    frozen = []
    for layer in model.layers:  # in graph order: the stem, the stages, the head
        if layer.name == HEAD or (first and layer.name.startswith(first)):
            break
        if layer.weights:
            layer.trainable = False
            frozen.append(layer.name)
    return frozen
