"""Quantization-aware training with tensorflow-model-optimization, which accepts only tf_keras
(Keras 2) models: the only place the project imports tf_keras.

The twin is built by the zoo's own builder (`keras_resnet.builder.assemble`) with tf_keras'
layers, from the architecture the model recorded (`keras_resnet.build_args`); the Keras 3
weights are copied by layer name and the float twin must reproduce the Keras 3 logits (max
|diff| <= `TWIN_TOLERANCE`) before it is quantized, fine-tuned and saved as a SavedModel for
the converter.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras

from keras_resnet import blocks, builder
from keras_resnet.data.image_folder import FolderSplit
from keras_resnet.specs import spec_for

TWIN_TOLERANCE = 1e-5


class TwinZeroPadChannels(tf_keras.layers.Layer):
    """tf_keras' `keras_resnet.layers.ZeroPadChannels`: zero feature maps appended up to
    `channels` (the option-A shortcut)."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)

    def call(self, inputs):
        return tf.pad(inputs, [[0, 0], [0, 0], [0, 0], [0, self.channels - inputs.shape[-1]]])

    def get_config(self) -> dict:
        return {**super().get_config(), "channels": self.channels}


class PassThroughQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
    """Zero padding has no weights and keeps its input's quantization: nothing to add."""

    def get_weights_and_quantizers(self, layer):
        return []

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        pass

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return []

    def get_config(self) -> dict:
        return {}


class _TwinLayers:
    """tf_keras' layers, with BatchNormalization computing as Keras 3's does
    (``tf.nn.batch_normalization`` rather than the fused kernel), so the twin's float logits
    match to rounding."""

    BatchNormalization = functools.partial(tf_keras.layers.BatchNormalization, fused=False)

    def __getattr__(self, name):
        return getattr(tf_keras.layers, name)


def tf_keras_twin(model: keras.Model) -> tf_keras.Model:
    """The tf_keras model of `model`'s architecture, with `model`'s weights."""
    args = builder.build_args(model)
    if not args["include_top"]:
        raise ValueError(f"QAT needs a model with its classification top; {model.name!r} was "
                         "built with include_top=False.")
    opts = blocks.BlockOptions(args["residual"], args["shortcut"], args["bottleneck_stride"],
                               layers=_TwinLayers(), pad_channels=TwinZeroPadChannels)
    inputs = tf_keras.Input(args["input_shape"], name="input")
    outputs = builder.assemble(spec_for(args["family"], args["depth"]), opts, inputs, True,
                               None, args["classes"], args["classifier_activation"])
    twin = tf_keras.Model(inputs, outputs, name=model.name)
    missing = []
    for layer in twin.layers:
        if not layer.weights:
            continue
        try:
            source = model.get_layer(layer.name)
        except ValueError:
            missing.append(layer.name)
            continue
        layer.set_weights(source.get_weights())
    if missing:
        raise ValueError(f"the tf_keras twin has layers {missing[:5]} that {model.name!r} lacks;"
                         " it was not built by keras_resnet with these arguments.")
    return twin


def check_twin(model: keras.Model, twin: tf_keras.Model, images: np.ndarray) -> float:
    """Max |logit difference| of `twin` vs `model` on `images`; ValueError above tolerance."""
    diff = float(np.abs(twin.predict(images, verbose=0)
                        - model.predict(images, verbose=0)).max())
    if diff > TWIN_TOLERANCE:
        raise ValueError(f"the tf_keras twin differs from the Keras 3 model by {diff:.2e} "
                         f"(> {TWIN_TOLERANCE}); refusing to quantize a model that is not "
                         "the same network.")
    return diff


def quantize(twin: tf_keras.Model) -> tf_keras.Model:
    """`twin` with fake-quantization (tfmot's default 8-bit scheme) for QAT."""
    qk = tfmot.quantization.keras

    def annotate(layer):
        if isinstance(layer, TwinZeroPadChannels):
            return qk.quantize_annotate_layer(layer, PassThroughQuantizeConfig())
        return layer

    for layer in twin.layers:  # BatchNorm keeps its trained statistics (inference mode)
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            layer.trainable = False
    annotated = tf_keras.models.clone_model(twin, clone_function=annotate)
    annotated.set_weights(twin.get_weights())
    annotated = qk.quantize_annotate_model(annotated)
    with qk.quantize_scope({"TwinZeroPadChannels": TwinZeroPadChannels,
                            "PassThroughQuantizeConfig": PassThroughQuantizeConfig}):
        return qk.quantize_apply(annotated)


