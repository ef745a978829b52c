"""The fit loop: policy -> devices -> data -> model built under the scope -> fit, resumable.

`prepare` checks everything (data present, classes, batch divisible by the replicas, model_dir
consistent) before anything is written; `fit` then trains one epoch per `model.fit` call,
starting from the newest checkpoint in model_dir, and writes the artifacts there.

Two input paths: ``tf.data`` (`training.pipeline`, augmentation on the host; TensorFlow
backend) and ``numpy`` (`training.numpy_loader`, Pillow decoding, augmentation by Keras layers
on the device; no TensorFlow, for JAX). TensorFlow is imported only on the first.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import keras

import keras_resnet
from keras_resnet.preprocessing import normalization_for, normalization_name
from training import checkpoints
from training.callbacks import (
    BestModel,
    RunProgress,
    StepLog,
    StopOnNonFiniteLoss,
    Throughput,
    best_epoch,
)
from training.checkpoints import write_text
from training.distribute import Distribution, make_distribution
from training.image_folder import read_image_folder
from training.losses import classification_loss
from training.schedules import ResNetSchedule
from training.weight_average import EvaluateAverage, averaged_weights, make_sgd

INPUT_PIPELINES = ("auto", "tf.data", "numpy")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; `training/train.py` fills it from flags."""

    model: str
    dataset: str
    model_dir: str
    image_size: int = 32
    augment: str = "cifar"
    flip: str = "random"
    cutout: int = 0
    normalization: str = "auto"
    val_fraction: float = 0.1
    train_split: str = "train"
    val_split: str = "validation"
    data_dir: str | None = None
    manual_dir: str | None = None
    classes: int | None = None
    global_batch_size: int = 128
    epochs: int = 1
    train_steps: int = 0
    lr: float = 0.1
    lr_decay: str = "step"
    lr_boundaries: tuple[float, ...] = ()
    lr_boundaries_unit: str = "steps"
    warmup: str = "linear"
    warmup_steps: int = 0
    warmup_epochs: float = 0.0
    warmup_lr: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    label_smoothing: float = 0.0
    weight_decay: float = 1e-4
    decay_bn_and_bias: bool = True
    ema_decay: float = 0.0
    shortcut: str | None = None
    zero_init_residual: bool = False
    dtype: str = "float32"
    jit_compile: bool = False
    distribution: str = "auto"
    checkpoint_every_steps: int = 0
    log_every_steps: int = 0
    shuffle_buffer: int = 50_000
    cache: bool = True
    input_pipeline: str = "auto"
    steps_per_execution: int = 1
    seed: int | None = None
    verbose: int = 1


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


def _normalization(cfg: TrainConfig) -> str:
    chosen = normalization_name(cfg.normalization, cfg.dataset)
    if cfg.normalization == "auto":
        print(f"normalization: {chosen!r} statistics (--normalization=auto)")
    return chosen


def _folder_splits(cfg: TrainConfig):
    splits = read_image_folder(cfg.dataset[len("folder:"):], cfg.val_fraction)
    if "val" not in splits:
        raise ValueError(f"{cfg.dataset} has split folders but no 'val' (or 'validation').")
    train, val = splits["train"], splits["val"]
    if not len(train) or not len(val):
        raise ValueError(f"{cfg.dataset}: the train or val split is empty.")
    return train, val


def _tf_sources(cfg: TrainConfig):
    from training.pipeline import folder_source, tfds_source

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
    steps_per_epoch = n_train // cfg.global_batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"{n_train} training images are fewer than one global batch of "
                         f"{cfg.global_batch_size}.")
    return steps_per_epoch


