"""How training is spread over devices: a tf.distribute strategy on the TensorFlow backend
(one GPU box, several workers, or a plain CPU), keras.distribution's DataParallel on JAX.

TensorFlow is imported only on the TensorFlow path: the JAX path runs without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from typing import Any

import keras

DISTRIBUTIONS = ("auto", "mirrored", "multi_worker", "one_device")
#: How long a multi-worker collective op (a gradient all-reduce) may wait for its peers
#: before it fails (train.py --peer_timeout_s): without it, a worker whose peer died waits for
#: ever.
COLLECTIVE_TIMEOUT_SECONDS = 600


@dataclasses.dataclass(frozen=True)
class Distribution:
    """What the trainer needs of the device setup, whatever the backend."""

    replicas: int
    #: A tf.distribute.Strategy on the TensorFlow backend; None on the others.
    strategy: Any = None
    description: str = ""

    def scope(self):
        """The context to build and compile the model in."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    @property
    def is_chief(self) -> bool:
        return self.strategy is None or is_chief(self.strategy)


def make_distribution(distribution: str,
                      peer_timeout_s: int = COLLECTIVE_TIMEOUT_SECONDS) -> Distribution:
    """`distribution` on the current Keras backend: `make_strategy` on TensorFlow; on JAX,
    auto/mirrored set keras.distribution.DataParallel over all devices (when there are
    several) and one_device uses the first device."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}; got {distribution!r}.")
    if keras.backend.backend() == "tensorflow":
        strategy = make_strategy(distribution, peer_timeout_s)
        return Distribution(strategy.num_replicas_in_sync, strategy,
                            type(strategy).__name__)
    if distribution == "multi_worker":
        raise ValueError("distribution='multi_worker' is the TensorFlow backend's "
                         "MultiWorkerMirroredStrategy; on the JAX backend use one machine "
                         "('auto' or 'mirrored': DataParallel over its devices).")
    devices = keras.distribution.list_devices()
    if distribution == "one_device" or len(devices) == 1:
        return Distribution(1, None, f"one device ({devices[0]})")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return Distribution(len(devices), None, f"DataParallel over {len(devices)} devices")


def make_strategy(distribution: str, peer_timeout_s: int = COLLECTIVE_TIMEOUT_SECONDS):
    """The strategy `distribution` names.

    auto: MirroredStrategy over all visible GPUs, TensorFlow's default strategy on a CPU;
    mirrored: MirroredStrategy over the GPUs, or over the logical CPUs if there are none;
    multi_worker: MultiWorkerMirroredStrategy configured by the TF_CONFIG environment variable;
    one_device: the first GPU, else the CPU.

    Call it before anything else touches TensorFlow's runtime: MultiWorkerMirroredStrategy
    configures collective ops, which is only possible at program start.
    """
    import tensorflow as tf

    if distribution == "multi_worker":  # must come before any op initializes the runtime
        config = os.environ.get("TF_CONFIG")
        if not config:
            raise ValueError("distribution='multi_worker' needs the TF_CONFIG environment "
                             "variable (cluster addresses and this worker's task); see README.")
        parse_tf_config(config)
        options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=peer_timeout_s)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    gpus = tf.config.list_logical_devices("GPU")
    if distribution == "auto":
        return tf.distribute.MirroredStrategy() if gpus else tf.distribute.get_strategy()
    if distribution == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if distribution == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    raise ValueError(f"distribution must be one of {DISTRIBUTIONS}; got {distribution!r}.")


def parse_tf_config(text: str) -> dict:
    """TF_CONFIG's JSON checked: a cluster of jobs, each a non-empty list of "host:port"
    strings, and this process's task (a job of the cluster, an index inside it). ValueError
    saying what is wrong otherwise."""
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"TF_CONFIG is not valid JSON: {err}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise ValueError('TF_CONFIG needs {"cluster": {"worker": ["host:port", ...]}, '
                         '"task": {"type": "worker", "index": 0}}.')
    for job, addresses in config["cluster"].items():
        if (not isinstance(addresses, list) or not addresses
                or not all(isinstance(a, str) and a.rpartition(":")[2].isdigit()
                           for a in addresses)):
            raise ValueError(f"TF_CONFIG cluster job {job!r} must list host:port addresses, "
                             f"not {addresses!r}.")
    task = config.get("task")
    if not isinstance(task, dict) or task.get("type") not in config["cluster"]:
        raise ValueError(f"TF_CONFIG task {task!r} must name a job of the cluster "
                         f"({', '.join(map(str, config['cluster']))}) as its type.")
    index = task.get("index")
    if (not isinstance(index, int) or isinstance(index, bool)
            or not 0 <= index < len(config["cluster"][task["type"]])):
        raise ValueError(f"TF_CONFIG task index {index!r} is not a position in its job's "
                         f"{len(config['cluster'][task['type']])} addresses.")
    return config



def is_chief(strategy) -> bool:
    """True on the worker that writes artifacts (always, outside multi-worker training)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker"
                                             and resolver.task_id == 0)


def lost_peer(error: BaseException, distribution: Distribution) -> str | None:
    """What to tell the user when `error` is a multi-worker run losing a peer (a worker that
    died or stopped answering: TensorFlow's collective ops fail with Unavailable, Deadline
    exceeded, Cancelled or Aborted); None for any other error."""
    if distribution.strategy is None:
        return None
    import tensorflow as tf

    if not isinstance(distribution.strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return None

    lost = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
            tf.errors.CancelledError, tf.errors.AbortedError)
    if not isinstance(error, lost):
        return None
    first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
    return (f"another worker of this multi-worker run stopped answering ({type(error).__name__}"
            f"{': ' + first if first else ''}). Restart every worker with the same command: "
            "the run resumes from its last checkpoint.")
