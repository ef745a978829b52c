"""The exporter's entry point: ``keras-resnet-export --flagfile=...`` (installed) or
``python export/export.py --flagfile=...`` (a checkout), the same program.

Input: a training --model_dir (its best model, dataset, normalization and labels), a
--model_file (.keras), or an architecture --model with --weights. Output in --output_dir:
``saved_model/``, ``model_<variant>.tflite`` per --quantize variant, ``labels.txt``,
``preprocessing.json`` (what predict.py needs on the device), ``report.json`` and
``report.md``, each written atomically. The flags are `ExportConfig`'s fields.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from keras_resnet.common import config_flags
from keras_resnet.common.cpu_kernels import relaunch_with_onednn
from keras_resnet.common.extras import require
from keras_resnet.export.config import ExportConfig

FLAGS = flags.FLAGS


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)  # TensorFlow's SavedModel writer is chatty
    try:
        config = config_flags.config_from_flags(ExportConfig, FLAGS)
    except ValueError as err:
        raise app.UsageError(str(err)) from None
    from keras_resnet.export import pipeline

    try:
        report = pipeline.run(pipeline.Source.from_config(config), config)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(report['files'])} to {config.output_dir}")
    return 0


def run() -> None:
    """Defines the flags, marks the required one and runs `main` (console script and
    ``__main__``)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    relaunch_with_onednn("keras_resnet.export.run")
    try:
        require("export", "keras-resnet-export")
    except ImportError as err:
        raise SystemExit(f"error: {err}") from None
    before = set(FLAGS)
    config_flags.define_flags(ExportConfig)
    config_flags.show_in_short_help(sorted(set(FLAGS) - before), FLAGS)
    flags.mark_flag_as_required("output_dir")
    app.run(main)


if __name__ == "__main__":
    run()
