"""MediaPipe Tasks' ImageClassifier on an exported `.tflite`: the C++ task Android and iOS apps
run, given nothing but the file (its metadata supplies the normalization and class names).

MediaPipe is not a dependency of keras_resnet: it is installed apart (README, Install), and
used by the tests and `bench/mediapipe_agreement.py` as a real client of the exports.
"""

from __future__ import annotations

import numpy as np


def classify(path: str, pixels: np.ndarray, max_results: int) -> list[list[tuple[str, float]]]:
    """Each image of `pixels` (``(n, h, w, 3)`` RGB 0..255) classified by MediaPipe with no
    options but the model file: its categories as ``(name, score)``, best first. Raises
    ValueError when MediaPipe refuses the file, ImportError when MediaPipe is not installed."""
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision
    except ImportError as error:
        raise ImportError("MediaPipe is not installed: pip install opencv-contrib-python "
                          "sounddevice && pip install --no-deps mediapipe==1.2.3") from error
    options = vision.ImageClassifierOptions(
        base_options=BaseOptions(model_asset_path=str(path)), max_results=max_results)
    results = []
    with vision.ImageClassifier.create_from_options(options) as classifier:
        for image in np.asarray(pixels).astype(np.uint8):
            found = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB,
                                                 data=np.ascontiguousarray(image)))
            results.append([(c.category_name, c.score)
                            for c in found.classifications[0].categories])
    return results
