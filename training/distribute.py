"""Choosing the tf.distribute strategy: one GPU box, several workers, or a plain CPU."""

from __future__ import annotations

import json
import os

import tensorflow as tf

DISTRIBUTIONS = ("auto", "mirrored", "multi_worker", "one_device")


def make_strategy(distribution: str) -> tf.distribute.Strategy:
    """The strategy `distribution` names.

    auto: MirroredStrategy over all visible GPUs, TensorFlow's default strategy on a CPU;
    mirrored: MirroredStrategy over the GPUs, or over the logical CPUs if there are none;
    multi_worker: MultiWorkerMirroredStrategy configured by the TF_CONFIG environment variable;
    one_device: the first GPU, else the CPU.

    Call it before anything else touches TensorFlow's runtime: MultiWorkerMirroredStrategy
    configures collective ops, which is only possible at program start.
    """
    if distribution == "multi_worker":  # must come before any op initializes the runtime
        config = os.environ.get("TF_CONFIG")
        if not config:
            raise ValueError("distribution='multi_worker' needs the TF_CONFIG environment "
                             "variable (cluster addresses and this worker's task); see README.")
        try:
            json.loads(config)
        except json.JSONDecodeError as err:
            raise ValueError(f"TF_CONFIG is not valid JSON: {err}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if distribution == "auto":
        return tf.distribute.MirroredStrategy() if gpus else tf.distribute.get_strategy()
    if distribution == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if distribution == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    raise ValueError(f"distribution must be one of {DISTRIBUTIONS}; got {distribution!r}.")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes artifacts (always, outside multi-worker training)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker"
                                             and resolver.task_id == 0)
