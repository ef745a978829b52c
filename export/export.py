"""Export a keras_resnet model to TFLite and verify every variant, from a checkout:
``python export/export.py --flagfile=export/configs/cifar10_resnet20_int8.flags``.

The program is `keras_resnet.export.run`, installed as ``keras-resnet-export``.
"""

import os

# TensorFlow reads its oneDNN switch once, when it loads, and importing keras_resnet loads it:
# set here, before that import, the exporter need not start itself again to get the kernels
# (keras_resnet/common/cpu_kernels.py; a value already in the environment is kept).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from keras_resnet.export.run import run  # noqa: E402

if __name__ == "__main__":
    run()
