"""keras-resnet: the ResNet family as Keras 3 functional models.

    import keras_resnet
    model = keras_resnet.ResNet50()                  # or keras_resnet.get_model("resnet50")
    keras_resnet.list_models("resnet*")
"""

from keras_resnet import preprocessing, weights
from keras_resnet.builder import ResNet, build_args
from keras_resnet.features import feature_model
from keras_resnet.flops import count_depth, count_flops, count_trainable_params
from keras_resnet.layers import ZeroPadChannels
from keras_resnet.models import (
    PlainNet18,
    PlainNet20,
    PlainNet32,
    PlainNet34,
    PlainNet44,
    PlainNet50,
    PlainNet56,
    PlainNet101,
    PlainNet110,
    PlainNet152,
    PlainNet1202,
    ResNet18,
    ResNet20,
    ResNet32,
    ResNet34,
    ResNet44,
    ResNet50,
    ResNet50V2,
    ResNet56,
    ResNet101,
    ResNet101V2,
    ResNet110,
    ResNet152,
    ResNet152V2,
    ResNet1202,
    build_resnet,
    cifar_resnet,
    get_model,
)
from keras_resnet.preprocessing import decode_predictions, preprocess_input
from keras_resnet.registry import list_models

__version__ = "0.1.0"

__all__ = [
    "PlainNet18", "PlainNet20", "PlainNet32", "PlainNet34", "PlainNet44", "PlainNet50",
    "PlainNet56", "PlainNet101", "PlainNet110", "PlainNet152", "PlainNet1202",
    "ResNet18", "ResNet20", "ResNet32", "ResNet34", "ResNet44", "ResNet50", "ResNet50V2",
    "ResNet56", "ResNet101", "ResNet101V2", "ResNet110", "ResNet152", "ResNet152V2", "ResNet1202",
    "ResNet", "ZeroPadChannels", "build_args", "build_resnet", "cifar_resnet", "count_depth",
    "count_flops", "count_trainable_params", "decode_predictions", "feature_model", "get_model",
    "list_models",
    "preprocess_input", "preprocessing", "weights",
]
