"""The training losses: softmax cross-entropy on integer labels, optionally label-smoothed, and
the distillation term that compares the network's softened predictions with a teacher's."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_resnet_training")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against integer labels smoothed by `smoothing`: the target puts
    1 - smoothing on the label and spreads `smoothing` evenly over all classes (Szegedy et al.
    2016), without building one-hot labels."""

    def __init__(self, smoothing: float, reduction: str = "sum_over_batch_size",
                 name: str = "smoothed_sparse_crossentropy"):
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"label smoothing must be in [0, 1), got {smoothing}.")
        super().__init__(reduction=reduction, name=name)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1, 1))
        nll = -ops.squeeze(ops.take_along_axis(log_probs, labels, axis=-1), axis=-1)
        uniform = -ops.mean(log_probs, axis=-1)
        return (1.0 - self.smoothing) * nll + self.smoothing * uniform

    def get_config(self) -> dict:
        return {**super().get_config(), "smoothing": self.smoothing}


def classification_loss(label_smoothing: float = 0.0,
                        reduction: str = "sum_over_batch_size") -> keras.losses.Loss:
    """Keras' sparse cross-entropy on logits, or its label-smoothed form when smoothing > 0."""
    if label_smoothing:
        return SmoothedSparseCrossentropy(label_smoothing, reduction=reduction)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)


@keras.saving.register_keras_serializable(package="keras_resnet_training")
class SoftTargetKL(keras.losses.Loss):
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)) per example, taking the teacher's
    logits as ``y_true`` (Hinton et al. 2015). The T^2 keeps its gradients the size of the
    cross-entropy's whatever the temperature; it is 0 where the two networks agree."""

    def __init__(self, temperature: float, reduction: str = "sum_over_batch_size",
                 name: str = "soft_target_kl"):
        if not temperature > 0:
            raise ValueError(f"the distillation temperature must be > 0, got {temperature}.")
        super().__init__(reduction=reduction, name=name)
        self.temperature = temperature

    def call(self, y_true, y_pred):
        t = self.temperature
        teacher = ops.log_softmax(ops.cast(y_true, "float32") / t, axis=-1)
        student = ops.log_softmax(ops.cast(y_pred, "float32") / t, axis=-1)
        return t * t * ops.sum(ops.exp(teacher) * (teacher - student), axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "temperature": self.temperature}
