"""Does the phone runtime give what we measured? Every `.tflite` of an export folder run by
MediaPipe Tasks' ImageClassifier (the C++ task of Android and iOS apps, given only the file),
by `export/predict.py` (LiteRT) and, for reference, by the Keras model the export came from,
on the val images of that model's run:

    python bench/mediapipe_agreement.py --model_dir=RUN --export_dir=EXPORT \\
        [--images=N] [--output=results/bench/mediapipe_agreement.txt]

Per variant: whether MediaPipe loads the file as it is, whether it names every class, how far
its scores' sum is from 1 (uint8 outputs are probabilities in steps of 1/256), how often its
top-1 equals predict.py's and the Keras model's, and each one's top-1 accuracy. MediaPipe is
installed apart (README, Install).
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import app, flags

from keras_resnet.common.results import Report
from keras_resnet.data.image_folder import read_image_folder
from keras_resnet.data.numpy_loader import decode_split
from keras_resnet.export.mediapipe_client import classify
from keras_resnet.export.pipeline import Source
from keras_resnet.export.predict import LiteRTClassifier, preprocess, read_labels

_MODEL_DIR = flags.DEFINE_string("model_dir", None, "The training run that was exported.")
_EXPORT_DIR = flags.DEFINE_string("export_dir", None, "Its export folder (export.py "
                                  "--output_dir).")
_IMAGES = flags.DEFINE_integer("images", 0, "Val images compared (0: all).", lower_bound=0)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def _percent(hits: np.ndarray) -> str:
    return f"{100 * np.mean(hits):.2f}%"


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    export_dir = _EXPORT_DIR.value
    report_path = os.path.join(export_dir, "report.json")
    if not os.path.isfile(report_path):
        raise app.UsageError(f"--export_dir={export_dir!r} holds no report.json: give the "
                             "--output_dir of an export.py run.")
    with open(report_path) as f:
        exported = json.load(f)
    with open(os.path.join(export_dir, "preprocessing.json")) as f:
        prep = json.load(f)
    labels = read_labels(os.path.join(export_dir, "labels.txt"))

    source = Source.from_model_dir(_MODEL_DIR.value)
    if source.folder() is None:
        raise app.UsageError(f"{_MODEL_DIR.value!r} names no image-folder dataset to "
                             "compare on.")
    val = read_image_folder(source.folder(), source.val_fraction)["val"]
    if _IMAGES.value:
        val = val.sample(_IMAGES.value, 0)
    size = source.model.input_shape[1]
    pixels, truth = decode_split(val, size)
    mean, std = source.mean_std()
    keras_top = source.model.predict(((pixels - mean) / std).astype(np.float32),
                                     batch_size=64, verbose=0).argmax(1)

    report = Report()
    report(f"{export_dir}: {', '.join(exported['variants'])} of {source.description}; "
           f"{len(val)} val images of {source.dataset}; classes {', '.join(labels)}")
    report("top-1 agreement between MediaPipe's ImageClassifier (the file alone), predict.py "
           "(LiteRT) and the Keras model; top-1 accuracy of each")
    report(f"{'variant':8} {'input':7} {'MediaPipe':9} {'classes':7} {'max|Σp-1|':>9} "
           f"{'MP=predict':>10} {'MP=Keras':>9} {'predict=Keras':>13} {'MP acc':>8} "
           f"{'predict acc':>11} {'Keras acc':>9}")
    for variant in exported["variants"]:
        path = os.path.join(export_dir, f"model_{variant}.tflite")
        ours = LiteRTClassifier(path)
        ours_top = ours.scores(preprocess(pixels.astype(np.float32), prep)).argmax(1)
        dtype = np.dtype(ours.input["dtype"]).name
        try:
            found = classify(path, pixels, max_results=len(labels))
        except (ValueError, RuntimeError) as error:
            first = str(error).strip().splitlines()[0][:80]
            report(f"{variant:8} {dtype:7} refused: {first}")
            continue
        mp_top = np.array([labels.index(categories[0][0]) for categories in found])
        names = all({name for name, _ in c} == set(labels) for c in found)
        sums = max(abs(sum(score for _, score in c) - 1) for c in found)
        report(f"{variant:8} {dtype:7} {'loads':9} {'all' if names else 'NO':7} "
               f"{sums:>9.4f} {_percent(mp_top == ours_top):>10} "
               f"{_percent(mp_top == keras_top):>9} {_percent(ours_top == keras_top):>13} "
               f"{_percent(mp_top == truth):>8} {_percent(ours_top == truth):>11} "
               f"{_percent(keras_top == truth):>9}")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    flags.mark_flags_as_required(["model_dir", "export_dir"])
    app.run(main)
