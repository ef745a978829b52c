"""Custom layers the builders need (registered, so `.keras` files load with safe_mode=True)."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="keras_resnet")
class ZeroPadChannels(keras.layers.Layer):
    """Pads the channel axis (last) with zeros up to `channels`: the paper's option-A shortcut.

    The identity shortcut of a block that widens its output keeps its input and appends
    ``channels - input_channels`` all-zero feature maps, so it has no parameters.
    """

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] > self.channels:
            raise ValueError(
                f"{self.name}: input has {input_shape[-1]} channels, more than the "
                f"{self.channels} to pad to."
            )

    def call(self, inputs):
        extra = self.channels - inputs.shape[-1]
        pad = [[0, 0]] * (len(inputs.shape) - 1) + [[0, extra]]
        return keras.ops.pad(inputs, pad)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="keras_resnet")
class ReverseChannels(keras.layers.Layer):
    """Reverses the channel axis (last): RGB in, BGR out, for weights trained on BGR images."""

    def call(self, inputs):
        return keras.ops.flip(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape
