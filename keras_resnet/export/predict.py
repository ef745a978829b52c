"""Classify images with an exported ``.tflite`` model: the file to copy to a phone-class or
edge board (a Raspberry Pi, ...). It needs only ai-edge-litert, numpy and Pillow — no
TensorFlow:

    pip install ai-edge-litert numpy pillow
    python predict.py --model model_int8.tflite --labels labels.txt cat.jpg dog.jpg

``preprocessing.json`` (written by the exporter beside the model, found there by default)
says how pixels become the model's input: resize and center crop, then the per-channel
normalization unless the model has it built in; and whether the output is probabilities
already or logits (a softmax is applied here). Integer models get their input quantized and
their output dequantized here, with the scales stored in the file. Its command line is
argparse's, not absl's like the project's other commands, so that the device needs nothing
beyond those three packages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zipfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from PIL import Image


class LiteRTClassifier:
    """A `.tflite` image classifier run by the LiteRT interpreter (XNNPACK on CPUs)."""

    def __init__(self, model: str | bytes, num_threads: int = 1, delegate: bool = True):
        content = {"model_content": model} if isinstance(model, bytes) else {
            "model_path": model}
        resolver = (OpResolverType.AUTO if delegate
                    else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self.interpreter = Interpreter(**content, num_threads=num_threads,
                                       experimental_op_resolver_type=resolver)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) the model takes."""
        return int(self.input["shape"][1]), int(self.input["shape"][2])

    def _quantize(self, image: np.ndarray) -> np.ndarray:
        dtype = self.input["dtype"]
        if dtype == np.float32:
            return image.astype(np.float32)
        scale, zero_point = self.input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(image / scale + zero_point), info.min, info.max).astype(dtype)

    def _dequantize(self, values: np.ndarray) -> np.ndarray:
        if values.dtype == np.float32:
            return values
        scale, zero_point = self.output["quantization"]
        return (values.astype(np.float32) - zero_point) * scale

    def scores(self, images: np.ndarray) -> np.ndarray:
        """The float output (probabilities or logits, as exported) for `images` (n, height,
        width, 3) given in the model's float input domain, one invocation per image (batch 1,
        as on a device)."""
        out = []
        for image in images:
            self.interpreter.set_tensor(self.input["index"], self._quantize(image[None]))
            self.interpreter.invoke()
            out.append(self._dequantize(self.interpreter.get_tensor(self.output["index"]))[0])
        return np.stack(out)

    def latency_ms(self, runs: int = 50, warmup: int = 5) -> dict[str, float]:
        """Median and 90th percentile of `runs` timed batch-1 invocations, in milliseconds."""
        sample = np.zeros(self.input["shape"], self.input["dtype"])
        self.interpreter.set_tensor(self.input["index"], sample)
        for _ in range(warmup):
            self.interpreter.invoke()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            self.interpreter.invoke()
            times.append((time.perf_counter() - start) * 1e3)
        return {"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90)),
                "runs": runs}

    def op_names(self) -> list[str]:
        """The model's operators, by type (as written in the file, before any delegate)."""
        ops = self.interpreter._get_ops_details()  # noqa: SLF001 (LiteRT's only op listing)
        return sorted({op["op_name"] for op in ops})


def load_image(path: str, size: tuple[int, int], crop_fraction: float = 1.0) -> np.ndarray:
    """RGB pixels 0..255 (float32) of `path`: the shorter side resized to size / crop_fraction,
    then the center size crop (crop_fraction 1.0: CIFAR-style plain resize)."""
    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L"):  # 16-bit grey: scaled, as TF decodes it
            image = Image.fromarray(np.round(np.asarray(image, np.float64) / 257.0)
                                    .astype(np.uint8))
        image = image.convert("RGB")
        height, width = size
        scale = max(height, width) / crop_fraction / min(image.size)
        resized = (max(width, round(image.size[0] * scale)),
                   max(height, round(image.size[1] * scale)))
        if resized != image.size:
            image = image.resize(resized, Image.BILINEAR)
        left, top = (resized[0] - width) // 2, (resized[1] - height) // 2
        return np.asarray(image.crop((left, top, left + width, top + height)), np.float32)


def parse_labels(text: str) -> list[str]:
    """Class names from the text of a labels file: one per line, blank lines skipped (a name may
    hold spaces)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_labels(path: str) -> list[str]:
    """The class names of the labels file at `path` (an export's or a run's labels.txt)."""
    with open(path) as f:
        return parse_labels(f.read())


def packed_labels(model_path: str) -> list[str] | None:
    """The class names packed into the model with its metadata (the standard TFLite metadata
    keeps associated files as a zip after the flatbuffer), or None."""
    try:
        with zipfile.ZipFile(model_path) as archive:
            text = archive.read("labels.txt").decode()
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    return parse_labels(text) or None


def preprocess(pixels: np.ndarray, preprocessing: dict) -> np.ndarray:
    """The model's float input for raw `pixels`: normalized unless the model does it."""
    if preprocessing.get("included", False):
        return pixels
    mean = np.asarray(preprocessing["mean"], np.float32)
    std = np.asarray(preprocessing["std"], np.float32)
    return (pixels - mean) / std


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+", help="image files to classify")
    parser.add_argument("--model", required=True, help="the .tflite file")
    parser.add_argument("--labels", help="labels.txt (default: the one packed in the model's "
                        "metadata, else the one beside the model)")
    parser.add_argument("--preprocessing",
                        help="preprocessing.json (default: beside the model)")
    parser.add_argument("--top", type=int, default=3, help="how many classes to print")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads")
    args = parser.parse_args(argv)
    folder = os.path.dirname(os.path.abspath(args.model))
    labels = None if args.labels or not os.path.isfile(args.model) else packed_labels(args.model)
    labels_path = args.labels or os.path.join(folder, "labels.txt")
    prep_path = args.preprocessing or os.path.join(folder, "preprocessing.json")
    needed = [(args.model, "model"), (prep_path, "preprocessing")]
    for path, what in needed + ([] if labels else [(labels_path, "labels")]):
        if not os.path.isfile(path):
            parser.error(f"{what} file {path!r} not found")
    if labels is None:
        labels = read_labels(labels_path)
    with open(prep_path) as f:
        preprocessing = json.load(f)
    classifier = LiteRTClassifier(args.model, num_threads=args.threads)
    for path in args.images:
        pixels = load_image(path, classifier.image_size, preprocessing.get("crop_fraction", 1.0))
        scores = classifier.scores(preprocess(pixels, preprocessing)[None])[0]
        # exports before --scores wrote no "scores" key: they output logits
        probs = scores if preprocessing.get("scores") == "probabilities" else softmax(scores)
        best = np.argsort(probs)[::-1][: args.top]
        print(path + ": " + ", ".join(f"{labels[i]} {probs[i]:.3f}" for i in best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