def calibrate_ranges(qat_model: tf_keras.Model, batches: tf.data.Dataset,
                     steps: int = 100, decay: float = 0.9) -> None:
    """Sets the activation ranges from data before fine-tuning.

    tfmot tracks each activation's range as a moving average with a fixed decay of 0.999,
    starting from [-6, 6]: it takes thousands of steps to settle, so a short fine-tune would
    quantize with ranges that are mostly the initial guess. These forward passes (no weight
    update; BatchNorm frozen) use `decay` instead, by tracing with tfmot's range op wrapped.
    """
    from tensorflow_model_optimization.python.core.quantization.keras import quant_ops

    original = quant_ops.MovingAvgQuantize

    def fast(*args, **kwargs):
        return original(*args, **{**kwargs, "ema_decay": decay})

    quant_ops.MovingAvgQuantize = fast
    try:
        forward = tf.function(lambda images: qat_model(images, training=True))
        iterator = iter(batches.repeat())
        forward(next(iterator)[0])  # traced now, with the fast decay
    finally:
        quant_ops.MovingAvgQuantize = original
    for _ in range(steps - 1):
        forward(next(iterator)[0])


def _train_data(train: FolderSplit, config, size: int, mean, std, crop_fraction: float):
    from keras_resnet.data.pipeline import PipelineConfig, TrainingEpochs, folder_source

    if config.qat_train_samples:
        train = train.sample(config.qat_train_samples, config.seed)
    augment = "cifar" if crop_fraction == 1.0 else "imagenet"
    cfg = PipelineConfig(size, config.qat_batch_size, mean, std, augment,
                         shuffle_buffer=len(train), seed=config.seed)
    epochs = TrainingEpochs(folder_source(train), cfg, len(train))
    return epochs.stream(), len(train)


def qat_schedule(lr: float, steps: int):
    """The fine-tuning learning rate: from `lr` down to zero over `steps` (cosine), so the
    weights settle at the end as they did when the model was trained."""
    return tf_keras.optimizers.schedules.CosineDecay(lr, max(1, steps))


def quantization_aware_saved_model(model: keras.Model, train: FolderSplit,
                                   calibration: np.ndarray, mean: np.ndarray, std: np.ndarray,
                                   include_preprocessing: bool, crop_fraction: float,
                                   config, output_dir: str) -> tuple[str, dict]:
    """Twin, check, quantize, fine-tune; returns a SavedModel folder (temporary, inside
    `output_dir`) with the same signature as the float export, and the QAT facts.

    `model` is the bare network (normalized input); `calibration` holds normalized images.
    """
    twin = tf_keras_twin(model)
    diff = check_twin(model, twin, calibration[:64])
    qat_model = quantize(twin)
    data, count = _train_data(train, config, model.input_shape[1], mean, std, crop_fraction)
    from_logits = model.get_layer("predictions").get_config()["activation"] == "linear"
    loss = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    calibrate_ranges(qat_model, data)
    steps = config.qat_epochs * (count // config.qat_batch_size)  # batches drop the rest
    qat_model.compile(tf_keras.optimizers.SGD(qat_schedule(config.qat_lr, steps),
                                          momentum=0.9), loss, metrics=["accuracy"])
    if config.qat_epochs:
        qat_model.fit(data, epochs=config.qat_epochs,
                      steps_per_epoch=count // config.qat_batch_size, verbose=2)
    mean_t, std_t = tf.constant(mean, tf.float32), tf.constant(std, tf.float32)
    height, width = model.input_shape[1:3]

    @tf.function(input_signature=[tf.TensorSpec((None, height, width, 3), tf.float32,
                                                name="image")])
    def serve(image):
        x = (image - mean_t) / std_t if include_preprocessing else image
        out = qat_model(x, training=False)
        if config.scores == "probabilities" and from_logits:
            out = tf.nn.softmax(out)
        return {config.scores: out}

    # The root tracks the variables, not the tf_keras model: saving a model object also traces
    # every layer's call for the Keras SavedModel format, which the converter never reads.
    module = tf.Module()
    module.qat_variables = list(qat_model.variables)
    folder = tempfile.mkdtemp(dir=output_dir, prefix=".tmp-qat-saved_model-")
    try:
        tf.saved_model.save(module, folder, signatures={"serving_default": serve})
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, {"twin_max_abs_diff": diff, "epochs": config.qat_epochs,
                    "train_images": count, "lr": config.qat_lr, "lr_schedule": "cosine to 0",
                    "saved_model": os.path.basename(folder)}