def prepare(cfg: TrainConfig, distribution: Distribution | Any = None) -> Plan:
    """Checks `cfg` against the data and the devices; writes nothing. `distribution` (a
    `Distribution`, or a tf.distribute strategy) defaults to the one `cfg.distribution`
    names on the current backend."""
    keras_resnet.registry.get_entry(cfg.model)  # unknown names fail before any data is read
    pipeline = input_pipeline(cfg)
    if pipeline == "numpy":
        from training.augment_layers import DEVICE_AUGMENTS

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
    if distribution is None:
        distribution = make_distribution(cfg.distribution)
    elif not isinstance(distribution, Distribution):  # a tf.distribute strategy
        distribution = Distribution(distribution.num_replicas_in_sync, distribution,
                                    type(distribution).__name__)
    if cfg.seed is None and _is_multi_worker(distribution.strategy):
        raise ValueError("multi-worker training needs --seed: every worker must shuffle and "
                         "augment the data alike for the shards to partition it.")
    replicas = distribution.replicas
    if cfg.global_batch_size % replicas:
        raise ValueError(f"global batch size {cfg.global_batch_size} is not divisible by the "
                         f"{replicas} replicas; use a multiple of {replicas}.")
    mean, std = normalization_for(_normalization(cfg))
    if pipeline == "numpy":
        return _prepare_numpy(cfg, distribution, mean, std)
    from training.pipeline import (
        PipelineConfig,
        TrainingEpochs,
        eval_batch_size,
        evaluation_batches,
    )

    train, n_train, val, n_val, num_classes, names = _tf_sources(cfg)
    steps_per_epoch = _check_sizes(cfg, n_train, num_classes, replicas)
    total = cfg.train_steps or cfg.epochs * steps_per_epoch
    pipe = PipelineConfig(cfg.image_size, cfg.global_batch_size, mean, std, cfg.augment,
                          min(cfg.shuffle_buffer, n_train), cfg.cache, cfg.seed, cfg.flip,
                          cfg.cutout)
    val_batch = eval_batch_size(n_val, cfg.global_batch_size, replicas)
    return Plan(cfg, distribution, TrainingEpochs(train, pipe, n_train),
                evaluation_batches(val, pipe, val_batch), num_classes, names, steps_per_epoch,
                total, n_train, n_val)


def _is_multi_worker(strategy) -> bool:
    return type(strategy).__name__ in ("MultiWorkerMirroredStrategy",
                                       "CollectiveAllReduceStrategy")


def _prepare_numpy(cfg: TrainConfig, distribution: Distribution, mean, std) -> Plan:
    from training.augment_layers import with_input_layers
    from training.numpy_loader import ArrayBatches, decode_split, even_eval_batch_size

    train, val = _folder_splits(cfg)
    num_classes = len(train.class_names)
    steps_per_epoch = _check_sizes(cfg, len(train), num_classes, distribution.replicas)
    val_batch = even_eval_batch_size(len(val), cfg.global_batch_size, distribution.replicas)
    start = time.perf_counter()
    train_images, train_labels = decode_split(train, cfg.image_size)
    val_images, val_labels = decode_split(val, cfg.image_size)
    print(f"decoded {len(train) + len(val)} images with Pillow in "
          f"{time.perf_counter() - start:.1f} s (numpy input pipeline)")
    train_ds = ArrayBatches(train_images, train_labels, cfg.global_batch_size, shuffle=True,
                            seed=cfg.seed)
    val_ds = ArrayBatches(val_images, val_labels, val_batch, shuffle=False)

    def input_layers(backbone: keras.Model) -> keras.Model:
        return with_input_layers(backbone, mean, std, cfg.augment, cfg.seed)

    return Plan(cfg, distribution, train_ds, val_ds, num_classes, train.class_names,
                steps_per_epoch, cfg.train_steps or cfg.epochs * steps_per_epoch, len(train),
                len(val), input_layers)


def _schedule(cfg: TrainConfig, steps_per_epoch: int, total: int) -> ResNetSchedule:
    scale = steps_per_epoch if cfg.lr_boundaries_unit == "epochs" else 1
    warmup = cfg.warmup_steps or round(cfg.warmup_epochs * steps_per_epoch)
    return ResNetSchedule(cfg.lr, total, cfg.lr_decay,
                          tuple(round(b * scale) for b in cfg.lr_boundaries),
                          warmup_steps=warmup, warmup=cfg.warmup, warmup_lr=cfg.warmup_lr)


def _add_weight_decay(model: keras.Model, weight_decay: float, bn_and_bias: bool) -> None:
    """The paper's weight decay as L2 in the loss: (wd / 2) * ||w||^2 per decayed variable."""
    if not weight_decay:
        return
    for layer in model.layers:
        for variable in layer.trainable_weights:
            is_kernel = variable is getattr(layer, "kernel", None)
            if is_kernel or bn_and_bias:
                variable.regularizer = keras.regularizers.L2(weight_decay / 2)


def _metrics() -> list[keras.metrics.Metric]:
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")]


