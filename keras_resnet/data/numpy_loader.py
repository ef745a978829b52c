"""A loader that needs no TensorFlow: Pillow decodes an image folder into uint8 arrays in
memory, and `ArrayBatches` serves shuffled batches of them to ``model.fit``.

This is the input path of the JAX backend (the GPU machine has no TensorFlow). Augmentation
is not done here but on the device, by Keras preprocessing layers
(`keras_resnet.data.augment_layers`).
Batches are raw 0..255 pixels as float32; normalization is a layer too.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
from PIL import Image

from keras_resnet.data.image_folder import FolderSplit


def rgb8(image: Image.Image) -> Image.Image:
    """`image` as 8-bit RGB, as TensorFlow's decoder gives it: 16-bit and 32-bit grey scaled
    to 0..255 (Pillow's own convert("RGB") clips them at 255), alpha dropped, palette, CMYK
    and grey expanded."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        image = Image.fromarray(np.round(values * (255.0 / peak)).clip(0, 255).astype(np.uint8))
    return image.convert("RGB")


def _decode(path: str, size: int) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image = rgb8(image)
            if image.size != (size, size):
                image = image.resize((size, size), Image.BILINEAR)
            return np.asarray(image, np.uint8)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot decode image {path!r}: {err}") from None


#: The most pixels an image may have (Pillow's own decompression-bomb threshold): a larger
#: one would take gigabytes to decode, and no classifier input needs it.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS


def _problem(path: str) -> str | None:
    """Why `path` cannot be decoded (empty, truncated, not an image, too large), or None."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return f"{width}x{height} pixels, more than {MAX_PIXELS:,}"
            image.draft("RGB", (64, 64))  # JPEG: the whole stream at 1/8 scale, much faster
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def unreadable(split: FolderSplit, threads: int | None = None) -> list[tuple[str, str]]:
    """[(path, why)] of the files of `split` that do not decode (each file is decoded once,
    by Pillow, at reduced scale where the format allows), in the split's order."""
    with ThreadPoolExecutor(threads or min(8, os.cpu_count() or 1)) as pool:
        problems = list(pool.map(_problem, split.paths))
    return [(path, why) for path, why in zip(split.paths, problems, strict=True) if why]


def decode_split(split: FolderSplit, image_size: int,
                 threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All images of `split` as one ``(n, size, size, 3)`` uint8 array (resized with bilinear
    filtering where they are not size x size), and their int32 labels."""
    images = np.empty((len(split), image_size, image_size, 3), np.uint8)

    def load(index: int) -> None:
        images[index] = _decode(split.paths[index], image_size)

    with ThreadPoolExecutor(threads or min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(load, range(len(split))))  # Pillow decodes without holding the GIL
    return images, np.asarray(split.labels, np.int32)


def even_eval_batch_size(examples: int, global_batch: int, replicas: int) -> int:
    """`global_batch` rounded down to a multiple of `replicas` (at least `replicas`).
    keras.distribution shards every batch evenly, the last partial one included; since every
    batch size is then a multiple of `replicas`, that holds exactly when `examples` is one."""
    if examples % replicas:
        raise ValueError(f"{examples} validation images cannot be split evenly over {replicas} "
                         f"devices; use a validation split whose size is a multiple of "
                         f"{replicas}.")
    return max(global_batch - global_batch % replicas, replicas)


class ArrayBatches(keras.utils.PyDataset):
    """Batches of ``(float32 images 0..255, int32 labels)`` from in-memory arrays.

    For training (`shuffle`), each epoch's order is a permutation drawn from ``(seed, epoch)``
    and the last partial batch is dropped, so a resumed run sees the same batches as an
    uninterrupted one: `set_epoch` picks the epoch and the batch to start at. For evaluation,
    the order is the arrays' and the last batch may be short.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int,
                 shuffle: bool, seed: int | None = None):
        super().__init__(workers=1, use_multiprocessing=False)
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels.")
        if shuffle and len(images) < batch_size:
            raise ValueError(f"{len(images)} images are fewer than one batch of {batch_size}.")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle = batch_size, shuffle
        self.seed = 0 if seed is None else seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int, first_batch: int = 0) -> None:
        """Serve epoch `epoch`'s order, starting at its batch `first_batch`."""
        n = len(self.images)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(n)
            self._order = order[: n - n % self.batch_size]
        else:
            self._order = np.arange(n)
        self._first = first_batch

    def __len__(self) -> int:
        return max(0, -(-len(self._order) // self.batch_size) - self._first)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        start = (index + self._first) * self.batch_size
        chosen = self._order[start:start + self.batch_size]
        return self.images[chosen].astype(np.float32), self.labels[chosen]
