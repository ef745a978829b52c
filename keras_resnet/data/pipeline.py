"""tf.data input pipelines: decode in parallel, cache, shuffle, augment, batch, prefetch.

Sources are an image folder (`keras_resnet.data.image_folder`) or a TFDS dataset; both become
``(uint8 image, int label)`` datasets. `TrainingEpochs` turns the training split into one
dataset per epoch, every random choice (shuffle order, crops, flips, TrivialAugment's
operations, Cutout) a function of the run's seed and the epoch, so a resumed run continues the
data of an uninterrupted one; `evaluation_batches` serves validation data as it is.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

import numpy as np
import tensorflow as tf

from keras_resnet.data.image_folder import FolderSplit
from keras_resnet.data.trivial_augment import trivial_augment

Augment = Literal["cifar", "imagenet", "none"]
#: random: each image flipped with probability 1/2 every epoch; alternating: each image's
#: flip in epoch 0 is random, then every epoch shows the opposite of the one before (Jordan
#: 2024, "94% on CIFAR-10 in 3.29 seconds").
Flip = Literal["random", "alternating"]
#: none, or trivial: TrivialAugment, one random image operation per image
#: (`keras_resnet.data.trivial_augment`).
AutoAugment = Literal["none", "trivial"]
#: ImageNet evaluation resizes the shorter side to size * 256 / 224, then crops the center.
EVAL_RESIZE_RATIO = 256 / 224


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """How a split becomes batches."""

    image_size: int
    global_batch_size: int
    mean: np.ndarray
    std: np.ndarray
    augment: Augment = "cifar"
    shuffle_buffer: int = 50_000
    cache: bool = True
    seed: int | None = None
    flip: Flip = "random"
    #: side of the square Cutout patch (DeVries & Taylor 2017) in pixels; 0: none.
    cutout: int = 0
    #: trivial: TrivialAugment after the crop and flip, before Cutout; none: off.
    auto_augment: AutoAugment = "none"

    def __post_init__(self):
        if self.flip == "alternating" and self.augment == "none":
            raise ValueError("flip='alternating' needs augmentation; augment='none' flips "
                             "nothing.")
        if self.cutout < 0 or (self.cutout and self.augment == "none"):
            raise ValueError(f"cutout={self.cutout}: use a patch side > 0 with augmentation "
                             "on, or 0 (augment='none' turns every augmentation off).")
        if self.auto_augment not in get_args(AutoAugment):
            raise ValueError(f"auto_augment={self.auto_augment!r}: use "
                             f"{' or '.join(map(repr, get_args(AutoAugment)))}.")
        if self.auto_augment != "none" and self.augment == "none":
            raise ValueError(f"auto_augment={self.auto_augment!r} needs augmentation on; "
                             "augment='none' turns every augmentation off.")


def folder_source(split: FolderSplit) -> tf.data.Dataset:
    """(image, label) pairs of an image-folder split, decoded in parallel."""
    ds = tf.data.Dataset.from_tensor_slices((list(split.paths), split.labels))

    def decode(path, label):
        data = tf.io.read_file(path)
        # JPEG with the accurate integer IDCT: the pixels Pillow gives (the numpy loader, the
        # exporter, predict.py on the device); TensorFlow's default fast IDCT differs.
        image = tf.cond(
            tf.io.is_jpeg(data),
            lambda: tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"),
            lambda: tf.io.decode_image(data, channels=3, expand_animations=False))
        return image, label

    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)


def tfds_source(name: str, split: str, data_dir: str | None = None,
                manual_dir: str | None = None) -> tuple[tf.data.Dataset, int, int]:
    """(image, label) pairs of a TFDS split, its size and its number of classes."""
    from keras_resnet.common.extras import require

    require("tfds", f"the TFDS dataset {name!r}")
    import tensorflow_datasets as tfds

    config = tfds.download.DownloadConfig(manual_dir=manual_dir) if manual_dir else None
    ds, info = tfds.load(name, split=split, data_dir=data_dir, as_supervised=True,
                         with_info=True, download_and_prepare_kwargs={"download_config": config})
    count = int(ds.cardinality())
    if count < 0:  # unknown to tf.data: ask the dataset's metadata
        count = info.splits[split].num_examples
    return ds, count, info.features["label"].num_classes


def _fit_size(image, size: int):
    """float32 `image` resized to size x size unless it already is (CIFAR: a no-op)."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    return tf.cond(tf.logical_and(height == size, width == size),
                   lambda: tf.cast(image, tf.float32),
                   lambda: tf.image.resize(image, (size, size)))


def _resize_shorter(image, size: int):
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.reduce_min(shape)
    new = tf.cast(tf.round(shape * scale), tf.int32)
    return tf.image.resize(image, new, antialias=True)


