"""Train (or evaluate) a keras_resnet model from a checkout:
``python training/train.py --flagfile=training/configs/quickstart.flags``.

The program is `keras_resnet.train.run`, installed as ``keras-resnet-train``.
"""

import os

# TensorFlow reads its oneDNN switch once, when it loads, and importing keras_resnet loads it:
# set here, before that import, the trainer need not start itself again to get the kernels
# (keras_resnet/common/cpu_kernels.py; a value already in the environment is kept).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from keras_resnet.train.run import run  # noqa: E402

if __name__ == "__main__":
    run()
