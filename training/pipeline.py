"""tf.data input pipelines: decode in parallel, cache, shuffle, augment, batch, prefetch.

Sources are an image folder (`training.image_folder`) or a TFDS dataset; both become
``(uint8 image, int label)`` datasets that `batched` turns into what `fit` consumes. With a seed
every random choice (shuffle order, crops, flips) is a stateless function of it, so runs repeat.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import tensorflow as tf

from training.image_folder import FolderSplit

Augment = Literal["cifar", "imagenet", "none"]
#: random: each image flipped with probability 1/2 every epoch; alternating: at random in the
#: first epoch, then the opposite of the epoch before (Jordan 2024, "94% on CIFAR-10 in 3.29
#: seconds"): every other epoch shows each image's mirror, with no epoch repeating the last.
Flip = Literal["random", "alternating"]
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

    def __post_init__(self):
        if self.flip == "alternating" and self.augment == "none":
            raise ValueError("flip='alternating' needs augmentation; augment='none' flips "
                             "nothing.")
        if self.cutout < 0 or (self.cutout and self.augment == "none"):
            raise ValueError(f"cutout={self.cutout}: use a patch side > 0 with augmentation "
                             "on, or 0 (augment='none' turns every augmentation off).")


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


def _alternating_flip_stream(ds: tf.data.Dataset, cfg: PipelineConfig):
    """The endless stream of augmented (image, label) pairs, epoch after epoch, each image
    mirrored at random in the first epoch and then the opposite way of its previous epoch."""
    size = int(ds.cardinality())
    if size < 1:
        raise ValueError("flip='alternating' needs a training split of known, non-zero size "
                         f"(tf.data cardinality {size}); use flip='random'.")
    salt = cfg.seed if cfg.seed is not None else int(np.random.default_rng().integers(2**31))
    stream = ds.enumerate().shuffle(cfg.shuffle_buffer, seed=cfg.seed,
                                    reshuffle_each_iteration=True).repeat()
    seeds = tf.data.Dataset.random(seed=cfg.seed).batch(2)

    def transform(position, indexed, seed):
        index, (image, label) = indexed
        first = tf.random.stateless_uniform([], seed=tf.stack([tf.constant(salt, tf.int64),
                                                               index])) < 0.5
        odd_epoch = tf.equal((position // size) % 2, 1)
        return _train_transform(image, seed, cfg, tf.not_equal(first, odd_epoch)), label

    return tf.data.Dataset.zip((tf.data.Dataset.counter(), stream, seeds)).map(
        transform, num_parallel_calls=tf.data.AUTOTUNE)


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


def batched(source: tf.data.Dataset, cfg: PipelineConfig, training: bool,
            batch_size: int | None = None) -> tf.data.Dataset:
    """Batches of normalized float32 images and int32 labels for `fit`/`evaluate`.

    Training data is cached (decoded, before augmentation) when `cfg.cache`, shuffled, augmented
    on the fly and batched with drop_remainder (every replica gets equal batches); with
    ``flip="alternating"`` it is endless (the epoch decides each flip), its batches running on
    across epoch boundaries, so no image is dropped. Evaluation
    data is neither shuffled nor augmented. `batch_size` overrides the config's (evaluation
    under several replicas, see `eval_batch_size`). Sharding across workers is by element (DATA).
    """
    mean = tf.constant(cfg.mean, tf.float32)
    std = tf.constant(cfg.std, tf.float32)

    def finish(image, label):
        image = (tf.cast(image, tf.float32) - mean) / std
        image = tf.ensure_shape(image, (cfg.image_size, cfg.image_size, 3))
        return image, tf.cast(label, tf.int32)

    ds = source.cache() if cfg.cache else source
    if training and cfg.flip == "alternating":
        ds = _alternating_flip_stream(ds, cfg).map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    elif training:
        ds = ds.shuffle(cfg.shuffle_buffer, seed=cfg.seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=cfg.seed).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda pair, seed: finish(_train_transform(pair[0], seed, cfg), pair[1]),
            num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda image, label: finish(_eval_transform(image, cfg), label),
                    num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size or cfg.global_batch_size, drop_remainder=training)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    if cfg.seed is not None:
        options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
