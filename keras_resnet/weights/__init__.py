"""Pretrained weights, loaded into a model after it is built.

`table` lists what is published (data only), `download` gets a file into the Keras cache with
its hash checked, one reader per format fills a built model (`keras_h5`, `keras_applications`,
`torch_checkpoint`), and `load` dispatches: ``load_weights(model, tag_row_or_path)``.
"""

from keras_resnet.weights.load import is_pretrained_tag, load_weights, resolve
from keras_resnet.weights.table import PRETRAINED, PretrainedWeights, find, register, tags

__all__ = ["PRETRAINED", "PretrainedWeights", "find", "is_pretrained_tag", "load_weights",
           "register", "resolve", "tags"]
