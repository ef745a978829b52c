"""Export a keras_resnet model to TFLite and verify every variant, from a checkout:
``python export/export.py --flagfile=export/configs/cifar10_resnet20_int8.flags``.

The program is `keras_resnet.export.run`, installed as ``keras-resnet-export``.
"""

from keras_resnet.export.run import run

if __name__ == "__main__":
    run()
