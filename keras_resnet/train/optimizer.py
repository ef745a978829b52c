"""The trainer's optimizer: Keras SGD with a learning rate for the backbone apart from the
head's, and a weight average that stays in the optimizer.

- ``backbone_lr_scale``: every variable outside the classification head learns at this
  fraction of the schedule's lr (fine-tuning: the pretrained backbone moves slowly, the fresh
  head at full speed). With momentum SGD this equals scaling those variables' gradients.
- ``ema_decay`` (`keras_resnet.train.weight_average`): Keras' own ``use_ema`` copies the
  average onto the weights at the end of every `fit`; the trainer calls `fit` once per epoch,
  so this optimizer keeps the raw weights there instead, and the average is swapped in for
  evaluation and saving only.

The optimizer's slots are built for the variables that train in the run's last phase, also
while a head-only first phase leaves the backbone frozen, so that a checkpoint from either
phase holds the same variables and resumes.
"""

from __future__ import annotations

import keras

#: The classification head's layer (its variables always learn at the full lr).
HEAD = "predictions"


def _in_head(variable) -> bool:
    return HEAD in variable.path.split("/")[:-1]


class TrainerSGD(keras.optimizers.SGD):
    """SGD whose backbone variables learn at `backbone_lr_scale` times the lr and whose `fit`
    leaves the raw weights in the model when it keeps an average."""

    def __init__(self, learning_rate, backbone_lr_scale: float = 1.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not backbone_lr_scale > 0:
            raise ValueError(f"backbone_lr_scale must be > 0, not {backbone_lr_scale}.")
        self.backbone_lr_scale = float(backbone_lr_scale)
        self._lr_scales: list[float] = []

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._lr_scales = [1.0 if _in_head(v) else self.backbone_lr_scale for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        scale = self._lr_scales[self._get_variable_index(variable)]
        if scale != 1.0:
            learning_rate = learning_rate * scale
        super().update_step(gradient, variable, learning_rate)

    def finalize_variable_values(self, var_list):
        if not self.use_ema:
            super().finalize_variable_values(var_list)
        # with an average: it is swapped in for evaluation and saving only

    def get_config(self) -> dict:
        return {**super().get_config(), "backbone_lr_scale": self.backbone_lr_scale}


def make_sgd(learning_rate, momentum: float, nesterov: bool, ema_decay: float = 0.0,
             backbone_lr_scale: float = 1.0) -> TrainerSGD:
    """The run's SGD; with `ema_decay` in (0, 1) it also keeps the weights' average."""
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in [0, 1) (0: no average); got {ema_decay}.")
    average = {"use_ema": True, "ema_momentum": ema_decay} if ema_decay else {}
    return TrainerSGD(learning_rate, backbone_lr_scale, momentum=momentum, nesterov=nesterov,
                      **average)