def build_model(plan: Plan) -> keras.Model:
    """The compiled model to fit, built in the plan's distribution scope: the backbone itself,
    or on the numpy path the backbone behind the device input layers (see `backbone_of`)."""
    cfg = plan.config
    keras.mixed_precision.set_global_policy(cfg.dtype)
    with plan.distribution.scope():
        kwargs = {"shortcut": cfg.shortcut} if cfg.shortcut else {}
        if cfg.zero_init_residual:
            kwargs["zero_init_residual"] = True
        model = keras_resnet.get_model(cfg.model, input_shape=(cfg.image_size, cfg.image_size, 3),
                                       classes=plan.num_classes, classifier_activation=None,
                                       **kwargs)
        _add_weight_decay(model, cfg.weight_decay, cfg.decay_bn_and_bias)
        if plan.input_layers is not None:
            model = plan.input_layers(model)
        optimizer = make_sgd(_schedule(cfg, plan.steps_per_epoch, plan.total_steps),
                             cfg.momentum, cfg.nesterov, cfg.ema_decay)
        model.compile(optimizer=optimizer, loss=classification_loss(cfg.label_smoothing),
                      metrics=_metrics(), jit_compile=cfg.jit_compile,
                      steps_per_execution=cfg.steps_per_execution)
    return model


def backbone_of(model: keras.Model) -> keras.Model:
    """The ResNet inside a model built by `build_model`: what gets saved and exported (it
    takes normalized images, whichever input path trained it)."""
    inner = model.layers[-1]
    return inner if isinstance(inner, keras.Model) else model


def fit(plan: Plan) -> dict:
    """Trains from the newest checkpoint in model_dir to the plan's last step; returns the
    metrics also written to model_dir/metrics.json."""
    cfg = plan.config
    chief = plan.distribution.is_chief
    # Only the chief writes model_dir; other workers log to a scratch folder of their own.
    out_dir = cfg.model_dir if chief else tempfile.mkdtemp(prefix="keras-resnet-worker-")
    os.makedirs(cfg.model_dir, exist_ok=True)
    if chief and (stale := checkpoints.remove_stale_temporaries(cfg.model_dir)):
        print(f"removed {len(stale)} temporary file(s) an interrupted run left in model_dir")
    model = build_model(plan)
    backbone = backbone_of(model)
    with plan.distribution.scope():  # the optimizer's variables belong to the strategy
        step = checkpoints.restore(model, cfg.model_dir)
    seed = checkpoints.data_seed(cfg.model_dir, cfg.seed, write=chief)
    spe = plan.steps_per_epoch
    total_epochs = math.ceil(plan.total_steps / spe)
    if step:
        print(f"resuming from step {step} (epoch {step // spe + 1}) in {cfg.model_dir}")
    write_text(os.path.join(out_dir, "labels.txt"), "\n".join(plan.class_names) + "\n")
    throughput = Throughput(cfg.global_batch_size)
    history = os.path.join(out_dir, "history.csv")
    kept = best_epoch(history) if step and os.path.isfile(os.path.join(
        cfg.model_dir, "model_best.keras")) else None
    multi_worker = _is_multi_worker(plan.strategy)
    # Validation on the average (and, where Keras' evaluate works, on the raw weights too).
    callbacks = [EvaluateAverage(None if multi_worker else plan.val_ds)] if cfg.ema_decay else []
    callbacks += [throughput, StopOnNonFiniteLoss(), RunProgress(total_epochs),
                 checkpoints.Checkpointer(cfg.model_dir, spe, cfg.checkpoint_every_steps, chief),
                 keras.callbacks.CSVLogger(history, append=True),
                 BestModel(os.path.join(cfg.model_dir, "model_best.keras"), enabled=chief,
                           model=backbone, best=kept[1] if kept else -math.inf)]
    if cfg.log_every_steps and chief:
        callbacks.append(StepLog(os.path.join(out_dir, "steps.csv"), cfg.log_every_steps, spe,
                                 resumed_step=step))
    if _tensorboard_available():
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(out_dir, "logs")))
    else:
        print("TensorBoard logs are not written: keras' TensorBoard callback needs TensorFlow, "
              "which is not installed (history.csv has the same curves)")
    replicas = plan.distribution.replicas
    print(f"training {cfg.model} on {cfg.dataset}: {plan.train_examples} train / "
          f"{plan.val_examples} val images, {plan.num_classes} classes; global batch "
          f"{cfg.global_batch_size} = {replicas} replica(s) x "
          f"{cfg.global_batch_size // replicas}; {spe} steps/epoch, "
          f"{plan.total_steps} steps in all; dtype {cfg.dtype}; {input_pipeline(cfg)} input; "
          f"{plan.distribution.description or 'default device'}")
    # Keras 3's fit() fails under MultiWorkerMirroredStrategy (keras-team/keras#20585): there
    # the epochs run through a loop of our own, with the same callbacks.
    loop = None
    if multi_worker:
        from training.distributed_loop import DistributedLoop

        loop = DistributedLoop(model, plan.strategy, cfg.global_batch_size,
                               cfg.label_smoothing)
    start = time.perf_counter()
    logs = {}
    while step < plan.total_steps:
        epoch = step // spe
        steps = min(spe * (epoch + 1), plan.total_steps) - step
        train_ds = plan.epoch_data(epoch, first_batch=step - epoch * spe, seed=seed)
        if loop is not None:
            callback_list = keras.callbacks.CallbackList(
                callbacks, model=model, verbose=cfg.verbose, epochs=epoch + 1, steps=steps)
            logs = loop.run_epoch(train_ds, plan.val_ds, epoch, steps, callback_list)
        else:
            history = model.fit(train_ds, validation_data=plan.val_ds, initial_epoch=epoch,
                                epochs=epoch + 1, steps_per_epoch=steps, callbacks=callbacks,
                                shuffle=False, verbose=cfg.verbose)
            logs = {k: float(v[-1]) for k, v in history.history.items()}
        step = checkpoints.optimizer_step(model)
    wall = time.perf_counter() - start
    if not logs and loop is not None:  # already finished: report the saved model's accuracy
        with averaged_weights(model):
            logs = loop.evaluate(plan.val_ds)
    elif not logs:
        with averaged_weights(model):
            result = model.evaluate(plan.val_ds, verbose=0, return_dict=True)
        logs = {f"val_{k}": float(v) for k, v in result.items()}
    metrics = {
        "model": cfg.model, "dataset": cfg.dataset, "steps": step,
        "epochs": math.ceil(step / spe), "steps_per_epoch": spe,
        "val_accuracy": logs.get("val_accuracy"),
        "val_top5": logs.get("val_top5"), "val_loss": logs.get("val_loss"),
        "train_img_per_sec": statistics.median(throughput.epoch_rates)
        if throughput.epoch_rates else None,
        "wall_seconds_this_run": round(wall, 1),
        "params": keras_resnet.count_trainable_params(backbone),
        "input_pipeline": input_pipeline(cfg), "backend": keras.backend.backend(),
    }
    if chief:
        with averaged_weights(model):
            checkpoints.save_model(backbone, os.path.join(cfg.model_dir, "model.keras"))
        write_text(os.path.join(cfg.model_dir, "metrics.json"), json.dumps(metrics, indent=2))
    return metrics


