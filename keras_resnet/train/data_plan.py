"""The data plan of a run: `prepare` checks the config against the data and the devices (data
present, classes, batch divisible by the replicas) before anything is written, and returns the
strategy, the training data epoch by epoch, the validation batches and the step counts.

Two input paths: ``tf.data`` (`keras_resnet.data.pipeline`, augmentation on the host; TensorFlow
backend) and ``numpy`` (`keras_resnet.data.numpy_loader`, Pillow decoding, augmentation by
Keras layers on the device; no TensorFlow, for JAX). TensorFlow is imported only on the first.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import keras

import keras_resnet
from keras_resnet.data.image_folder import read_image_folder
from keras_resnet.preprocessing import normalization_for, normalization_name
from keras_resnet.train import distillation, finetune
from keras_resnet.train.config import INPUT_PIPELINES, TrainConfig
from keras_resnet.train.distribute import Distribution, make_distribution


@dataclasses.dataclass
class Plan:
    """A checked run: the strategy, the data and the step counts."""

    config: TrainConfig
    distribution: Distribution
    #: the training split epoch by epoch: a `pipeline.TrainingEpochs` (tf.data) or a
    #: `numpy_loader.ArrayBatches`; `epoch_data` gives one epoch of either.
    train_data: Any
    val_ds: Any
    num_classes: int
    class_names: tuple[str, ...]
    steps_per_epoch: int
    total_steps: int
    train_examples: int
    val_examples: int
    #: numpy path: puts device augmentation and normalization in front of the backbone.
    input_layers: Callable[[keras.Model], keras.Model] | None = None

    def epoch_data(self, epoch: int, first_batch: int = 0, seed: int | None = None):
        """The batches of epoch `epoch` from its batch `first_batch` on, ordered and augmented
        by `seed` (default: the config's): the same batches whether or not the run stopped."""
        seed = self.config.seed if seed is None else seed
        self.train_data.seed = seed
        if hasattr(self.train_data, "set_epoch"):  # numpy path
            self.train_data.set_epoch(epoch, first_batch)
            return self.train_data
        return self.train_data.epoch(epoch, first_batch)

    @property
    def strategy(self):
        """The tf.distribute strategy (TensorFlow backend), else None."""
        return self.distribution.strategy


def resolved_normalization(cfg: TrainConfig) -> str:
    """The statistics a run normalizes its input with: --normalization itself, or for auto
    the input --weights expect when that is known, else the dataset's own (ImageNet's for an
    unknown dataset). A run records the resolved name in its flags.txt."""
    if cfg.normalization != "auto":
        return cfg.normalization
    if cfg.weights and (expected := finetune.expected_input(cfg.model, cfg.weights)):
        return expected
    return normalization_name("auto", cfg.dataset)


def normalization_note(cfg: TrainConfig) -> str:
    """What --normalization=auto resolves to for `cfg`, and why, for the log."""
    chosen = resolved_normalization(cfg)
    expected = finetune.expected_input(cfg.model, cfg.weights) if cfg.weights else None
    why = (f"the input --weights={cfg.weights} expect" if expected == chosen
           else "the dataset's own" if chosen != "imagenet" else "ImageNet's, the default")
    return f"normalization: {chosen!r} statistics (--normalization=auto: {why})"


def _normalization(cfg: TrainConfig) -> str:
    if cfg.normalization == "auto":
        print(normalization_note(cfg))
    return resolved_normalization(cfg)


def _folder_splits(cfg: TrainConfig):
    splits = read_image_folder(cfg.dataset[len("folder:"):], cfg.val_fraction)
    if "val" not in splits:
        raise ValueError(f"{cfg.dataset} has split folders but no 'val' (or 'validation').")
    train, val = splits["train"], splits["val"]
    train, val = _without_bad_images(cfg, train, val)
    if not len(train) or not len(val):
        raise ValueError(f"{cfg.dataset}: the train or val split is empty.")
    return train, val


#: How many bad images a message names (the count is always complete).
SHOWN_BAD_IMAGES = 10


def _without_bad_images(cfg: TrainConfig, train, val):
    """The splits, checked image by image: refused, or less the images that do not decode
    (--bad_images), so that no epoch dies on one mid-run."""
    from keras_resnet.data.numpy_loader import unreadable

    start = time.perf_counter()
    bad = unreadable(train) + unreadable(val)
    seconds = time.perf_counter() - start
    if not bad:
        if seconds > 5:
            print(f"checked {len(train) + len(val)} images in {seconds:.0f} s: all decode")
        return train, val
    shown = "; ".join(f"{path} ({why})" for path, why in bad[:SHOWN_BAD_IMAGES])
    more = f"; and {len(bad) - SHOWN_BAD_IMAGES} more" if len(bad) > SHOWN_BAD_IMAGES else ""
    if cfg.bad_images == "refuse":
        raise ValueError(f"{len(bad)} image(s) of {cfg.dataset} do not decode: {shown}{more}. "
                         "Replace or remove them, or pass --bad_images=skip to train without "
                         "them.")
    print(f"--bad_images=skip: training without {len(bad)} image(s) that do not decode: "
          f"{shown}{more}")
    paths = {path for path, _ in bad}
    return train.without(paths), val.without(paths)


def _tf_sources(cfg: TrainConfig):
    from keras_resnet.data.pipeline import folder_source, tfds_source

    if cfg.dataset.startswith("folder:"):
        train, val = _folder_splits(cfg)
        return (folder_source(train), len(train), folder_source(val), len(val),
                len(train.class_names), train.class_names)
    train, n_train, classes = tfds_source(cfg.dataset, cfg.train_split, cfg.data_dir,
                                          cfg.manual_dir)
    val, n_val, _ = tfds_source(cfg.dataset, cfg.val_split, cfg.data_dir, cfg.manual_dir)
    if not n_train or not n_val:
        raise ValueError(f"TFDS {cfg.dataset}: split {cfg.train_split!r} or {cfg.val_split!r} "
                         "is empty.")
    return train, n_train, val, n_val, classes, tuple(str(i) for i in range(classes))


def input_pipeline(cfg: TrainConfig) -> str:
    """The input path `cfg` asks for; auto: tf.data on the TensorFlow backend, else numpy."""
    if cfg.input_pipeline not in INPUT_PIPELINES:
        raise ValueError(f"input_pipeline must be one of {INPUT_PIPELINES}; "
                         f"got {cfg.input_pipeline!r}.")
    if cfg.input_pipeline != "auto":
        return cfg.input_pipeline
    return "tf.data" if keras.backend.backend() == "tensorflow" else "numpy"


def _check_sizes(cfg: TrainConfig, n_train: int, num_classes: int, replicas: int) -> int:
    if cfg.classes is not None and cfg.classes != num_classes:
        raise ValueError(f"--classes={cfg.classes} but {cfg.dataset} has {num_classes} classes.")
    steps_per_epoch = n_train // cfg.batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"{n_train} training images are fewer than one global batch of "
                         f"{cfg.batch_size}.")
    total = cfg.train_steps or cfg.epochs * steps_per_epoch
    if cfg.head_epochs * steps_per_epoch >= total:
        raise ValueError(f"--head_epochs={cfg.head_epochs} covers the whole run "
                         f"({total} steps, {steps_per_epoch} per epoch): train longer, or "
                         "fewer head-only epochs.")
    return steps_per_epoch


