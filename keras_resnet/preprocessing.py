"""Input normalization per dataset: the one place that says what pixels a model expects.

Images are RGB, values 0..255; a model trained with ``dataset`` expects
``(pixel - mean) / std`` per channel with the constants below (in 0..255 units).
"""

from __future__ import annotations

import numpy as np

#: dataset -> (per-channel mean, per-channel std), RGB, in 0..255 units.
NORMALIZATION: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # CIFAR-10 training-set statistics.
    "cifar10": ((125.307, 122.950, 113.865), (62.993, 62.089, 66.705)),
    # CIFAR-100 training-set statistics.
    "cifar100": ((129.304, 124.070, 112.434), (68.170, 65.392, 70.418)),
    # ImageNet statistics (torchvision's 0.485/0.456/0.406, 0.229/0.224/0.225, times 255).
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
}


def normalization_for(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) float32 arrays, RGB order, of the statistics `name`: a dataset's
    (`NORMALIZATION`) or the input a weights file expects (`PREPROCESSING`). "caffe" weights
    take BGR input; on RGB input they become the mean in RGB order and std 1 once the first
    conv's kernel takes its channels the other way round (`keras_resnet.train.finetune` turns
    it when it loads them), which is how a run fine-tuned from them is fed."""
    if name in NORMALIZATION:
        mean, std = NORMALIZATION[name]
    elif name in PREPROCESSING:
        order, mean, std = PREPROCESSING[name]
        mean = mean[::-1] if order == "BGR" else mean
        std = std or (1.0, 1.0, 1.0)
    else:
        raise ValueError(f"No normalization statistics named {name!r}; "
                         f"choose from {INPUT_STATISTICS}.")
    return np.asarray(mean, np.float32), np.asarray(std, np.float32)


def normalization_layer(mean, std, name: str = "normalize", **kwargs):
    """A Keras Normalization layer computing (x - mean) / std per channel (0..255 units in)."""
    import keras

    return keras.layers.Normalization(mean=np.asarray(mean).tolist(),
                                      variance=(np.asarray(std) ** 2).tolist(), name=name,
                                      **kwargs)


def normalization_name(setting: str, dataset: str) -> str:
    """The statistics a run uses: `setting` itself, or for "auto" the dataset's own (a TFDS
    name such as "cifar10") when known, else ImageNet's."""
    if setting != "auto":
        return setting
    name = dataset.split(":", 1)[0].split("/")[0]
    return name if name in NORMALIZATION else "imagenet"


#: How each published weights file expects its input, from RGB pixels 0..255:
#: (channel order, per-channel mean, per-channel std or None), applied as (x - mean) / std.
PREPROCESSING: dict[str, tuple[str, tuple[float, ...], tuple[float, ...] | None]] = {
    # keras.applications' ResNet v1 (from the authors' Caffe models): BGR, mean subtraction.
    "caffe": ("BGR", (103.939, 116.779, 123.68), None),
    # keras.applications' ResNet v2: RGB scaled to [-1, 1].
    "tf": ("RGB", (127.5, 127.5, 127.5), (127.5, 127.5, 127.5)),
    # torchvision: RGB, ImageNet mean and std.
    "torch": ("RGB", NORMALIZATION["imagenet"][0], NORMALIZATION["imagenet"][1]),
    # The CIFAR-10 models trained by this project (training/configs, --normalization=cifar10).
    "cifar10": ("RGB", NORMALIZATION["cifar10"][0], NORMALIZATION["cifar10"][1]),
}

#: Every name `normalization_for` takes: datasets' statistics and weights' preprocessing.
INPUT_STATISTICS = sorted(set(NORMALIZATION) | set(PREPROCESSING))

CIFAR10_LABELS = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                  "ship", "truck")


def preprocess_input(images, mode: str) -> np.ndarray:
    """RGB pixel values 0..255 (..., height, width, 3) as the weights of `mode` (a key of
    PREPROCESSING, e.g. ``keras_resnet.weights.find(...).preprocessing``) expect them."""
    if mode not in PREPROCESSING:
        raise ValueError(f"No preprocessing named {mode!r}; choose from {sorted(PREPROCESSING)}.")
    order, mean, std = PREPROCESSING[mode]
    x = np.asarray(images, np.float32)
    if order == "BGR":
        x = x[..., ::-1]
    x = x - np.asarray(mean, np.float32)
    return x if std is None else x / np.asarray(std, np.float32)


def with_normalization(model, mean, std, bgr: bool = False, input_name: str = "image"):
    """`model` behind ``(x - mean) / std`` per channel (after RGB->BGR when `bgr`): a model
    that takes RGB pixel values 0..255. The network is nested inside under its own name."""
    import keras

    from keras_resnet.layers import ReverseChannels

    inputs = keras.Input(model.input_shape[1:], name=input_name)
    x = ReverseChannels(name="rgb_to_bgr")(inputs) if bgr else inputs
    x = normalization_layer(mean, std)(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_with_preprocessing")


def with_preprocessing(model, mode: str, input_name: str = "image"):
    """`model` behind the preprocessing `mode` (a key of PREPROCESSING): the same function as
    ``model(preprocess_input(images, mode))`` on RGB pixel values 0..255."""
    if mode not in PREPROCESSING:
        raise ValueError(f"No preprocessing named {mode!r}; choose from {sorted(PREPROCESSING)}.")
    order, mean, std = PREPROCESSING[mode]
    return with_normalization(model, mean, (1.0, 1.0, 1.0) if std is None else std,
                              bgr=order == "BGR", input_name=input_name)


def decode_predictions(predictions, labels: str = "imagenet", top: int = 5):
    """[(class index, label, score), ...] per image, best first. ``labels="imagenet"`` uses
    keras.applications' class index (downloaded once into the Keras cache)."""
    predictions = np.asarray(predictions)
    if labels == "cifar10":
        names = CIFAR10_LABELS
    elif labels == "imagenet":
        import keras

        return keras.applications.imagenet_utils.decode_predictions(predictions, top=top)
    else:
        raise ValueError(f"labels must be 'imagenet' or 'cifar10'; got {labels!r}.")
    if predictions.shape[-1] != len(names):
        raise ValueError(f"{labels} has {len(names)} classes; predictions have "
                         f"{predictions.shape[-1]}.")
    best = np.argsort(predictions, axis=-1)[:, ::-1][:, :top]
    return [[(int(i), names[i], float(row[i])) for i in order]
            for row, order in zip(predictions, best, strict=True)]
