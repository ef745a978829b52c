"""Classify images with an exported ``.tflite`` model, from a checkout:
``python export/predict.py --model model_int8.tflite --labels labels.txt cat.jpg``.

It runs `keras_resnet/export/predict.py`, the single file to copy to the device (it needs
ai-edge-litert, numpy and Pillow; no TensorFlow, no keras_resnet), as that file, so that
TensorFlow is not loaded here either.
"""

import os
import runpy

DEVICE_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "keras_resnet", "export", "predict.py")

if __name__ == "__main__":
    runpy.run_path(DEVICE_FILE, run_name="__main__")