def prepare(cfg: TrainConfig, distribution: Distribution | Any = None) -> Plan:
    """Checks `cfg` against the data and the devices; writes nothing. `distribution` (a
    `Distribution`, or a tf.distribute strategy) defaults to the one `cfg.distribution`
    names on the current backend."""
    keras_resnet.registry.get_entry(cfg.model)  # unknown names fail before any data is read
    finetune.check(cfg.model, cfg.weights, cfg.trainable, cfg.head_epochs,
                   cfg.backbone_lr_scale)
    if cfg.head_epochs and keras.backend.backend() != "tensorflow":
        # Keras' JAX trainer needs the optimizer's variable list to stay what it was built
        # with; the head-only phase trains fewer variables than the second phase.
        raise ValueError(f"--head_epochs runs on the TensorFlow backend only (this is "
                         f"{keras.backend.backend()}): run the phases as two trainings, "
                         "--trainable=head, then --weights=FIRST_RUN/model_best.keras.")
    pipeline = input_pipeline(cfg)
    if cfg.teacher and pipeline == "numpy":
        raise ValueError(f"--teacher={cfg.teacher} needs the tf.data pipeline (the teacher "
                         "sees the batch the host augmented); the numpy pipeline augments "
                         "inside the model. Use --input_pipeline=tf.data (TensorFlow backend).")
    if pipeline == "numpy":
        from keras_resnet.data.augment_layers import DEVICE_AUGMENTS

        if not cfg.dataset.startswith("folder:"):
            raise ValueError(f"the numpy input pipeline reads image folders (folder:PATH); "
                             f"{cfg.dataset!r} is a TFDS name, which needs tf.data "
                             "(--input_pipeline=tf.data, TensorFlow installed).")
        if cfg.augment not in DEVICE_AUGMENTS:
            raise ValueError(f"--augment={cfg.augment} needs the tf.data pipeline; the numpy "
                             f"pipeline augments on the device and has {DEVICE_AUGMENTS}.")
        if cfg.flip != "random":
            raise ValueError(f"--flip={cfg.flip} needs the tf.data pipeline (it tracks each "
                             "image across epochs); the numpy pipeline flips on the device at "
                             "random. Use --flip=random or --input_pipeline=tf.data.")
        if cfg.cutout:
            raise ValueError(f"--cutout={cfg.cutout} needs the tf.data pipeline; the numpy "
                             "pipeline's device augmentation has no Cutout. Use "
                             "--input_pipeline=tf.data or --cutout=0.")
        if cfg.auto_augment != "none":
            raise ValueError(f"--auto_augment={cfg.auto_augment} needs the tf.data pipeline; "
                             "the numpy pipeline's device augmentation has no TrivialAugment. "
                             "Use --input_pipeline=tf.data or --auto_augment=none.")
    if distribution is None:
        distribution = make_distribution(cfg.distribution)
    elif not isinstance(distribution, Distribution):  # a tf.distribute strategy
        distribution = Distribution(distribution.num_replicas_in_sync, distribution,
                                    type(distribution).__name__)
    if cfg.teacher and is_multi_worker(distribution.strategy):
        raise ValueError(f"--teacher={cfg.teacher}: distillation runs on one machine (default "
                         "or mirrored distribution); the multi-worker loop has no teacher.")
    if cfg.seed is None and is_multi_worker(distribution.strategy):
        raise ValueError("multi-worker training needs --seed: every worker must shuffle and "
                         "augment the data alike for the shards to partition it.")
    replicas = distribution.replicas
    if cfg.batch_size % replicas:
        raise ValueError(f"global batch size {cfg.batch_size} is not divisible by the "
                         f"{replicas} replicas; use a multiple of {replicas}.")
    normalization = _normalization(cfg)
    mean, std = normalization_for(normalization)
    if pipeline == "numpy":
        return _prepare_numpy(cfg, distribution, mean, std)
    from keras_resnet.data.pipeline import (
        PipelineConfig,
        TrainingEpochs,
        eval_batch_size,
        evaluation_batches,
    )

    train, n_train, val, n_val, num_classes, names = _tf_sources(cfg)
    steps_per_epoch = _check_sizes(cfg, n_train, num_classes, replicas)
    if cfg.teacher:
        print(distillation.check_teacher(cfg.teacher, cfg.image_size, names, normalization,
                                         cfg.model))
    total = cfg.train_steps or cfg.epochs * steps_per_epoch
    pipe = PipelineConfig(cfg.image_size, cfg.batch_size, mean, std, cfg.augment,
                          min(cfg.shuffle_buffer, n_train), cfg.cache, cfg.seed, cfg.flip,
                          cfg.cutout, cfg.auto_augment)
    val_batch = eval_batch_size(n_val, cfg.batch_size, replicas)
    return Plan(cfg, distribution, TrainingEpochs(train, pipe, n_train),
                evaluation_batches(val, pipe, val_batch), num_classes, names, steps_per_epoch,
                total, n_train, n_val)


