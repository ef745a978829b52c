"""An exponential moving average (EMA) of the weights, evaluated and saved instead of them.

Training continues from the raw weights; the optimizer keeps the average (Keras'
``use_ema``), so it is checkpointed and resumed with the rest of the optimizer state.
Validation, the best and last `.keras` files and the final metrics use the average.

Keras' own `use_ema` copies the average onto the weights at the end of every `fit`; the
trainer calls `fit` once per epoch, so its optimizer (`keras_resnet.train.optimizer`) keeps
the raw weights instead.
"""

from __future__ import annotations

import contextlib

import keras


def uses_average(model: keras.Model) -> bool:
    """Whether `model`'s optimizer keeps a weight average (also inside the loss-scaling
    wrapper mixed_float16 puts around it)."""
    optimizer = getattr(model, "optimizer", None)
    return bool(getattr(getattr(optimizer, "inner_optimizer", optimizer), "use_ema", False))


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