def _tensorboard_available() -> bool:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def flip_averaged(model: keras.Model) -> keras.Model:
    """`model` whose output is the mean of its class probabilities on each image and on the
    image mirrored left-right: horizontal-flip test-time augmentation. Weights are shared;
    logits (the trainer's models) go through a softmax first, a softmax head is used as is."""
    head = getattr(model.layers[-1], "activation", None)
    probabilities_out = head is keras.activations.softmax

    def probabilities(x):
        x = keras.ops.cast(model(x), "float32")
        return x if probabilities_out else keras.ops.softmax(x)

    inputs = keras.Input(model.input_shape[1:], name="images")
    mirrored = keras.ops.flip(inputs, axis=2)  # NHWC: axis 2 is the width
    averaged = (probabilities(inputs) + probabilities(mirrored)) / 2
    return keras.Model(inputs, averaged, name=f"{model.name}_flip_averaged")


def _top_k(model: keras.Model, plan: Plan, from_logits: bool) -> tuple[float, float]:
    """Top-1 and top-5 accuracy of `model` on the plan's validation split."""
    model.compile(metrics=_metrics(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits))
    result = model.evaluate(plan.val_ds, return_dict=True, verbose=0)
    return float(result["accuracy"]), float(result["top5"])


def evaluate(model_path: str, plan: Plan, flip: bool = False) -> dict:
    """Top-1/top-5 of a saved `.keras` model on the plan's validation split; with `flip`, also
    `flip_top1`/`flip_top5`: those of its predictions averaged over each image and its mirror
    image (`flip_averaged`)."""
    if not os.path.isfile(model_path):
        raise ValueError(f"no model file at {model_path!r}.")
    model = keras.models.load_model(model_path, safe_mode=True, compile=False)
    if plan.input_layers is not None:  # numpy path: batches are raw pixels
        model = plan.input_layers(model)
    top1, top5 = _top_k(model, plan, from_logits=True)
    result = {"top1": top1, "top5": top5, "images": plan.val_examples}
    if flip:
        result["flip_top1"], result["flip_top5"] = _top_k(flip_averaged(model), plan,
                                                          from_logits=False)
    return result
