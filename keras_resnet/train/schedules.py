"""Learning-rate schedules: steps at iterations or epochs, linear warmup, cosine, linear decay.

One serializable schedule class covers the paper's recipes: ``lr(step) = base * factor(step)``
where factor is a step decay (x `decay_rate` at each boundary), a cosine to zero or a straight
line to zero (Li et al. 2020 found it best for short budgets), after an
optional warmup (linear ramp, or the paper's constant low lr for ResNet-110/1202).
"""

from __future__ import annotations

from typing import Literal

import keras
from keras import ops

#: The decays and warmups the schedule knows (train.py's flags offer exactly these).
DECAYS = ("step", "cosine", "linear")
WARMUPS = ("linear", "constant")


@keras.saving.register_keras_serializable(package="keras_resnet")
class ResNetSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base lr with warmup, then step decay or cosine decay; all positions in optimizer steps.

    Args:
        base_lr: lr after warmup (before any decay).
        total_steps: length of the run (cosine reaches 0 there).
        decay: "step" (multiply by `decay_rate` at each of `boundaries`), "cosine" or
            "linear" (both reach 0 at `total_steps`).
        boundaries: steps at which a step decay applies.
        warmup_steps: steps before the base lr applies.
        warmup: "linear" ramps from 0 to base_lr; "constant" holds `warmup_lr` (the paper's
            0.01 for ResNet-110/1202).
    """

    def __init__(self, base_lr: float, total_steps: int,
                 decay: Literal["step", "cosine", "linear"] = "step",
                 boundaries: tuple[int, ...] = (), decay_rate: float = 0.1,
                 warmup_steps: int = 0, warmup: Literal["linear", "constant"] = "linear",
                 warmup_lr: float = 0.0):
        if decay not in DECAYS:
            raise ValueError(f"decay must be one of {DECAYS}; got {decay!r}.")
        if warmup not in WARMUPS:
            raise ValueError(f"warmup must be one of {WARMUPS}; got {warmup!r}.")
        if list(boundaries) != sorted(boundaries):
            raise ValueError(f"boundaries must increase; got {boundaries}.")
        self.base_lr = float(base_lr)
        self.total_steps = int(total_steps)
        self.decay = decay
        self.boundaries = tuple(int(b) for b in boundaries)
        self.decay_rate = float(decay_rate)
        self.warmup_steps = int(warmup_steps)
        self.warmup = warmup
        self.warmup_lr = float(warmup_lr)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        if self.decay in ("cosine", "linear"):
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            lr = (0.5 * self.base_lr * (1.0 + ops.cos(3.141592653589793 * progress))
                  if self.decay == "cosine" else self.base_lr * (1.0 - progress))
        else:
            passed = sum(ops.cast(step >= b, "float32") for b in self.boundaries) \
                if self.boundaries else 0.0
            lr = self.base_lr * ops.power(self.decay_rate, passed)
        if self.warmup_steps:
            ramp = (self.base_lr * (step + 1.0) / self.warmup_steps if self.warmup == "linear"
                    else self.warmup_lr + 0.0 * step)
            lr = ops.where(step < self.warmup_steps, ramp, lr)
        return lr

    def get_config(self) -> dict:
        return {"base_lr": self.base_lr, "total_steps": self.total_steps, "decay": self.decay,
                "boundaries": list(self.boundaries), "decay_rate": self.decay_rate,
                "warmup_steps": self.warmup_steps, "warmup": self.warmup,
                "warmup_lr": self.warmup_lr}
