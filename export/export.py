"""Export a keras_resnet model to TFLite and verify every variant:
``python export/export.py --flagfile=export/configs/cifar10_resnet20_int8.flags``.

Input: a training --model_dir (its best model, dataset, normalization and labels), a
--model_file (.keras), or an architecture --model with --weights. Output in --output_dir:
``saved_model/``, ``model_<variant>.tflite`` per --quantize variant, ``labels.txt``,
``preprocessing.json`` (what export/predict.py needs on the device), ``report.json`` and
``report.md``. Each file is written atomically.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from training.cpu_kernels import prefer_onednn  # noqa: E402

prefer_onednn()  # before TensorFlow loads

from absl import app, flags, logging  # noqa: E402

from export.converter import IO_TYPES, VARIANTS  # noqa: E402
from keras_resnet.preprocessing import NORMALIZATION  # noqa: E402

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "A training model_dir: exports its model_best.keras "
                    "(else model.keras) with the dataset and normalization of its flags.txt.")
flags.DEFINE_string("model_file", None, "A .keras model file to export.")
flags.DEFINE_string("model", None, "A registered architecture to export (with --weights).")
flags.DEFINE_string("weights", None, "--model: a .weights.h5 file (default: random weights, "
                    "fine for size and latency only).")
flags.DEFINE_integer("image_size", None, "--model: input size (default: the family's).",
                     lower_bound=1)
flags.DEFINE_integer("classes", None, "--model: number of classes.", lower_bound=1)
flags.DEFINE_string("dataset", None, "folder:PATH of the images to calibrate on (train split) "
                    "and evaluate on (val split); default: the model_dir's dataset.")
flags.DEFINE_float("val_fraction", None, "Held-out fraction of a class-folder dataset "
                   "(default: the model_dir's, else 0.1).", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_enum("normalization", None, ["auto", *sorted(NORMALIZATION)],
                  "Per-channel statistics the model expects (default: the model_dir's).")
flags.DEFINE_string("output_dir", None, "Where the export goes.")
flags.DEFINE_list("quantize", ["float32", "float16", "dynamic", "int8"],
                  f"Variants to write, any of {', '.join(VARIANTS)}.")
flags.DEFINE_integer("calibration_samples", 500, "Training images the int8 calibration sees.",
                     lower_bound=1)
flags.DEFINE_bool("random_calibration", False, "Calibrate int8 on random images when there is "
                  "no dataset: for size and latency measurements only.")
flags.DEFINE_enum("int8_io", "int8", sorted(IO_TYPES), "Input/output type of the integer "
                  "variants (uint8 suits raw pixels with --include_preprocessing).")
flags.DEFINE_bool("include_preprocessing", False, "Bake the normalization into the model: the "
                  "app feeds raw RGB values 0..255.")
flags.DEFINE_integer("eval_samples", 0, "Evaluate on N val images, a seeded sample (0: all).",
                     lower_bound=0)
flags.DEFINE_integer("latency_runs", 50, "Timed invocations per latency figure.",
                     lower_bound=1)
flags.DEFINE_list("latency_threads", ["1", "2"], "Thread counts to time.")
flags.DEFINE_integer("qat_epochs", 1, "Quantization-aware fine-tuning epochs.", lower_bound=0)
flags.DEFINE_float("qat_lr", 1e-4, "Quantization-aware fine-tuning learning rate (SGD, "
                   "momentum 0.9) at its start; a cosine takes it to zero by the last "
                   "step.",
                   lower_bound=0.0)
flags.DEFINE_integer("qat_batch_size", 64, "Quantization-aware fine-tuning batch size.",
                     lower_bound=1)
flags.DEFINE_integer("qat_train_samples", 0, "Training images QAT fine-tunes on (0: all).",
                     lower_bound=0)

flags.mark_flag_as_required("output_dir")
flags.register_multi_flags_validator(
    ["model_dir", "model_file", "model"],
    lambda v: sum(x is not None for x in v.values()) == 1,
    "give exactly one of --model_dir, --model_file, --model")
flags.register_validator(
    "quantize", lambda v: bool(v) and all(x in VARIANTS for x in v),
    f"--quantize takes a comma-separated list of {', '.join(VARIANTS)}")


def _source():
    from export.pipeline import Source

    if FLAGS.model_dir:
        source = Source.from_model_dir(FLAGS.model_dir)
    elif FLAGS.model_file:
        source = Source.from_model_file(FLAGS.model_file)
    else:
        source = Source.from_architecture(FLAGS.model, FLAGS.weights, FLAGS.image_size,
                                          FLAGS.classes)
    return source.with_data(FLAGS.dataset, FLAGS.val_fraction, FLAGS.normalization)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)  # TensorFlow's SavedModel writer is chatty
    from export import pipeline

    options = pipeline.ExportOptions(
        variants=tuple(dict.fromkeys(FLAGS.quantize)),
        calibration_samples=FLAGS.calibration_samples,
        random_calibration=FLAGS.random_calibration, io_type=FLAGS.int8_io,
        include_preprocessing=FLAGS.include_preprocessing, eval_samples=FLAGS.eval_samples,
        latency_runs=FLAGS.latency_runs,
        latency_threads=tuple(int(t) for t in FLAGS.latency_threads),
        qat_epochs=FLAGS.qat_epochs, qat_lr=FLAGS.qat_lr, qat_batch_size=FLAGS.qat_batch_size,
        qat_train_samples=FLAGS.qat_train_samples)
    try:
        report = pipeline.run(_source(), options, FLAGS.output_dir)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(report['files'])} to {FLAGS.output_dir}")
    return 0


if __name__ == "__main__":
    app.run(main)