def _train_transform(image, seed, cfg: PipelineConfig, flip=None):
    """One augmented training image; `flip` (a bool tensor) overrides the random flip."""
    size = cfg.image_size
    seeds = tf.random.experimental.stateless_split(seed, 2)
    if cfg.augment == "imagenet":
        begin, crop, _ = tf.image.stateless_sample_distorted_bounding_box(
            tf.shape(image), tf.zeros([0, 0, 4]), seed=seeds[0], area_range=(0.08, 1.0),
            aspect_ratio_range=(3 / 4, 4 / 3), max_attempts=10,
            use_image_if_no_bounding_boxes=True)
        image = tf.image.resize(tf.slice(image, begin, crop), (size, size), antialias=True)
    else:
        image = _fit_size(image, size)
        if cfg.augment == "cifar":  # the paper: pad 4 pixels with zeros, random crop back
            image = tf.image.pad_to_bounding_box(image, 4, 4, size + 8, size + 8)
            image = tf.image.stateless_random_crop(image, (size, size, 3), seed=seeds[0])
    if cfg.augment != "none":
        image = (tf.image.stateless_random_flip_left_right(image, seed=seeds[1]) if flip is None
                 else tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image))
    if cfg.auto_augment == "trivial":  # after crop and flip, before Cutout, as its paper
        image = trivial_augment(image, tf.random.experimental.stateless_fold_in(seed, 3))
    if cfg.cutout:
        image = _cutout(image, cfg.cutout, tf.random.experimental.stateless_fold_in(seed, 2),
                        cfg.mean)
    return image


