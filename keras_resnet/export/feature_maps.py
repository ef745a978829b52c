"""The export of a backbone: a network's per-stage feature maps (`keras_resnet.features`) as
a SavedModel with one output per stage and `.tflite` variants, each output of each file
compared with Keras' on the same images. No metadata: mobile classifier runtimes have no use
for a backbone; the app that runs the detection or segmentation head reads the outputs by
name (the signature's output keys are the stage names)."""

from __future__ import annotations

import os

import numpy as np

import keras_resnet
from keras_resnet.common.atomic_io import atomic_path
from keras_resnet.common.results import cpu_features, load, machine
from keras_resnet.data.image_folder import read_image_folder
from keras_resnet.data.numpy_loader import decode_split
from keras_resnet.export import converter, report, serving
from keras_resnet.export.config import ExportConfig
from keras_resnet.export.pipeline import (
    RANDOM_EVAL_IMAGES,
    Source,
    set_batchnorm_statistics,
    write_export,
)
from keras_resnet.export.predict import LiteRTClassifier
from keras_resnet.preprocessing import with_normalization

VARIANTS = ("float32", "float16", "dynamic", "int8")


def _check(source: Source, config: ExportConfig) -> None:
    if bad := [v for v in config.quantize if v not in VARIANTS]:
        raise ValueError(f"--features exports {', '.join(VARIANTS)}, not {', '.join(bad)}.")
    if "int8" in config.quantize and source.dataset is None and not config.random_calibration:
        raise ValueError("int8 needs training images to calibrate on: pass "
                         "--dataset=folder:PATH, or --random_calibration for size and speed.")


def tflite_outputs(content: bytes, images: np.ndarray) -> dict[str, np.ndarray]:
    """{stage: float feature maps} of the `.tflite` `content` on `images` (float input domain),
    batch 1 as on a device; integer inputs and outputs go through their stored scales."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=1)
    runner = interpreter.get_signature_runner("serving_default")
    (name, detail), = runner.get_input_details().items()
    outputs = runner.get_output_details()
    found: dict[str, list[np.ndarray]] = {key: [] for key in outputs}
    for image in images:
        x = image[None]
        if detail["dtype"] != np.float32:
            scale, zero = detail["quantization"]
            info = np.iinfo(detail["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        result = runner(**{name: x.astype(detail["dtype"])})
        for key, value in result.items():
            if value.dtype != np.float32:
                scale, zero = outputs[key]["quantization"]
                value = (value.astype(np.float32) - zero) * scale
            found[key].append(value[0])
    return {key: np.stack(values) for key, values in found.items()}


def run(source: Source, config: ExportConfig) -> dict:
    """The whole backbone export; returns the report (also written to config.output_dir,
    which changes only once the export is complete, and to config.report_dir when set)."""
    _check(source, config)
    return write_export(config, lambda folder: _export(source, config, folder))


def _export(source: Source, config: ExportConfig, output_dir: str) -> dict:
    height, width = serving.check_fixed_size(source.model)
    mean, std = source.mean_std()
    rng = np.random.default_rng(config.seed)
    if source.random_weights:
        pixels = rng.uniform(0, 255, (RANDOM_EVAL_IMAGES, height, width, 3))
        set_batchnorm_statistics(source.model, ((pixels - mean) / std).astype(np.float32))
    model = keras_resnet.feature_model(source.model)
    train = None
    if source.dataset is not None:
        splits = read_image_folder(source.folder(), source.val_fraction)
        train = splits["train"]
        pixels, _ = decode_split(splits["val"].sample(config.eval_samples or
                                                      RANDOM_EVAL_IMAGES, config.seed), height)
        what = f"{len(pixels)} val images of {source.dataset}"
    else:
        pixels = rng.uniform(0, 255, (RANDOM_EVAL_IMAGES, height, width, 3))
        what = f"{len(pixels)} random images"

    def to_input(raw: np.ndarray) -> np.ndarray:
        raw = raw.astype(np.float32)
        return raw if config.include_preprocessing else ((raw - mean) / std).astype(np.float32)

    def representative():
        raw = (rng.uniform(0, 255, (config.calibration_samples, height, width, 3))
               if train is None else
               decode_split(train.sample(config.calibration_samples, config.seed), height)[0])
        for image in to_input(raw):
            yield [image[None]]

    exported = with_normalization(model, mean, std) if config.include_preprocessing else model
    images = to_input(pixels)
    keras_maps = {k: np.asarray(v) for k, v in exported.predict(images, verbose=0).items()}
    serving.write_saved_model(exported, os.path.join(output_dir, "saved_model"), None)
    result = {"kind": "features", "model": source.model.name, "source": source.description,
              "input_shape": [None, height, width, 3],
              "preprocessing": {"included": config.include_preprocessing,
                                "mean": mean.tolist(), "std": std.tolist()},
              "outputs": {k: list(v.shape[1:]) for k, v in keras_maps.items()},
              "eval": {"description": what, "images": len(images)},
              "variants": {}, "files": ["saved_model"],
              "machine": f"{machine()}; features: {', '.join(cpu_features()) or 'unknown'}; "
                         f"{load()} at start",
              "latency_runs": config.latency_runs}
    for variant in config.quantize:
        print(f"converting {variant} ...")
        content = converter.convert(os.path.join(output_dir, "saved_model"), variant,
                                    representative, config.int8_io)
        name = f"model_{variant}.tflite"
        with atomic_path(os.path.join(output_dir, name), suffix=".tflite") as tmp:
            with open(tmp, "wb") as f:
                f.write(content)
        maps = tflite_outputs(content, images)
        if sorted(maps) != sorted(keras_maps):
            raise RuntimeError(f"{name} outputs {sorted(maps)}, Keras {sorted(keras_maps)}")
        timer = LiteRTClassifier(content)
        result["variants"][variant] = {
            "file": name, "bytes": len(content),
            "max_abs_diff": {k: float(np.abs(maps[k] - keras_maps[k]).max()) for k in maps},
            "max_abs_keras": {k: float(np.abs(keras_maps[k]).max()) for k in maps},
            "latency": {"1_thread": timer.latency_ms(config.latency_runs)}}
        result["files"].append(name)
        worst = max(d / max(s, 1e-12) for d, s in zip(
            result["variants"][variant]["max_abs_diff"].values(),
            result["variants"][variant]["max_abs_keras"].values(), strict=True))
        print(f"  {name}: {len(content):,} bytes, largest |diff| {worst:.2e} of the map's scale")
    result["files"] += ["report.json", "report.md"]
    report.write(result, output_dir)
    return result
