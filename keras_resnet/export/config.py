"""The exporter's one typed configuration: what to export, what to write and how to measure
it. `keras_resnet.export.run` makes the command's flags from these fields (field names are flag
names); the pipeline reads the same object."""

from __future__ import annotations

import dataclasses

from keras_resnet.common.config_flags import field
from keras_resnet.export.converter import IO_TYPES, VARIANTS
from keras_resnet.export.serving import SCORES
from keras_resnet.preprocessing import INPUT_STATISTICS

#: Give exactly one of these: where the model comes from.
MODEL_SOURCES = ("model_dir", "model_file", "model")


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """Everything an export needs. Field names are the flag names (``--quantize``)."""

    output_dir: str = field(help="Where the export goes.")
    report_dir: str | None = field(
        None, help="Also write report.json and report.md here (the results tree keeps the "
        "reports, not the models).")
    model_dir: str | None = field(
        None, help="A training model_dir: exports its model_best.keras (else model.keras) "
        "with the dataset and normalization of its flags.txt.")
    model_file: str | None = field(None, help="A .keras model file to export.")
    model: str | None = field(None, help="A registered architecture to export (with --weights).")
    weights: str | None = field(
        None, help="--model: a .weights.h5 file (default: random weights, fine for size and "
        "latency only).")
    image_size: int | None = field(None, help="--model: input size (default: the family's).",
                                   lower_bound=1)
    classes: int | None = field(None, help="--model: number of classes.", lower_bound=1)
    dataset: str | None = field(
        None, help="folder:PATH of the images to calibrate on (train split) and evaluate on "
        "(val split); default: the model_dir's dataset.")
    val_fraction: float | None = field(
        None, help="Held-out fraction of a class-folder dataset (default: the model_dir's, "
        "else 0.1).", lower_bound=0.0, upper_bound=1.0)
    normalization: str | None = field(
        None, help="Per-channel statistics the model expects (default: the model_dir's).",
        choices=("auto", *INPUT_STATISTICS))
    quantize: tuple[str, ...] = field(
        ("float32", "float16", "dynamic", "int8"),
        help=f"Variants to write, any of {', '.join(VARIANTS)}.", choices=VARIANTS)
    calibration_samples: int = field(500, help="Training images the int8 calibration sees.",
                                     lower_bound=1)
    random_calibration: bool = field(
        False, help="Calibrate int8 on random images when there is no dataset: for size and "
        "latency measurements only.")
    int8_io: str = field(
        "int8", help="Input/output type of the integer variants (uint8 suits raw pixels with "
        "--include_preprocessing).", choices=tuple(sorted(IO_TYPES)))
    include_preprocessing: bool = field(
        True, help="Bake the normalization into the model, so that an app feeds raw RGB values "
        "0..255 (what mobile runtimes need: MediaPipe normalizes with one mean and std for "
        "all channels, and these statistics are per channel). --noinclude_preprocessing "
        "leaves it to the app (written in the file's metadata and preprocessing.json).")
    features: bool = field(
        False, help="Export the backbone instead of the classifier: the per-stage feature "
        "maps (keras_resnet.feature_model, conv2 ... conv5), one output each, compared with "
        "Keras' per output; variants float32, float16, dynamic, int8.")
    scores: str = field(
        "probabilities", help="What the model outputs: class probabilities (a softmax at the "
        "end, what mobile classifiers such as MediaPipe's show as scores) or logits.",
        choices=SCORES)
    eval_samples: int = field(0, help="Evaluate on N val images, a seeded sample (0: all).",
                              lower_bound=0)
    latency_runs: int = field(50, help="Timed invocations per latency figure.", lower_bound=1)
    latency_threads: tuple[int, ...] = field((1, 2), help="Thread counts to time.")
    qat_epochs: int = field(1, help="Quantization-aware fine-tuning epochs.", lower_bound=0)
    qat_lr: float = field(
        1e-4, help="Quantization-aware fine-tuning learning rate (SGD, momentum 0.9) at its "
        "start; a cosine takes it to zero by the last step.", lower_bound=0.0)
    qat_batch_size: int = field(64, help="Quantization-aware fine-tuning batch size.",
                                lower_bound=1)
    qat_train_samples: int = field(0, help="Training images QAT fine-tunes on (0: all).",
                                   lower_bound=0)
    seed: int = field(0, help="Seed of the calibration, evaluation and QAT samples.")

    def __post_init__(self):
        given = [f"--{name}" for name in MODEL_SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of --model_dir, --model_file, --model"
                             + (f" (got {', '.join(given)})" if given else ""))
        if not self.quantize:
            raise ValueError(f"--quantize is empty: give any of {', '.join(VARIANTS)}.")
        bad = [t for t in self.latency_threads if t < 1]
        if bad:
            raise ValueError(f"--latency_threads: thread counts must be >= 1, not {bad}.")
        object.__setattr__(self, "quantize", tuple(dict.fromkeys(self.quantize)))
