"""Reader of keras.applications ResNet weights: ported by layer name, conv biases folded into BN.

keras.applications' ResNet50/101/152 give every conv a bias although a BatchNormalization follows
it. A bias b before BN only shifts the batch mean, so it folds exactly into the BN's moving mean:
``BN(Wx + b)`` with mean ``m`` equals ``BN(Wx)`` with mean ``m - b``. The V2 models keep their
biases where keras has them (before an add, not a BN), so their weights copy one to one.

Works on any keras.applications ResNet model object: built with random weights in tests, or with
its ImageNet weights loaded (``keras.applications.ResNet50(weights="imagenet")``).
"""

from __future__ import annotations

import keras
import numpy as np

from keras_resnet import registry


def _bn_of(conv_name: str) -> str:
    return conv_name[: -len("_conv")] + "_bn"


def port_weights(source: keras.Model, target: keras.Model) -> keras.Model:
    """Copies `source`'s weights into `target` by layer name; returns `target`.

    Raises ValueError naming the layer if a target layer has no source counterpart, the shapes
    differ, or a source weight would be left unused.
    """
    src = {layer.name: layer for layer in source.layers if layer.weights}
    used = set()
    bias_of_bn = {}
    for layer in target.layers:
        if not layer.weights:
            continue
        if layer.name not in src:
            raise ValueError(f"layer '{layer.name}' of {target.name} has no counterpart in "
                             f"{source.name}; is it the same architecture?")
        values = [np.asarray(w) for w in src[layer.name].get_weights()]
        used.add(layer.name)
        wanted = [tuple(w.shape) for w in layer.weights]
        if isinstance(layer, keras.layers.Conv2D) and not layer.use_bias and len(values) == 2:
            bias_of_bn[_bn_of(layer.name)] = values.pop()
        if isinstance(layer, keras.layers.BatchNormalization) and layer.name in bias_of_bn:
            gamma, beta, mean, var = values
            values = [gamma, beta, mean - bias_of_bn.pop(layer.name), var]
            if not np.isclose(layer.epsilon, src[layer.name].epsilon):
                raise ValueError(f"BN '{layer.name}': epsilon {layer.epsilon} != source "
                                 f"{src[layer.name].epsilon}; folding would not be exact.")
        found = [tuple(v.shape) for v in values]
        if found != wanted:
            raise ValueError(f"layer '{layer.name}': source shapes {found}, target {wanted}.")
        layer.set_weights(values)
    unused = sorted(set(src) - used)
    if unused or bias_of_bn:
        raise ValueError(f"source weights left unused: {unused or sorted(bias_of_bn)}.")
    return target


def from_keras_applications(source: keras.Model, **kwargs) -> keras.Model:
    """Builds the keras_resnet twin of a keras.applications ResNet (same input, top, classes)
    and ports its weights. `kwargs` go to the builder (e.g. ``classifier_activation``)."""
    name = source.name.lower()
    include_top = any(layer.name == "predictions" for layer in source.layers)
    kwargs.setdefault("include_top", include_top)
    kwargs.setdefault("input_shape", tuple(source.inputs[0].shape[1:]))
    if include_top:
        kwargs.setdefault("classes", source.get_layer("predictions").units)
    else:
        pools = {"avg_pool": "avg", "max_pool": "max"}
        pooling = [pools[layer.name] for layer in source.layers if layer.name in pools]
        kwargs.setdefault("pooling", pooling[0] if pooling else None)
    target = registry.build(name, **kwargs)
    return port_weights(source, target)
