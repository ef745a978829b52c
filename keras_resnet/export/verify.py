"""What every export proves about each `.tflite` file: its size and sha256, its accuracy and
agreement with the Keras model on the same images, how far its outputs (probabilities or
logits) are from Keras', its latency under the LiteRT interpreter (XNNPACK, batch 1), and its
operators (full-integer files: int8 only)."""

from __future__ import annotations

import hashlib
import os

import numpy as np

from keras_resnet.export.predict import LiteRTClassifier

#: Operators an integer model may contain without computing in float.
QUANTIZATION_OPS = ("QUANTIZE", "DEQUANTIZE")
#: Variants whose outputs are compared with Keras' (the others are quantized).
FLOAT_VARIANTS = frozenset({"float32", "float16"})


def integer_only_problems(classifier: LiteRTClassifier) -> list[str]:
    """Why the model is not integer-only (empty if it is): float tensors between operators,
    quantize/dequantize operators from or to float, or custom (Flex) operators."""
    problems = []
    details = classifier.interpreter.get_tensor_details()
    dtype = {t["index"]: t["dtype"] for t in details}
    odd = set()
    for op in classifier.interpreter._get_ops_details():  # noqa: SLF001 (LiteRT's only listing)
        name = op["op_name"]
        tensors = [*op["inputs"], *op["outputs"]]
        if name.startswith("Flex") or name == "CUSTOM" or (
                # uint8 <-> int8 requantization (uint8 input or output) is integer arithmetic
                name in QUANTIZATION_OPS and any(dtype.get(i) == np.float32 for i in tensors)):
            odd.add(name)
    if odd:
        problems.append(f"operators {sorted(odd)}")
    floats = [t["name"] or f"#{t['index']}" for t in details if t["dtype"] == np.float32]
    if floats:
        problems.append(f"{len(floats)} float32 tensor(s), e.g. {floats[:3]}")
    return problems


def verify(path: str, variant: str, images: np.ndarray | None, labels: np.ndarray | None,
           keras_scores: np.ndarray | None, threads: tuple[int, ...] = (1, 2),
           runs: int = 50, reference_scores: np.ndarray | None = None) -> dict:
    """The report entry of the `.tflite` file at `path` (`images` in its float input domain;
    None for a size/speed-only export). Float variants' outputs are compared with Keras'
    float32 ones and, when given, with the Keras model's float64 recomputation
    `reference_scores`."""
    with open(path, "rb") as f:
        content = f.read()
    entry: dict = {"file": os.path.basename(path), "bytes": len(content),
                   "sha256": hashlib.sha256(content).hexdigest()}  # which file these figures are of
    listing = LiteRTClassifier(content, delegate=False)  # operators as stored, not delegated
    entry["ops"] = listing.op_names()
    entry["input_dtype"] = np.dtype(listing.input["dtype"]).name
    if variant in ("int8", "qat"):
        entry["integer_only_problems"] = integer_only_problems(listing)
    classifier = LiteRTClassifier(content, num_threads=1)
    if images is not None:
        scores = classifier.scores(images)
        predicted = scores.argmax(axis=1)
        if labels is not None:
            entry["top1"] = float((predicted == labels).mean())
        if keras_scores is not None:
            entry["agreement"] = float((predicted == keras_scores.argmax(axis=1)).mean())
            if variant in FLOAT_VARIANTS:
                entry["max_abs_diff"] = float(np.abs(scores - keras_scores).max())
        if reference_scores is not None and variant in FLOAT_VARIANTS:
            entry["max_abs_diff_float64"] = float(np.abs(scores - reference_scores).max())
    entry["latency"] = {}
    for n in threads:
        runner = classifier if n == 1 else LiteRTClassifier(content, num_threads=n)
        entry["latency"][f"{n}_thread{'s' if n > 1 else ''}"] = runner.latency_ms(runs)
    return entry
