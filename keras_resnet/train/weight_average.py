"""An exponential moving average (EMA) of the weights, evaluated and saved instead of them.

Training continues from the raw weights; the optimizer keeps the average (Keras'
``use_ema``), so it is checkpointed and resumed with the rest of the optimizer state.
Validation, the best and last `.keras` files and the final metrics use the average.

Keras' own `use_ema` copies the average onto the weights at the end of every `fit`; the
trainer calls `fit` once per epoch, so `AveragingSGD` keeps the raw weights instead.
"""

from __future__ import annotations

import contextlib

import keras


class AveragingSGD(keras.optimizers.SGD):
    """SGD whose `fit` leaves the raw weights in the model (the average stays in the
    optimizer; `averaged_weights` swaps it in)."""

    def finalize_variable_values(self, var_list):
        del var_list  # the average is swapped in for evaluation and saving only


def make_sgd(learning_rate, momentum: float, nesterov: bool, ema_decay: float = 0.0):
    """Keras SGD; with `ema_decay` in (0, 1), an `AveragingSGD` that also keeps the EMA."""
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in [0, 1) (0: no average); got {ema_decay}.")
    if not ema_decay:
        return keras.optimizers.SGD(learning_rate, momentum=momentum, nesterov=nesterov)
    return AveragingSGD(learning_rate, momentum=momentum, nesterov=nesterov, use_ema=True,
                        ema_momentum=ema_decay)


def uses_average(model: keras.Model) -> bool:
    """Whether `model`'s optimizer keeps a weight average (also inside the loss-scaling
    wrapper mixed_float16 puts around it)."""
    optimizer = getattr(model, "optimizer", None)
    return isinstance(getattr(optimizer, "inner_optimizer", optimizer), AveragingSGD)


class EvaluateAverage(keras.callbacks.SwapEMAWeights):
    """Validation inside `fit` runs on the averaged weights (swapped back afterwards). Given
    the validation data, each epoch also validates the raw weights and logs their accuracy as
    ``val_raw_accuracy`` (callbacks after this one see it, e.g. the CSV log)."""

    def __init__(self, raw_validation=None):
        super().__init__(swap_on_epoch=False)
        self.raw_validation = raw_validation

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.raw_validation is not None and logs is not None and "val_accuracy" in logs:
            result = self.model.evaluate(self.raw_validation, verbose=0, return_dict=True)
            logs["val_raw_accuracy"] = float(result["accuracy"])


@contextlib.contextmanager
def averaged_weights(model: keras.Model):
    """Within the block `model` holds the averaged weights (if its optimizer keeps them);
    the raw ones come back after it, also on error."""
    if not uses_average(model):
        yield
        return
    swap = EvaluateAverage()
    swap.set_model(model)
    swap.on_test_begin()
    try:
        yield
    finally:
        swap.on_test_end()
