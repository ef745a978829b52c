"""Knowledge distillation (Hinton et al. 2015): the run's network, the student, learns from a
trained teacher's softened predictions as well as from the labels.

`Distiller` holds both. A training step's loss is (1 - w) * cross-entropy(labels) +
w * T^2 * KL(teacher || student) at temperature T, plus weight decay; validation and the
metrics see the student alone with the plain loss, so val_loss and accuracy compare with runs
without a teacher. The teacher sees the same augmented batch in inference mode and never
trains. Its weights are part of the run's checkpoints, so a resume on another machine distils
from the same teacher; the saved models (`model_best.keras`, `model.keras`) hold the student.
The teacher may be several networks: the mean of their logits (`keras_resnet.train.ensemble`).
"""

from __future__ import annotations

import os

import keras
from keras import ops

import keras_resnet
from keras_resnet.train import ensemble, finetune
from keras_resnet.train.losses import SoftTargetKL
from keras_resnet.weights.keras_h5 import load_model_file


def _registered(spec: str) -> tuple[str, str]:
    """(model, tag) of a NAME:TAG teacher; ValueError if `spec` is neither that nor a file."""
    name, sep, tag = spec.partition(":")
    if not sep or not name or not tag:
        raise ValueError(f"--teacher={spec!r}: give a .keras file (e.g. "
                         "runs/NAME/model_best.keras) or a registered model and weights tag, "
                         "NAME:TAG (e.g. resnet56:cifar10).")
    entry = keras_resnet.registry.get_entry(name)
    tags = keras_resnet.weights.tags(entry.name)
    if tag not in tags:
        raise ValueError(f"--teacher={spec!r}: {entry.name} has no weights tag {tag!r} (its "
                         f"tags: {', '.join(tags) or 'none'}).")
    return entry.name, tag


def load_teacher(spec: str, image_size: int) -> keras.Model:
    """The teacher `spec` names (a ``.keras`` file, or NAME:TAG, or a comma-separated list of
    them: the mean of their logits, `keras_resnet.train.ensemble`), not trainable; ValueError
    if one is missing, unreadable, or outputs probabilities instead of logits."""
    teachers = [_load_one(part, image_size) for part in ensemble.members(spec)]
    teacher = ensemble.average_logits(teachers, name="teacher_ensemble")
    teacher.trainable = False
    return teacher


def _load_one(spec: str, image_size: int) -> keras.Model:
    """One teacher of `load_teacher`: a ``.keras`` file or NAME:TAG."""
    if spec.endswith(".keras"):
        try:
            model = load_model_file(spec)
        except ValueError as err:
            raise ValueError(f"--teacher: {err}") from None
    else:
        name, tag = _registered(spec)
        model = keras_resnet.get_model(name, weights=tag, classifier_activation=None,
                                       input_shape=(image_size, image_size, 3))
    if any(isinstance(layer, keras.Model) for layer in model.layers):
        raise ValueError(f"--teacher={spec}: it wraps another network (e.g. one with built-in "
                         "preprocessing, which takes raw pixels); the teacher must take the "
                         "run's normalized images, as a run's model_best.keras does.")
    if ensemble.ends_in_softmax(model):
        raise ValueError(f"--teacher={spec}: its last layer ({model.layers[-1].name}) "
                         "applies a softmax; distillation needs logits. Save the teacher with "
                         "classifier_activation=None (the trainer's model_best.keras has "
                         "logits).")
    model.trainable = False
    return model


def check_teacher(spec: str, image_size: int, class_names: list[str],
                  normalization: str, model: str) -> str:
    """ValueError, before anything is written, when the teacher (each, for a list) cannot
    teach this run: it does not load, has another number of classes, another image size, or
    (where its run or tag records them) other class names or input statistics. Returns a line
    for the log."""
    parts = ensemble.members(spec)
    lines = [_check_one(part, image_size, class_names, normalization, model) for part in parts]
    if len(parts) == 1:
        return f"distilling from --teacher={lines[0]}"
    return (f"distilling from the mean logits of {len(parts)} teachers: "
            + "; ".join(lines))


def _check_one(spec: str, image_size: int, class_names: list[str], normalization: str,
               model: str) -> str:
    """`check_teacher` for one teacher; its line for the log."""
    teacher = _load_one(spec, image_size)
    classes = teacher.output_shape[-1]
    if classes != len(class_names):
        raise ValueError(f"--teacher={spec} predicts {classes} classes and the run has "
                         f"{len(class_names)}; give a teacher trained on the same classes.")
    size = tuple(teacher.input_shape[1:3])
    if any(s is not None for s in size) and size != (image_size, image_size):
        raise ValueError(f"--teacher={spec} takes {size[0]}x{size[1]} images and the run "
                         f"--image_size={image_size}; give a teacher of the run's image size.")
    # The statistics it was trained with, where known: its run's flags.txt, or its tag.
    expected = (finetune.expected_input(model, spec) if spec.endswith(".keras")
                else finetune.expected_input(*_registered(spec)))
    if expected and expected != normalization:
        raise ValueError(f"--teacher={spec} was trained on {expected!r}-normalized images and "
                         f"the run feeds --normalization={normalization}; give the run the "
                         "teacher's normalization.")
    if spec.endswith(".keras"):
        labels = os.path.join(os.path.dirname(os.path.abspath(spec)), "labels.txt")
        if os.path.isfile(labels):
            with open(labels) as f:
                names = f.read().splitlines()
            if names != list(class_names):
                raise ValueError(f"--teacher={spec}: its run's classes ({labels}: "
                                 f"{', '.join(names[:5])}...) are not the run's "
                                 f"({', '.join(class_names[:5])}...), in that order.")
    return f"{spec} ({teacher.name}, {teacher.count_params():,} weights, {classes} classes)"


class Distiller(keras.Model):
    """The student trained with a teacher's soft targets (module docstring). Calling it runs the
    student; `compute_loss` adds the distillation term during training only."""

    def __init__(self, student: keras.Model, teacher: keras.Model, weight: float,
                 temperature: float, label_loss: keras.losses.Loss):
        super().__init__(name=f"{student.name}_distilled")
        teacher.trainable = False
        self.student, self.teacher = student, teacher
        self.weight = weight
        self.label_loss = label_loss
        self.soft_target_loss = SoftTargetKL(temperature)
        self.built = True  # both networks are built

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus weight decay, with w * (distillation - cross-entropy) added
        in training: (1 - w) * cross-entropy + w * distillation + weight decay."""
        total = super().compute_loss(x, y, y_pred, sample_weight, training)
        if not training or not self.weight:
            return total
        soft = ops.stop_gradient(self.teacher(x, training=False))
        return total + self.weight * (self.soft_target_loss(soft, y_pred, sample_weight)
                                      - self.label_loss(y, y_pred, sample_weight))


def student_of(model: keras.Model) -> keras.Model:
    """The network a `Distiller` trains, or `model` itself."""
    return model.student if isinstance(model, Distiller) else model

