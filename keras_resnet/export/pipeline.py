"""The export, step by step: check everything, load the images, write the SavedModel, convert
and verify each variant, write the report. `export/export.py` fills the arguments from flags."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile

import keras
import numpy as np

import keras_resnet
from keras_resnet.common.atomic_io import atomic_folder, atomic_path, write_text
from keras_resnet.common.flagfile import read_flagfile
from keras_resnet.common.results import cpu_features, load, machine
from keras_resnet.data.image_folder import read_image_folder
from keras_resnet.data.numpy_loader import decode_split
from keras_resnet.export import converter, metadata, serving
from keras_resnet.export.config import ExportConfig
from keras_resnet.export.predict import read_labels
from keras_resnet.export.reference import float64_outputs
from keras_resnet.export.verify import FLOAT_VARIANTS, verify
from keras_resnet.preprocessing import normalization_for, normalization_name
from keras_resnet.weights.keras_h5 import load_model_file

#: Images a dataset-less export compares Keras and TFLite logits on.
RANDOM_EVAL_IMAGES = 16
#: ImageNet-style evaluation crops the center 224/256 of the resized image.
IMAGENET_CROP_FRACTION = 224 / 256


@dataclasses.dataclass
class Source:
    """The model to export and what is known about its data."""

    model: keras.Model
    description: str
    class_names: tuple[str, ...] | None = None
    dataset: str | None = None
    val_fraction: float = 0.1
    normalization: str = "auto"
    crop_fraction: float = 1.0
    random_weights: bool = False

    @classmethod
    def from_model_dir(cls, model_dir: str) -> Source:
        best = os.path.join(model_dir, "model_best.keras")
        path = best if os.path.isfile(best) else os.path.join(model_dir, "model.keras")
        if not os.path.isdir(model_dir):
            raise ValueError(f"model_dir {model_dir!r} does not exist.")
        run = read_flagfile(os.path.join(model_dir, "flags.txt"))
        names = None
        labels = os.path.join(model_dir, "labels.txt")
        if os.path.isfile(labels):
            names = tuple(read_labels(labels))
        return cls(load_model_file(path), path, names, run.get("dataset"),
                   float(run.get("val_fraction", 0.1)), run.get("normalization", "auto"),
                   IMAGENET_CROP_FRACTION if run.get("augment") == "imagenet" else 1.0)

    @classmethod
    def from_model_file(cls, path: str) -> Source:
        return cls(load_model_file(path), path)

    @classmethod
    def from_architecture(cls, name: str, weights: str | None, image_size: int | None,
                          classes: int | None, seed: int = 0) -> Source:
        """`name` with `weights`; with none, random weights drawn from `seed` (repeatable)."""
        kwargs = {"classes": classes} if classes else {}
        if weights is None:
            keras.utils.set_random_seed(seed)
        if image_size:
            kwargs["input_shape"] = (image_size, image_size, 3)
        model = keras_resnet.get_model(name, weights=weights, classifier_activation=None,
                                       **kwargs)
        crop = 1.0 if keras_resnet.registry.get_entry(name).spec.stem == "cifar" else (
            IMAGENET_CROP_FRACTION)
        what = weights or (f"random weights of seed {seed}, BatchNorm statistics set from "
                           "random images")
        return cls(model, f"{name} ({what})", crop_fraction=crop,
                   random_weights=weights is None)

    @classmethod
    def from_config(cls, config: ExportConfig) -> Source:
        """The source `config` names (a model_dir, a .keras file or an architecture), with its
        dataset, val_fraction and normalization overriding what a model_dir said."""
        if config.model_dir:
            source = cls.from_model_dir(config.model_dir)
        elif config.model_file:
            source = cls.from_model_file(config.model_file)
        else:
            source = cls.from_architecture(config.model, config.weights, config.image_size,
                                           config.classes, config.seed)
        return source.with_data(config.dataset, config.val_fraction, config.normalization)

    def with_data(self, dataset: str | None, val_fraction: float | None,
                  normalization: str | None) -> Source:
        """This source with flags overriding what the model_dir said."""
        return dataclasses.replace(
            self, dataset=dataset or self.dataset,
            val_fraction=self.val_fraction if val_fraction is None else val_fraction,
            normalization=normalization or self.normalization)

    def folder(self) -> str | None:
        if self.dataset is None:
            return None
        if not self.dataset.startswith("folder:"):
            raise ValueError(f"the exporter reads image folders (folder:PATH); the dataset is "
                             f"{self.dataset!r}. Pass --dataset=folder:PATH.")
        return self.dataset[len("folder:"):]

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        return normalization_for(normalization_name(self.normalization, self.dataset or ""))


def set_batchnorm_statistics(model: keras.Model, images: np.ndarray) -> None:
    """Gives a randomly initialized network a trained one's activation scale: every
    BatchNorm's moving mean and variance become the statistics of its input on `images` (one
    training-mode pass with momentum 0). Without it, random ResNet-50 logits reach ~1e4 and a
    float32 comparison measures rounding at that scale, not the conversion."""
    norms = [layer for layer in model.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    try:
        model(images, training=True)
    finally:
        for layer, momentum in zip(norms, saved, strict=True):
            layer.momentum = momentum


#: Files every export folder has besides those its report lists (the report itself).
REPORT_FILES = ("report.json", "report.md")


class ExportWriteError(RuntimeError):
    """The export could not be written (a full disk, a lost mount); the output folder is
    left as it was."""


def check_output_dir(path: str) -> None:
    """ValueError unless `path` is absent, empty, or a previous export (every entry listed
    in its report.json), and the folder that holds it can be written to: the export is
    written beside `path` and replaces the whole folder in one step."""
    path = os.path.abspath(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ValueError(f"--output_dir {path!r} is a file, not a folder.")
    if os.path.isdir(path) and os.listdir(path):
        extra = sorted(set(os.listdir(path)) - set(_listed(path)))
        if extra:
            raise ValueError(
                f"--output_dir {path!r} holds {', '.join(extra[:5])}"
                f"{f' and {len(extra) - 5} more' if len(extra) > 5 else ''}, which no export "
                "there wrote: an export replaces the whole folder, so it would delete them. "
                "Choose a new or empty folder, or move them out.")
    parent = os.path.dirname(path)
    try:
        os.makedirs(parent, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".tmp-probe-"):
            pass
    except OSError as err:
        raise ValueError(f"cannot write beside the output directory {path!r} (the export is "
                         f"written there, then swapped in): {err}") from None


def _listed(folder: str) -> list[str]:
    """The entries the report.json in `folder` says its export wrote ([] without one)."""
    try:
        with open(os.path.join(folder, "report.json")) as f:
            files = json.load(f).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [*REPORT_FILES, *(f for f in files if isinstance(f, str))]


@contextlib.contextmanager
def staged_output(output_dir: str):
    """Yields the folder to write the export into; it replaces `output_dir` whole once the
    block succeeds (`atomic_folder`): a reader, or a kill, never sees half an export."""
    try:
        with atomic_folder(output_dir) as folder:
            yield folder
    except OSError as err:
        raise ExportWriteError(
            f"the export to {output_dir} stopped: {err}. Nothing in {output_dir} was replaced "
            "(it still holds the previous export, if there was one): free space or fix the "
            "folder and rerun.") from None


def _check(source: Source, config: ExportConfig) -> None:
    unknown = [v for v in config.quantize if v not in converter.VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; choose from "
                         f"{', '.join(converter.VARIANTS)}.")
    serving.check_fixed_size(source.model)
    needs_data = [v for v in config.quantize if v in converter.INTEGER_VARIANTS]
    if needs_data and source.dataset is None and not config.random_calibration:
        raise ValueError(f"{', '.join(needs_data)} need training images (calibration, QAT): "
                         "pass --dataset=folder:PATH, or --random_calibration for a "
                         "size/speed-only int8 export.")
    if "qat" in config.quantize and source.dataset is None:
        raise ValueError("qat fine-tunes on training images: pass --dataset=folder:PATH.")
    if source.dataset is not None and source.model.output_shape[-1] != len(
            read_image_folder(source.folder(), source.val_fraction)["train"].class_names):
        raise ValueError(f"the model has {source.model.output_shape[-1]} outputs but "
                         f"{source.dataset} has a different number of classes.")


def run(source: Source, config: ExportConfig) -> dict:
    """The whole export; returns the report (also written to config.output_dir, and to
    config.report_dir when set). `output_dir` changes only once the export is complete."""
    _check(source, config)
    return write_export(config, lambda folder: _export(source, config, folder))


def write_export(config: ExportConfig, export) -> dict:
    """Runs `export(folder)` (which writes an export into `folder` and returns its report)
    so that config.output_dir is replaced whole once it succeeds (`staged_output`), then
    writes the report to config.report_dir too when set. Returns the report."""
    check_output_dir(config.output_dir)
    with staged_output(config.output_dir) as folder:
        report = export(folder)
    if config.report_dir:
        from keras_resnet.export import report as report_writer

        report_writer.write(report, config.report_dir)
    return report


def _export(source: Source, config: ExportConfig, output_dir: str) -> dict:
    model = source.model
    height, width = serving.check_fixed_size(model)
    mean, std = source.mean_std()
    rng = np.random.default_rng(config.seed)

    def to_input(pixels: np.ndarray) -> np.ndarray:  # raw pixels -> the model's input domain
        return pixels if config.include_preprocessing else (pixels - mean) / std

    images = labels = train = None
    class_names = source.class_names
    if source.dataset is not None:
        splits = read_image_folder(source.folder(), source.val_fraction)
        train, val = splits["train"], splits["val"]
        class_names = class_names or train.class_names
        if config.eval_samples:  # a seeded sample of every class, not the first classes
            val = val.sample(config.eval_samples, config.seed)
        pixels, labels = decode_split(val, height)
        images = to_input(pixels.astype(np.float32))
        print(f"evaluating on {len(val)} val images of {source.dataset}")
    if class_names is None:
        class_names = tuple(str(i) for i in range(model.output_shape[-1]))

    if images is None:  # no dataset: compare with Keras on random images (no labels)
        pixels = rng.uniform(0, 255, (RANDOM_EVAL_IMAGES, height, width, 3))
        images = to_input(pixels.astype(np.float32))
    if source.random_weights:
        pixels = rng.uniform(0, 255, (RANDOM_EVAL_IMAGES, height, width, 3))
        set_batchnorm_statistics(model, ((pixels - mean) / std).astype(np.float32))
    exported = serving.serving_model(model, *((mean, std) if config.include_preprocessing
                                              else (None, None)), scores=config.scores)
    keras_scores = exported.predict(images, batch_size=64, verbose=0)
    reference_scores = None
    if FLOAT_VARIANTS & set(config.quantize):  # their outputs are compared with the exact ones
        reference_scores = float64_outputs(exported, images)

    def representative():
        if train is None:  # --random_calibration: images of the input's usual range
            pixels = rng.uniform(0, 255, (config.calibration_samples, height, width, 3))
        else:
            pixels, _ = decode_split(train.sample(config.calibration_samples, config.seed),
                                     height)
        for image in to_input(pixels.astype(np.float32)):
            yield [image[None]]

    saved_model = os.path.join(output_dir, "saved_model")
    serving.write_saved_model(exported, saved_model, config.scores)
    report = {
        "model": model.name, "source": source.description,
        "input_shape": [None, height, width, 3],
        "preprocessing": {"included": config.include_preprocessing,
                          "mean": mean.tolist(), "std": std.tolist(),
                          "crop_fraction": source.crop_fraction, "scores": config.scores},
        "eval": {"description": (f"{len(images)} val images of {source.dataset}"
                                 if labels is not None else
                                 f"{len(images)} random images (no dataset: agreement and "
                                 "output error only)")},
        "variants": {}, "files": ["saved_model"],
        "machine": f"{machine()}; features: {', '.join(cpu_features()) or 'unknown'}; "
                   f"{load()} at start",
        "litert_version": _litert_version(), "latency_runs": config.latency_runs,
    }
    report["eval"]["images"] = len(images)
    if reference_scores is not None:
        report["eval"]["keras_float32_vs_float64_max_abs_diff"] = float(
            np.abs(keras_scores - reference_scores).max())
    if labels is not None:
        report["eval"]["keras_top1"] = float((keras_scores.argmax(1) == labels).mean())
    # What mobile runtimes read from each file: the input's normalization (none left to do
    # when it is inside the model), the class names, a description.
    identity = (np.zeros(3), np.ones(3))
    model_metadata = metadata.metadata_buffer(
        name=model.name, version=keras_resnet.__version__, input_size=(height, width),
        description=f"{model.name} image classifier exported by keras-resnet from "
                    f"{source.description}",
        mean=(identity if config.include_preprocessing else (mean, std))[0],
        std=(identity if config.include_preprocessing else (mean, std))[1],
        class_count=len(class_names), output=config.scores)
    report["metadata"] = {"bytes": len(model_metadata), "labels": len(class_names),
                          "normalization_in_metadata": not config.include_preprocessing}
    for variant in config.quantize:
        print(f"converting {variant} ...")
        if variant == "qat":
            flatbuffer, report["qat"] = _qat_flatbuffer(model, train, representative, mean, std,
                                                        source.crop_fraction, config,
                                                        output_dir, height)
        else:
            flatbuffer = converter.convert(saved_model, variant, representative,
                                           config.int8_io)
        flatbuffer = metadata.populate(flatbuffer, model_metadata, list(class_names))
        name = f"model_{variant}.tflite"
        with atomic_path(os.path.join(output_dir, name), suffix=".tflite") as tmp:
            with open(tmp, "wb") as f:
                f.write(flatbuffer)
        report["files"].append(name)
        report["variants"][variant] = verify(
            os.path.join(output_dir, name), variant, images, labels, keras_scores,
            config.latency_threads, config.latency_runs, reference_scores)
        entry = report["variants"][variant]
        summary = f"  {name}: {entry['bytes']:,} bytes"
        if "top1" in entry:
            summary += f", top-1 {entry['top1']:.4f}, agreement {entry['agreement']:.4f}"
        print(summary)
    slower = slower_than_float32(report["variants"])
    report["slower_than_float32"] = slower
    for variant, threads in slower.items():
        print(f"warning: {variant} is slower than float32 on this CPU ({', '.join(threads)}); "
              f"do not ship it for this machine without measuring it on the device")
    write_text(os.path.join(output_dir, "labels.txt"), "\n".join(class_names) + "\n")
    write_text(os.path.join(output_dir, "preprocessing.json"),
               json.dumps(report["preprocessing"], indent=2) + "\n")
    report["files"] += ["labels.txt", "preprocessing.json", "report.json", "report.md"]
    from keras_resnet.export import report as report_writer

    report_writer.write(report, output_dir)
    return report


def _qat_flatbuffer(model, train, representative, mean, std, crop_fraction, config,
                    output_dir, size) -> tuple[bytes, dict]:
    import shutil

    from keras_resnet.common.extras import require

    require("qat", "--quantize=qat")
    from keras_resnet.export import qat

    pixels, _ = decode_split(train.sample(64, config.seed), size)
    normalized = (pixels.astype(np.float32) - mean) / std
    folder, facts = qat.quantization_aware_saved_model(
        model, train, normalized, mean, std, config.include_preprocessing, crop_fraction,
        config, output_dir)
    try:  # the representative data only covers ops outside the QAT graph (preprocessing)
        return converter.convert(folder, "qat", representative, config.int8_io), facts
    finally:
        shutil.rmtree(folder, ignore_errors=True)


#: How much slower than float32 a variant's median may be before the report flags it: the
#: medians of two equally fast files differ by a few percent on a busy machine.
SLOWER_MARGIN = 1.05


def slower_than_float32(variants: dict) -> dict[str, list[str]]:
    """{variant: thread settings where its median latency is above float32's by more than
    `SLOWER_MARGIN`}: a quantized file is meant to be faster, and on some CPUs it is not."""
    base = variants.get("float32", {}).get("latency", {})
    found = {}
    for name, entry in variants.items():
        worse = [t for t, timing in entry["latency"].items()
                 if name != "float32" and t in base
                 and timing["median_ms"] > SLOWER_MARGIN * base[t]["median_ms"]]
        if worse:
            found[name] = worse
    return found


def _litert_version() -> str:
    try:
        from importlib.metadata import version

        return version("ai-edge-litert")
    except Exception:  # noqa: BLE001 (only informative)
        return "unknown"
