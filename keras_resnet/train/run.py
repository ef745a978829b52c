"""The trainer's entry point: ``keras-resnet-train --flagfile=...`` (installed) or
``python training/train.py --flagfile=...`` (a checkout), the same program.

Flagfiles for the paper's recipes are in training/configs/. Rerunning the same command resumes
from the newest checkpoint in --model_dir; ``--flagfile=MODEL_DIR/flags.txt`` repeats a run.
The run's flags are `keras_resnet.train.config.TrainConfig`'s fields, defined in
`keras_resnet.train.flags`; this module adds the flags of the process only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys

from absl import app, flags

from keras_resnet.common.atomic_io import write_text
from keras_resnet.common.entry import run_app
from keras_resnet.common.folder_lock import FolderBusyError, hold
from keras_resnet.train import flags as config_flags
from keras_resnet.train.config import run_differences

FLAGS = flags.FLAGS


def define_process_flags() -> None:
    """Flags that say how this process runs, not what the run is (not in TrainConfig, not in
    flags.txt). The run's own flags come from `config_flags.define_flags`."""
    flags.DEFINE_enum("mode", "train", ["train", "eval"],
                      "train: train (resuming from model_dir); eval: top-1/top-5 of a saved "
                      "model.")
    flags.DEFINE_integer("logical_cpus", 0,
                         "Split the CPU into N logical devices (N >= 2), so that mirrored "
                         "training (TensorFlow) or DataParallel (JAX) can be tried without GPUs.",
                         lower_bound=0)
    flags.DEFINE_integer("peer_timeout_s", 600,
                         "--distribution=multi_worker: how long a gradient all-reduce waits for "
                         "the other workers before this worker stops with an error (a peer "
                         "that died would otherwise leave it waiting for ever).",
                         lower_bound=1)
    flags.DEFINE_string("eval_model", None,
                        "--mode=eval: the .keras file (default: MODEL_DIR/model_best.keras), or "
                        "a comma-separated list of them: the mean of their logits.")
    flags.DEFINE_bool("eval_flip", False,
                      "--mode=eval: also report the top-1/top-5 of each image's prediction "
                      "averaged with its mirror image's (horizontal-flip test-time "
                      "augmentation).")


def _split_cpu(n: int) -> None:
    """Makes the CPU look like `n` devices, before the backend's runtime starts."""
    import keras

    if keras.backend.backend() == "jax":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + f" --xla_force_host_platform_device_count={n}")
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * n)


def _check_same_run(path: str, config) -> None:
    """Refuses to resume a model_dir that holds a different run (model, data, recipe, order)."""
    if not os.path.exists(path):
        return
    try:
        old = config_flags.config_from_flagfile(path)
    except ValueError as err:
        raise app.UsageError(f"{err}; use another --model_dir.") from None
    from keras_resnet.train.data_plan import resolved_normalization
    from keras_resnet.train.model import resolved_dtype

    # "auto" settings as this machine and these weights resolve them (old runs wrote "auto")
    old = dataclasses.replace(old, dtype=resolved_dtype(old.dtype),
                              normalization=resolved_normalization(old))
    changed = run_differences(old, config)
    if changed:
        was = ", ".join(f"{k}={getattr(old, k)}" for k in changed)
        raise app.UsageError(
            f"{FLAGS.model_dir} holds a run with different {', '.join(changed)} ({was}); "
            "use another --model_dir, or the same flags to resume it.")


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.logical_cpus > 1:
        _split_cpu(FLAGS.logical_cpus)
    from keras_resnet.train import data_plan, evaluation
    from keras_resnet.train.distribute import make_distribution
    from keras_resnet.train.model import resolved_dtype

    # First: multi-worker needs a fresh runtime, DataParallel the devices.
    distribution = make_distribution(FLAGS.distribution, FLAGS.peer_timeout_s)
    if FLAGS.seed is not None:
        import keras

        keras.utils.set_random_seed(FLAGS.seed)
    config = config_flags.config_from_flags(FLAGS)
    if config.normalization == "auto":  # resolved here, so that flags.txt records it
        print(data_plan.normalization_note(config))
    config = dataclasses.replace(config, dtype=resolved_dtype(config.dtype),
                                 normalization=data_plan.resolved_normalization(config))
    if FLAGS.mode == "eval":  # a saved model is evaluated alone, without the run's teacher
        config = dataclasses.replace(config, teacher=None)
    plan = data_plan.prepare(config, distribution)  # checks data and devices; writes nothing
    if FLAGS.mode == "eval":
        path = FLAGS.eval_model or os.path.join(FLAGS.model_dir, "model_best.keras")
        result = evaluation.evaluate(path, plan, flip=FLAGS.eval_flip)
        views = [("top1", "top5", "")]
        if FLAGS.eval_flip:
            views.append(("flip_top1", "flip_top5", " (averaged with the mirror images)"))
        for top1, top5, how in views:
            print(f"{path}: top-1 {result[top1]:.4f}, top-5 {result[top5]:.4f} on "
                  f"{result['images']} images{how}")
        return 0
    with contextlib.ExitStack() as held:
        if plan.distribution.is_chief:  # the only writer of model_dir
            try:
                held.enter_context(hold(FLAGS.model_dir, "training"))
            except FolderBusyError as err:
                raise app.UsageError(str(err)) from None
        return _train(plan, config, distribution)


def _train(plan, config, distribution) -> int:
    """Checks that model_dir holds this run (or none), records its flags, and trains."""
    from keras_resnet.train import loop
    from keras_resnet.train.callbacks import NonFiniteLossError
    from keras_resnet.train.checkpoints import CheckpointWriteError
    from keras_resnet.train.distribute import lost_peer

    flags_path = os.path.join(FLAGS.model_dir, "flags.txt")
    _check_same_run(flags_path, config)
    if plan.distribution.is_chief:  # model_dir exists: the chief's lock made it
        write_text(flags_path, config_flags.flags_text(config))
    try:
        metrics = loop.fit(plan)
    except NonFiniteLossError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except CheckpointWriteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 4
    except Exception as err:  # noqa: BLE001 (only a lost peer is handled, the rest re-raised)
        if (lost := lost_peer(err, distribution)) is None:
            raise
        print(f"error: {lost}", file=sys.stderr)
        return 5
    print(f"val accuracy {metrics['val_accuracy']:.4f} (top-5 {metrics['val_top5']:.4f}) after "
          f"{metrics['steps']} steps; artifacts in {FLAGS.model_dir}")
    return 0


def _define_flags() -> None:
    config_flags.define_flags()
    define_process_flags()


def run() -> None:
    """The command (console script and ``__main__``)."""
    run_app(main, module="keras_resnet.train.run", extra="train", command="keras-resnet-train",
            define=_define_flags, required=config_flags.REQUIRED)


if __name__ == "__main__":
    run()
