"""The fit loop: policy -> strategy -> data -> model built under the scope -> fit, resumable.

`prepare` checks everything (data present, classes, batch divisible by the replicas, model_dir
consistent) before anything is written; `fit` then trains one epoch per `model.fit` call,
starting from the newest checkpoint in model_dir, and writes the artifacts there.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import tempfile
import time

import keras
import tensorflow as tf

import keras_resnet
from keras_resnet.preprocessing import NORMALIZATION, normalization_for
from training import checkpoints
from training.callbacks import BestModel, StopOnNonFiniteLoss, Throughput
from training.checkpoints import atomic_path, write_text
from training.distribute import is_chief, make_strategy
from training.image_folder import read_image_folder
from training.pipeline import (
    PipelineConfig,
    batched,
    eval_batch_size,
    folder_source,
    tfds_source,
)
from training.schedules import ResNetSchedule


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; `training/train.py` fills it from flags."""

    model: str
    dataset: str
    model_dir: str
    image_size: int = 32
    augment: str = "cifar"
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
    weight_decay: float = 1e-4
    decay_bn_and_bias: bool = True
    shortcut: str | None = None
    zero_init_residual: bool = False
    dtype: str = "float32"
    jit_compile: bool = False
    distribution: str = "auto"
    checkpoint_every_steps: int = 0
    shuffle_buffer: int = 50_000
    cache: bool = True
    seed: int | None = None
    verbose: int = 1


@dataclasses.dataclass
class Plan:
    """A checked run: the strategy, the data and the step counts."""

    config: TrainConfig
    strategy: tf.distribute.Strategy
    train_ds: tf.data.Dataset
    val_ds: tf.data.Dataset
    num_classes: int
    class_names: tuple[str, ...]
    steps_per_epoch: int
    total_steps: int
    train_examples: int
    val_examples: int


def _normalization(cfg: TrainConfig) -> str:
    if cfg.normalization != "auto":
        return cfg.normalization
    name = cfg.dataset.split(":", 1)[0].split("/")[0]
    chosen = name if name in NORMALIZATION else "imagenet"
    print(f"normalization: {chosen!r} statistics (--normalization=auto)")
    return chosen


def _load_sources(cfg: TrainConfig):
    if cfg.dataset.startswith("folder:"):
        splits = read_image_folder(cfg.dataset[len("folder:"):], cfg.val_fraction)
        if "val" not in splits:
            raise ValueError(f"{cfg.dataset} has split folders but no 'val' (or 'validation').")
        train, val = splits["train"], splits["val"]
        if not len(train) or not len(val):
            raise ValueError(f"{cfg.dataset}: the train or val split is empty.")
        return (folder_source(train), len(train), folder_source(val), len(val),
                len(train.class_names), train.class_names)
    train, n_train, classes = tfds_source(cfg.dataset, cfg.train_split, cfg.data_dir,
                                          cfg.manual_dir)
    val, n_val, _ = tfds_source(cfg.dataset, cfg.val_split, cfg.data_dir, cfg.manual_dir)
    if not n_train or not n_val:
        raise ValueError(f"TFDS {cfg.dataset}: split {cfg.train_split!r} or {cfg.val_split!r} "
                         "is empty.")
    return train, n_train, val, n_val, classes, tuple(str(i) for i in range(classes))


def prepare(cfg: TrainConfig, strategy: tf.distribute.Strategy | None = None) -> Plan:
    """Checks `cfg` against the data and the devices; writes nothing. `strategy` defaults to
    the one `cfg.distribution` names."""
    keras_resnet.registry.get_entry(cfg.model)  # unknown names fail before any data is read
    strategy = strategy or make_strategy(cfg.distribution)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise ValueError(
            "distribution='multi_worker' is not supported yet: Keras 3's fit() fails under "
            "MultiWorkerMirroredStrategy (keras-team/keras#20585, open). The trainer needs its "
            "own distributed train step for it; use 'mirrored' on one machine meanwhile.")
    replicas = strategy.num_replicas_in_sync
    if cfg.global_batch_size % replicas:
        raise ValueError(f"global batch size {cfg.global_batch_size} is not divisible by the "
                         f"{replicas} replicas; use a multiple of {replicas}.")
    train, n_train, val, n_val, num_classes, names = _load_sources(cfg)
    if cfg.classes is not None and cfg.classes != num_classes:
        raise ValueError(f"--classes={cfg.classes} but {cfg.dataset} has {num_classes} classes.")
    steps_per_epoch = n_train // cfg.global_batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"{n_train} training images are fewer than one global batch of "
                         f"{cfg.global_batch_size}.")
    total = cfg.train_steps or cfg.epochs * steps_per_epoch
    mean, std = normalization_for(_normalization(cfg))
    pipe = PipelineConfig(cfg.image_size, cfg.global_batch_size, mean, std, cfg.augment,
                          min(cfg.shuffle_buffer, n_train), cfg.cache, cfg.seed)
    val_batch = eval_batch_size(n_val, cfg.global_batch_size, replicas)
    return Plan(cfg, strategy, batched(train, pipe, True).repeat(),
                batched(val, pipe, False, val_batch), num_classes, names, steps_per_epoch,
                total, n_train, n_val)


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
    """The compiled model, under the plan's strategy scope, with the checkpoint restored."""
    cfg = plan.config
    keras.mixed_precision.set_global_policy(cfg.dtype)
    with plan.strategy.scope():
        kwargs = {"shortcut": cfg.shortcut} if cfg.shortcut else {}
        if cfg.zero_init_residual:
            kwargs["zero_init_residual"] = True
        model = keras_resnet.get_model(cfg.model, input_shape=(cfg.image_size, cfg.image_size, 3),
                                       classes=plan.num_classes, classifier_activation=None,
                                       **kwargs)
        _add_weight_decay(model, cfg.weight_decay, cfg.decay_bn_and_bias)
        optimizer = keras.optimizers.SGD(_schedule(cfg, plan.steps_per_epoch, plan.total_steps),
                                         momentum=cfg.momentum)
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=_metrics(), jit_compile=cfg.jit_compile)
    return model


