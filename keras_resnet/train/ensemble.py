"""Several trained classifiers used as one: the mean of their logits.

A comma-separated list of models names such an ensemble wherever the trainer takes a model to
learn from or to evaluate: ``--teacher=A.keras,B.keras`` distils from the ensemble, and
``--mode=eval --eval_model=A.keras,B.keras`` measures it. Independently trained networks
disagree on some images, so their average is more accurate than any one of them: a stronger
teacher for a network of the members' own size.
"""

from __future__ import annotations

import keras


def members(spec: str) -> list[str]:
    """The models a ``A,B,...`` spec names, in order (one for a spec without commas);
    ValueError if one is empty or named twice."""
    parts = [part.strip() for part in spec.split(",")]
    if any(not part for part in parts):
        raise ValueError(f"{spec!r}: an empty name in the list; give model files or NAME:TAG "
                         "specs separated by single commas.")
    twice = sorted({part for part in parts if parts.count(part) > 1})
    if twice:
        raise ValueError(f"{spec!r} names {', '.join(twice)} more than once; an ensemble "
                         "needs different models (one model alone needs no list).")
    return parts


def ends_in_softmax(model: keras.Model) -> bool:
    """Whether `model` outputs probabilities (a softmax last layer or activation), not logits."""
    last = model.layers[-1]
    return (isinstance(last, keras.layers.Softmax)
            or getattr(last, "activation", None) is keras.activations.softmax)


def average_logits(models: list[keras.Model], name: str = "ensemble") -> keras.Model:
    """A model whose output is the mean of `models`' logits on the same input; its weights are
    theirs (shared, not copied). ValueError if the members differ in input shape or classes,
    or one ends in a softmax (probabilities do not average as logits)."""
    if not models:
        raise ValueError("an ensemble needs at least one model")
    shape, classes = models[0].input_shape[1:], models[0].output_shape[-1]
    for index, model in enumerate(models):
        if ends_in_softmax(model):
            raise ValueError(f"ensemble member {index + 1} ({model.name}) ends in a softmax; "
                             "the ensemble averages logits. Save it with "
                             "classifier_activation=None (the trainer's models have logits).")
        if model.input_shape[1:] != shape or model.output_shape[-1] != classes:
            raise ValueError(
                f"ensemble member {index + 1} ({model.name}) takes {model.input_shape[1:]} "
                f"and predicts {model.output_shape[-1]} classes, member 1 takes {shape} and "
                f"predicts {classes}; give members of the same input and classes.")
    if len(models) == 1:
        return models[0]
    for index, model in enumerate(models):  # layer names in one model must be unique
        model.name = f"member{index + 1}_{model.name}"
    inputs = keras.Input(shape, name="images")
    outputs = keras.layers.Average(name="mean_logits")([model(inputs) for model in models])
    return keras.Model(inputs, outputs, name=name)