def is_multi_worker(strategy) -> bool:
    return type(strategy).__name__ in ("MultiWorkerMirroredStrategy",
                                       "CollectiveAllReduceStrategy")


def _prepare_numpy(cfg: TrainConfig, distribution: Distribution, mean, std) -> Plan:
    from keras_resnet.data.augment_layers import with_input_layers
    from keras_resnet.data.numpy_loader import ArrayBatches, decode_split, even_eval_batch_size

    train, val = _folder_splits(cfg)
    num_classes = len(train.class_names)
    steps_per_epoch = _check_sizes(cfg, len(train), num_classes, distribution.replicas)
    val_batch = even_eval_batch_size(len(val), cfg.batch_size, distribution.replicas)
    start = time.perf_counter()
    train_images, train_labels = decode_split(train, cfg.image_size)
    val_images, val_labels = decode_split(val, cfg.image_size)
    print(f"decoded {len(train) + len(val)} images with Pillow in "
          f"{time.perf_counter() - start:.1f} s (numpy input pipeline)")
    train_ds = ArrayBatches(train_images, train_labels, cfg.batch_size, shuffle=True,
                            seed=cfg.seed)
    val_ds = ArrayBatches(val_images, val_labels, val_batch, shuffle=False)

    def input_layers(backbone: keras.Model) -> keras.Model:
        return with_input_layers(backbone, mean, std, cfg.augment, cfg.seed)

    return Plan(cfg, distribution, train_ds, val_ds, num_classes, train.class_names,
                steps_per_epoch, cfg.train_steps or cfg.epochs * steps_per_epoch, len(train),
                len(val), input_layers)