def fit(plan: Plan) -> dict:
    """Trains from the newest checkpoint in model_dir to the plan's last step; returns the
    metrics also written to model_dir/metrics.json."""
    cfg = plan.config
    chief = is_chief(plan.strategy)
    # Only the chief writes model_dir; other workers log to a scratch folder of their own.
    out_dir = cfg.model_dir if chief else tempfile.mkdtemp(prefix="keras-resnet-worker-")
    os.makedirs(cfg.model_dir, exist_ok=True)
    if chief and (stale := checkpoints.remove_stale_temporaries(cfg.model_dir)):
        print(f"removed {len(stale)} temporary file(s) an interrupted run left in model_dir")
    model = build_model(plan)
    step = checkpoints.restore(model, cfg.model_dir)
    spe = plan.steps_per_epoch
    if step:
        print(f"resuming from step {step} (epoch {step // spe + 1}) in {cfg.model_dir}")
    write_text(os.path.join(out_dir, "labels.txt"), "\n".join(plan.class_names) + "\n")
    throughput = Throughput(cfg.global_batch_size)
    callbacks = [throughput, StopOnNonFiniteLoss(),
                 checkpoints.Checkpointer(cfg.model_dir, spe, cfg.checkpoint_every_steps, chief),
                 keras.callbacks.CSVLogger(os.path.join(out_dir, "history.csv"), append=True),
                 keras.callbacks.TensorBoard(os.path.join(out_dir, "logs")),
                 BestModel(os.path.join(cfg.model_dir, "model_best.keras"), enabled=chief)]
    print(f"training {cfg.model} on {cfg.dataset}: {plan.train_examples} train / "
          f"{plan.val_examples} val images, {plan.num_classes} classes; global batch "
          f"{cfg.global_batch_size} = {plan.strategy.num_replicas_in_sync} replica(s) x "
          f"{cfg.global_batch_size // plan.strategy.num_replicas_in_sync}; {spe} steps/epoch, "
          f"{plan.total_steps} steps in all; dtype {cfg.dtype}")
    start = time.perf_counter()
    logs = {}
    while step < plan.total_steps:
        epoch = step // spe
        steps = min(spe * (epoch + 1), plan.total_steps) - step
        history = model.fit(plan.train_ds, validation_data=plan.val_ds, initial_epoch=epoch,
                            epochs=epoch + 1, steps_per_epoch=steps, callbacks=callbacks,
                            shuffle=False,
                            verbose=cfg.verbose)
        logs = {k: float(v[-1]) for k, v in history.history.items()}
        step = checkpoints.optimizer_step(model)
    wall = time.perf_counter() - start
    if not logs:  # already finished: report the saved model's accuracy
        result = model.evaluate(plan.val_ds, verbose=0, return_dict=True)
        logs = {f"val_{k}": float(v) for k, v in result.items()}
    metrics = {
        "model": cfg.model, "dataset": cfg.dataset, "steps": step,
        "epochs": math.ceil(step / spe), "val_accuracy": logs.get("val_accuracy"),
        "val_top5": logs.get("val_top5"), "val_loss": logs.get("val_loss"),
        "train_img_per_sec": statistics.median(throughput.epoch_rates)
        if throughput.epoch_rates else None,
        "wall_seconds_this_run": round(wall, 1),
        "params": keras_resnet.count_trainable_params(model),
    }
    if chief:
        with atomic_path(os.path.join(cfg.model_dir, "model.keras"), suffix=".keras") as tmp:
            model.save(tmp)
        write_text(os.path.join(cfg.model_dir, "metrics.json"), json.dumps(metrics, indent=2))
    return metrics


def evaluate(model_path: str, plan: Plan) -> dict:
    """Top-1/top-5 of a saved `.keras` model on the plan's validation split."""
    if not os.path.isfile(model_path):
        raise ValueError(f"no model file at {model_path!r}.")
    model = keras.models.load_model(model_path, safe_mode=True, compile=False)
    model.compile(metrics=_metrics(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    result = model.evaluate(plan.val_ds, return_dict=True, verbose=0)
    return {"top1": float(result["accuracy"]), "top5": float(result["top5"]),
            "images": plan.val_examples}
