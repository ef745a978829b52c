"""Train (or evaluate) a keras_resnet model from a checkout:
``python training/train.py --flagfile=training/configs/quickstart.flags``.

The program is `keras_resnet.train.run`, installed as ``keras-resnet-train``.
"""

from keras_resnet.train.run import run

if __name__ == "__main__":
    run()