def _cutout(image, side: int, seed, fill):
    """`image` (float32) with a side x side square set to `fill` (the dataset mean, so zero
    once normalized); its centre is uniform over the image, so it may hang over the edge."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    seeds = tf.random.experimental.stateless_split(seed, 2)
    top = tf.random.stateless_uniform([], seeds[0], 0, height, tf.int32) - side // 2
    left = tf.random.stateless_uniform([], seeds[1], 0, width, tf.int32) - side // 2
    rows, cols = tf.range(height), tf.range(width)
    in_rows = (rows >= top) & (rows < top + side)
    in_cols = (cols >= left) & (cols < left + side)
    patch = in_rows[:, None, None] & in_cols[None, :, None]
    return tf.where(patch, tf.constant(fill, tf.float32), tf.cast(image, tf.float32))


def _eval_transform(image, cfg: PipelineConfig):
    size = cfg.image_size
    if cfg.augment == "imagenet":
        image = _resize_shorter(image, round(size * EVAL_RESIZE_RATIO))
        return tf.image.resize_with_crop_or_pad(image, size, size)
    return _fit_size(image, size)


def eval_batch_size(examples: int, global_batch: int, replicas: int) -> int:
    """The largest batch <= `global_batch` (a multiple of `replicas`) whose last partial batch,
    if any, still gives every replica an image: TensorFlow's mirrored evaluation fails on a
    replica with an empty batch, and dropping images would change the evaluated split."""
    for size in range(global_batch - global_batch % replicas, 0, -replicas):
        if examples % size == 0 or examples % size >= replicas:
            return size
    raise ValueError(f"{examples} validation images cannot be batched so that each of "
                     f"{replicas} replicas gets at least one image of every batch; use more "
                     "validation images or fewer replicas.")


def evaluation_batches(source: tf.data.Dataset, cfg: PipelineConfig,
                       batch_size: int | None = None) -> tf.data.Dataset:
    """Batches of normalized float32 images and int32 labels for `evaluate`: in the source's
    order, not augmented, the last batch possibly short. `batch_size` overrides the config's
    (evaluation under several replicas, see `eval_batch_size`)."""
    ds = source.map(lambda image, label: _finish(_eval_transform(image, cfg), label, cfg),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return _with_options(ds.batch(batch_size or cfg.global_batch_size), deterministic=True)


class TrainingEpochs:
    """The training split as one dataset per epoch, each a function of ``(seed, epoch)`` alone.

    Epoch `e` is the split shuffled with a seed drawn from ``(seed, e)``, each image augmented
    with a seed drawn from ``(seed, e, its position in the epoch)``, batched with the last
    partial batch dropped (every replica gets equal batches). So a new iterator, a new process
    or another machine resuming at batch `k` of epoch `e` (`epoch(e, first_batch=k)`) sees the
    batches an uninterrupted run would have. Decoded images are cached in memory (before
    augmentation) when `cfg.cache`; the cache fills during the first epoch read. The shuffle
    also depends on TensorFlow's global seed (`train.py` sets it from ``--seed``), as
    `Dataset.shuffle`'s does (see `_shuffled`).
    """

    def __init__(self, source: tf.data.Dataset, cfg: PipelineConfig, examples: int):
        if examples < cfg.global_batch_size:
            raise ValueError(f"{examples} training images are fewer than one batch of "
                             f"{cfg.global_batch_size}.")
        self.cfg = cfg
        self.examples = examples
        self.steps_per_epoch = examples // cfg.global_batch_size
        #: the run's data seed; None until set (the trainer draws one for unseeded runs).
        self.seed = cfg.seed
        self._indexed = (source.cache() if cfg.cache else source).enumerate()

    def epoch(self, epoch: int, first_batch: int = 0) -> tf.data.Dataset:
        """The batches of epoch `epoch` (0-based) from its batch `first_batch` on."""
        if not 0 <= first_batch <= self.steps_per_epoch:
            raise ValueError(f"first_batch={first_batch} is outside an epoch of "
                             f"{self.steps_per_epoch} batches.")
        return self._batches(tf.constant(epoch, tf.int64), first_batch)

    def stream(self, first_epoch: int = 0) -> tf.data.Dataset:
        """Every epoch from `first_epoch` on, one after the other, endless: for a `fit` that
        runs several epochs on one iterator (set its steps_per_epoch)."""
        return tf.data.Dataset.counter(first_epoch).flat_map(lambda e: self._batches(e, 0))

    def _batches(self, epoch, first_batch: int) -> tf.data.Dataset:
        if self.seed is None:
            raise ValueError("TrainingEpochs needs a seed (set .seed) to give each epoch its "
                             "order and augmentation.")
        cfg, batch = self.cfg, self.cfg.global_batch_size
        epoch_key = epoch_seed(self.seed, epoch)
        ds = _shuffled(self._indexed, min(cfg.shuffle_buffer, self.examples), epoch_key)
        ds = ds.take(self.steps_per_epoch * batch).enumerate().skip(first_batch * batch)

        def transform(position, indexed):
            index, (image, label) = indexed
            seed = tf.stack([epoch_key, position])
            flip = None
            if cfg.flip == "alternating":  # random first epoch, then the opposite each epoch
                first = tf.random.stateless_uniform(
                    [], tf.stack([tf.constant(self.seed, tf.int64), index])) < 0.5
                flip = tf.not_equal(first, tf.equal(epoch % 2, 1))
            return _finish(_train_transform(image, seed, cfg, flip), label, cfg)

        ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE).batch(batch,
                                                                           drop_remainder=True)
        return _with_options(ds, deterministic=True)


_MAXINT32 = 2**31 - 1


def _shuffled(ds: tf.data.Dataset, buffer_size: int, key: tf.Tensor) -> tf.data.Dataset:
    """`ds.shuffle(buffer_size, seed=key, reshuffle_each_iteration=False)`, also where `key` is
    symbolic (inside `stream`'s flat_map) and TensorFlow's global seed is 0 mod 2**31-1.

    `Dataset.shuffle` turns its seed into the op's seed pair with Python code that compares
    the pair with (0, 0); a symbolic key then fails ("symbolic tf.Tensor as a Python bool").
    This builds the same pair as tensors (the global seed, or TensorFlow's default graph seed
    without one, and the key mod 2**31-1, with (0, 0) replaced by (0, 2**31-1)), so each
    epoch's order is the one `Dataset.shuffle` gives."""
    global_seed = tf.compat.v1.random.get_seed(1)[0]  # an op seed given: no counter drawn
    seed2 = tf.math.floormod(tf.cast(key, tf.int64), _MAXINT32)
    if global_seed == 0:
        seed2 = tf.where(tf.equal(seed2, 0), tf.constant(_MAXINT32, tf.int64), seed2)
    spec = tf.nest.flatten(ds.element_spec)
    variant = tf.raw_ops.ShuffleDatasetV3(
        input_dataset=tf.data.experimental.to_variant(ds),
        buffer_size=tf.constant(buffer_size, tf.int64),
        seed=tf.constant(global_seed, tf.int64), seed2=seed2,
        seed_generator=tf.raw_ops.DummySeedGenerator(),
        output_types=[s.dtype for s in spec], output_shapes=[s.shape for s in spec],
        reshuffle_each_iteration=False)
    return tf.data.experimental.from_variant(variant, ds.element_spec)


def epoch_seed(seed: int, epoch) -> tf.Tensor:
    """An int64 key for epoch `epoch` of a run seeded `seed`, the same on every machine."""
    return tf.random.stateless_uniform([], tf.stack([tf.constant(seed, tf.int64),
                                                     tf.cast(epoch, tf.int64)]),
                                       minval=None, maxval=None, dtype=tf.int64)


def _finish(image, label, cfg: PipelineConfig):
    """Normalized float32 image of the configured size and an int32 label."""
    image = (tf.cast(image, tf.float32) - tf.constant(cfg.mean, tf.float32)) / tf.constant(
        cfg.std, tf.float32)
    image = tf.ensure_shape(image, (cfg.image_size, cfg.image_size, 3))
    return image, tf.cast(label, tf.int32)


def _with_options(ds: tf.data.Dataset, deterministic: bool) -> tf.data.Dataset:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = deterministic
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
