"""Every TFLite converter setting of the project, per variant (the one place they live).

A SavedModel becomes ``.tflite`` bytes through `tf.lite.TFLiteConverter.from_saved_model`:

- ``float32``: no optimization;
- ``float16``: float16 weights (dequantized at load time; runs in float32 on a CPU);
- ``dynamic``: int8 weights, activations quantized on the fly (dynamic-range);
- ``int8``: full-integer: int8 weights and activations calibrated on a representative dataset,
  int8 (or uint8) input and output, builtin int8 ops only: it fails rather than fall back to
  float, so the file runs on NPU/DSP/Edge TPU delegates;
- ``qat``: a quantization-aware-trained model (see `keras_resnet.export.qat`) converted to
  full integer.

Intermediate tensor names (long ``;``-joined lists of the fused Keras ops) are cleared
afterwards: they are debug strings only, and a small model's size is otherwise dominated by
them. The input and output names and the signature are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

VARIANTS = ("float32", "float16", "dynamic", "int8", "qat")
INTEGER_VARIANTS = ("int8", "qat")
IO_TYPES = {"int8": tf.int8, "uint8": tf.uint8}

Representative = Callable[[], Iterable[list[np.ndarray]]]


def converter_for(saved_model_dir: str, variant: str,
                  representative: Representative | None = None,
                  io_type: str = "int8") -> tf.lite.TFLiteConverter:
    """A converter of `saved_model_dir` configured for `variant`."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}.")
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    if variant == "float32":
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif variant in INTEGER_VARIANTS:
        if io_type not in IO_TYPES:
            raise ValueError(f"integer input/output type must be one of {sorted(IO_TYPES)}; "
                             f"got {io_type!r}.")
        if variant == "int8" and representative is None:
            raise ValueError("full-integer int8 needs a representative dataset.")
        if representative is not None:  # qat: ranges of ops outside the fake-quant graph
            converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = IO_TYPES[io_type]
        converter.inference_output_type = IO_TYPES[io_type]
    return converter


def convert(saved_model_dir: str, variant: str, representative: Representative | None = None,
            io_type: str = "int8") -> bytes:
    """The `variant` `.tflite` flatbuffer of `saved_model_dir`, intermediate names cleared."""
    flatbuffer = converter_for(saved_model_dir, variant, representative, io_type).convert()
    return clear_intermediate_names(flatbuffer)


def clear_intermediate_names(flatbuffer: bytes) -> bytes:
    """`flatbuffer` with every tensor name emptied except the subgraphs' inputs and outputs."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    for subgraph in model.subgraphs:
        keep = set(subgraph.inputs.tolist()) | set(subgraph.outputs.tolist())
        for index, tensor in enumerate(subgraph.tensors):
            if index not in keep:
                tensor.name = b""
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
