"""Evaluating a saved model (or an ensemble of them) on a plan's validation split: top-1 and
top-5, single view or averaged with each image's mirror (horizontal-flip test-time
augmentation)."""

from __future__ import annotations

import keras

from keras_resnet.train import ensemble
from keras_resnet.train.data_plan import Plan
from keras_resnet.train.model import metrics
from keras_resnet.weights.keras_h5 import load_model_file


def flip_averaged(model: keras.Model) -> keras.Model:
    """`model` whose output is the mean of its class probabilities on each image and on the
    image mirrored left-right: horizontal-flip test-time augmentation. Weights are shared;
    logits (the trainer's models) go through a softmax first, a softmax head is used as is."""
    head = getattr(model.layers[-1], "activation", None)
    probabilities_out = head is keras.activations.softmax

    def probabilities(x):
        x = keras.ops.cast(model(x), "float32")
        return x if probabilities_out else keras.ops.softmax(x)

    inputs = keras.Input(model.input_shape[1:], name="images")
    mirrored = keras.ops.flip(inputs, axis=2)  # NHWC: axis 2 is the width
    averaged = (probabilities(inputs) + probabilities(mirrored)) / 2
    return keras.Model(inputs, averaged, name=f"{model.name}_flip_averaged")


def _top_k(model: keras.Model, plan: Plan, from_logits: bool) -> tuple[float, float]:
    """Top-1 and top-5 accuracy of `model` on the plan's validation split."""
    model.compile(metrics=metrics(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits))
    result = model.evaluate(plan.val_ds, return_dict=True, verbose=0)
    return float(result["accuracy"]), float(result["top5"])


def evaluate(model_path: str, plan: Plan, flip: bool = False) -> dict:
    """Top-1/top-5 of a saved `.keras` model (or of the mean logits of a comma-separated list
    of them, `keras_resnet.train.ensemble`) on the plan's validation split; with `flip`, also
    `flip_top1`/`flip_top5`: those of its predictions averaged over each image and its mirror
    image (`flip_averaged`)."""
    models = [load_model_file(path) for path in ensemble.members(model_path)]
    model = models[0] if len(models) == 1 else ensemble.average_logits(models)
    if plan.input_layers is not None:  # numpy path: batches are raw pixels
        model = plan.input_layers(model)
    top1, top5 = _top_k(model, plan, from_logits=True)
    result = {"top1": top1, "top5": top5, "images": plan.val_examples}
    if flip:
        result["flip_top1"], result["flip_top5"] = _top_k(flip_averaged(model), plan,
                                                          from_logits=False)
    return result
