"""The exporter's entry point: ``keras-resnet-export --flagfile=...`` (installed) or
``python export/export.py --flagfile=...`` (a checkout), the same program.

Input: a training --model_dir (its best model, dataset, normalization and labels), a
--model_file (.keras), or an architecture --model with --weights. Output in --output_dir:
``saved_model/``, ``model_<variant>.tflite`` per --quantize variant, ``labels.txt``,
``preprocessing.json`` (what predict.py needs on the device), ``report.json`` and
``report.md``. The folder is written beside --output_dir and replaces it whole once the
export is complete: a failed or killed export leaves the previous one (exit status 2 for
bad input, 4 when writing failed). The flags are `ExportConfig`'s fields.
"""

from __future__ import annotations

import sys

from absl import app, flags, logging

from keras_resnet.common import config_flags
from keras_resnet.common.entry import run_app
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
        source = pipeline.Source.from_config(config)
        if config.features:
            from keras_resnet.export import feature_maps

            report = feature_maps.run(source, config)
        else:
            report = pipeline.run(source, config)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except pipeline.ExportWriteError as err:  # a full disk: the previous export is intact
        print(f"error: {err}", file=sys.stderr)
        return 4
    print(f"wrote {', '.join(report['files'])} to {config.output_dir}")
    return 0


def run() -> None:
    """The command (console script and ``__main__``)."""
    run_app(main, module="keras_resnet.export.run", extra="export",
            command="keras-resnet-export",
            define=lambda: config_flags.define_flags(ExportConfig), required=["output_dir"])


if __name__ == "__main__":
    run()
