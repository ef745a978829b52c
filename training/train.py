"""Train (or evaluate) a keras_resnet model: ``python training/train.py --flagfile=...``.

Flagfiles for the paper's recipes are in training/configs/. Rerunning the same command resumes
from the newest checkpoint in --model_dir; ``--flagfile=MODEL_DIR/flags.txt`` repeats a run.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from training.cpu_kernels import prefer_onednn  # noqa: E402

prefer_onednn()  # before TensorFlow loads

from absl import app, flags  # noqa: E402

from keras_resnet.preprocessing import NORMALIZATION  # noqa: E402
from training import schedules  # noqa: E402
from training.distribute import DISTRIBUTIONS  # noqa: E402
from training.flagfile import parse_flags, read_flagfile  # noqa: E402

FLAGS = flags.FLAGS

flags.DEFINE_enum("mode", "train", ["train", "eval"],
                  "train: train (resuming from model_dir); eval: top-1/top-5 of a saved model.")
flags.DEFINE_string("model", None, "Registered model name, e.g. resnet20, plainnet56, resnet50.")
flags.DEFINE_string("dataset", None,
                    "A TFDS name (cifar10, cifar100, imagenet2012, imagenette, ...) or "
                    "folder:PATH, an image folder with one subfolder per class.")
flags.DEFINE_string("model_dir", None, "Where checkpoints, logs and models go (and resume from).")
flags.DEFINE_integer("image_size", 32, "Training and evaluation image size (square).",
                     lower_bound=1)
flags.DEFINE_enum("augment", "cifar", ["cifar", "imagenet", "none"],
                  "cifar: 4-pixel zero pad + random crop + flip; imagenet: random-resized crop + "
                  "flip (eval: resize to size*256/224 + center crop); none.")
flags.DEFINE_enum("flip", "random", ["random", "alternating"],
                  "Horizontal flips of the augmentation: random (each image, each epoch, with "
                  "probability 1/2) or alternating (random in the first epoch, then each image "
                  "the opposite way of its previous epoch; tf.data pipeline only). Both follow "
                  "the epoch number, so a resumed run continues them.")
flags.DEFINE_integer("cutout", 0,
                     "Cutout (DeVries & Taylor 2017): blank a square of this side, centred "
                     "anywhere on the image, to the dataset mean in every training image; 0: "
                     "off. tf.data pipeline only.", lower_bound=0)
flags.DEFINE_enum("normalization", "auto", ["auto", *sorted(NORMALIZATION)],
                  "Per-channel mean/std statistics; auto: the dataset's own if known, else "
                  "ImageNet's.")
flags.DEFINE_float("val_fraction", 0.1,
                   "folder: datasets without split folders hold out this fraction of each "
                   "class (the last files by name) for validation.", lower_bound=0.0,
                   upper_bound=1.0)
flags.DEFINE_string("train_split", "train", "TFDS split to train on, e.g. train[:45000].")
flags.DEFINE_string("val_split", "validation", "TFDS split to validate on, e.g. train[45000:].")
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: ~/tensorflow_datasets).")
flags.DEFINE_string("manual_dir", None,
                    "TFDS manual download directory (imagenet2012's tar files).")
flags.DEFINE_integer("classes", None, "Expected number of classes; checked against the data.",
                     lower_bound=1)
flags.DEFINE_integer("batch_size", 128,
                     "GLOBAL batch size (all replicas together); each replica gets "
                     "batch_size / replicas.", lower_bound=1)
flags.DEFINE_integer("epochs", 1, "Epochs to train (ignored when --train_steps > 0).",
                     lower_bound=1)
flags.DEFINE_integer("train_steps", 0, "Total optimizer steps (the paper: 64000 on CIFAR); "
                     "0: --epochs full epochs.", lower_bound=0)
flags.DEFINE_float("lr", 0.1, "Base learning rate (after warmup).", lower_bound=0.0)
flags.DEFINE_enum("lr_schedule", "step", list(schedules.DECAYS),
                  "step: x0.1 at each --lr_boundaries; cosine or linear: to zero at the last "
                  "step.")
flags.DEFINE_list("lr_boundaries", [], "Where the step schedule divides the lr by 10.")
flags.DEFINE_enum("lr_boundaries_unit", "steps", ["steps", "epochs"],
                  "Unit of --lr_boundaries.")
flags.DEFINE_enum("warmup", "linear", list(schedules.WARMUPS),
                  "linear: ramp 0 -> lr; constant: hold --warmup_lr (the paper's ResNet-110).")
flags.DEFINE_integer("warmup_steps", 0, "Warmup length in optimizer steps.", lower_bound=0)
flags.DEFINE_float("warmup_epochs", 0.0, "Warmup length in epochs (when --warmup_steps is 0).",
                   lower_bound=0.0)
flags.DEFINE_float("warmup_lr", 0.0, "Learning rate of a constant warmup.", lower_bound=0.0)
flags.DEFINE_float("momentum", 0.9, "SGD momentum.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_bool("nesterov", False, "Nesterov momentum (the paper: plain momentum).")
flags.DEFINE_float("label_smoothing", 0.0, "Label smoothing of the cross-entropy target "
                   "(the paper: 0).", lower_bound=0.0, upper_bound=0.99)
flags.DEFINE_float("weight_decay", 1e-4, "L2 weight decay (the paper's 1e-4).", lower_bound=0.0)
flags.DEFINE_bool("decay_bn_and_bias", True,
                  "Apply weight decay to BatchNorm parameters and biases too (as the paper).")
flags.DEFINE_float("ema_decay", 0.0,
                   "Keep an exponential moving average of the weights with this decay per "
                   "step (e.g. 0.999) and validate, keep and save the average instead of the "
                   "raw weights; training continues from the raw ones. 0: off (the paper).",
                   lower_bound=0.0, upper_bound=0.9999)
flags.DEFINE_enum("shortcut", None, ["A", "B"], "Downsampling shortcut; default: the model's.")
flags.DEFINE_bool("zero_init_residual", False,
                  "Start each block's last BatchNorm at gamma=0 (Goyal et al. 2017).")
flags.DEFINE_enum("dtype", "auto", ["auto", "float32", "mixed_float16", "mixed_bfloat16"],
                  "Compute precision; auto: mixed_float16 on a GPU, float32 on a CPU. Logits "
                  "and loss stay float32; float16 uses loss scaling.")
flags.DEFINE_bool("jit_compile", False, "Compile the train step with XLA.")
flags.DEFINE_enum("distribution", "auto", list(DISTRIBUTIONS),
                  "auto: all GPUs mirrored, else the default strategy; multi_worker: from "
                  "TF_CONFIG. On JAX, auto/mirrored: keras.distribution.DataParallel over all "
                  "devices.")
flags.DEFINE_integer("logical_cpus", 0,
                     "Split the CPU into N logical devices (N >= 2), so that mirrored training "
                     "(TensorFlow) or DataParallel (JAX) can be tried without GPUs.",
                     lower_bound=0)
flags.DEFINE_integer("checkpoint_every_steps", 0,
                     "Also checkpoint every N steps (always at each epoch end).", lower_bound=0)
flags.DEFINE_integer("log_every_steps", 0,
                     "Also write the training loss/accuracy of every N steps to "
                     "model_dir/steps.csv (0: only history.csv's one row per epoch).",
                     lower_bound=0)
flags.DEFINE_bool("cache", True, "Cache decoded training images in memory (tf.data).")
flags.DEFINE_enum("input_pipeline", "auto", ["auto", "tf.data", "numpy"],
                  "tf.data: TensorFlow's loader, augmentation on the host; numpy: Pillow "
                  "decoding into memory, augmentation by Keras layers on the device, no "
                  "TensorFlow (folder datasets). auto: tf.data on the TensorFlow backend, "
                  "numpy on JAX.")
flags.DEFINE_integer("steps_per_execution", 1,
                     "Train steps per compiled call (speeds up small models on a GPU).",
                     lower_bound=1)
flags.DEFINE_integer("seed", None, "Seed for a deterministic run (data order, augmentation, "
                     "initialization).")
flags.DEFINE_integer("verbose", 1, "Keras fit verbosity: 0 silent, 1 progress bar, 2 a line "
                     "per epoch.", lower_bound=0, upper_bound=2)
flags.DEFINE_string("eval_model", None,
                    "--mode=eval: the .keras file (default: MODEL_DIR/model_best.keras).")
flags.DEFINE_bool("eval_flip", False,
                  "--mode=eval: also report the top-1/top-5 of each image's prediction averaged "
                  "with its mirror image's (horizontal-flip test-time augmentation).")

flags.mark_flags_as_required(["model", "dataset", "model_dir"])
# Flags that must not change when a model_dir is resumed.
RUN_IDENTITY = ("model", "dataset", "image_size", "shortcut", "batch_size", "seed")
# Flags that say how this process runs, not what the run is: left out of flags.txt.
PROCESS_FLAGS = ("mode", "eval_model", "eval_flip", "logical_cpus")


def _resolved_dtype() -> str:
    if FLAGS.dtype != "auto":
        return FLAGS.dtype
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpu = bool(tf.config.list_physical_devices("GPU"))
    else:
        gpu = any(not d.startswith("cpu") for d in keras.distribution.list_devices())
    return "mixed_float16" if gpu else "float32"


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


def _config(dtype: str):
    from training.config import TrainConfig

    return TrainConfig(
        model=FLAGS.model, dataset=FLAGS.dataset, model_dir=FLAGS.model_dir,
        image_size=FLAGS.image_size, augment=FLAGS.augment, flip=FLAGS.flip, cutout=FLAGS.cutout,
        normalization=FLAGS.normalization,
        val_fraction=FLAGS.val_fraction, train_split=FLAGS.train_split,
        val_split=FLAGS.val_split, data_dir=FLAGS.data_dir, manual_dir=FLAGS.manual_dir,
        classes=FLAGS.classes, global_batch_size=FLAGS.batch_size, epochs=FLAGS.epochs,
        train_steps=FLAGS.train_steps, lr=FLAGS.lr, lr_decay=FLAGS.lr_schedule,
        lr_boundaries=tuple(float(b) for b in FLAGS.lr_boundaries),
        lr_boundaries_unit=FLAGS.lr_boundaries_unit, warmup=FLAGS.warmup,
        warmup_steps=FLAGS.warmup_steps, warmup_epochs=FLAGS.warmup_epochs,
        warmup_lr=FLAGS.warmup_lr, momentum=FLAGS.momentum,
        nesterov=FLAGS.nesterov, label_smoothing=FLAGS.label_smoothing,
        weight_decay=FLAGS.weight_decay, decay_bn_and_bias=FLAGS.decay_bn_and_bias,
        ema_decay=FLAGS.ema_decay, shortcut=FLAGS.shortcut,
        zero_init_residual=FLAGS.zero_init_residual, dtype=dtype,
        jit_compile=FLAGS.jit_compile,
        distribution=FLAGS.distribution, checkpoint_every_steps=FLAGS.checkpoint_every_steps,
        log_every_steps=FLAGS.log_every_steps,
        cache=FLAGS.cache, input_pipeline=FLAGS.input_pipeline,
        steps_per_execution=FLAGS.steps_per_execution, seed=FLAGS.seed, verbose=FLAGS.verbose)


def _flags_text(dtype: str) -> str:
    lines = []
    for flag in FLAGS.get_key_flags_for_module(sys.modules[__name__]):
        if flag.name in PROCESS_FLAGS or flag.value is None:
            continue
        value = dtype if flag.name == "dtype" else flag.value
        if isinstance(value, bool):
            lines.append(f"--{'' if value else 'no'}{flag.name}")
        elif isinstance(value, list):
            lines.append(f"--{flag.name}={','.join(value)}")
        else:
            lines.append(f"--{flag.name}={value}")
    return "\n".join(lines) + "\n"


def _check_same_run(path: str, text: str) -> None:
    """Refuses to resume a model_dir that holds a different run."""
    if not os.path.exists(path):
        return
    old, new = read_flagfile(path), parse_flags(text)
    changed = [k for k in RUN_IDENTITY if old.get(k) != new.get(k)]
    if _averages(old) != _averages(new):  # the average lives in the checkpoints
        changed.append("ema_decay")
    if changed:
        was = ", ".join(f"{k}={old.get(k)}" for k in changed)
        raise app.UsageError(
            f"{FLAGS.model_dir} holds a run with different {', '.join(changed)} ({was}); "
            "use another --model_dir, or the same flags to resume it.")


def _averages(run_flags: dict) -> bool:
    return float(run_flags.get("ema_decay") or 0.0) > 0.0  # runs before the flag: off


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.logical_cpus > 1:
        _split_cpu(FLAGS.logical_cpus)
    from training import data_plan, evaluation, loop
    from training.callbacks import NonFiniteLossError
    from training.checkpoints import write_text
    from training.distribute import make_distribution

    # First: multi-worker needs a fresh runtime, DataParallel the devices.
    distribution = make_distribution(FLAGS.distribution)
    if FLAGS.seed is not None:
        import keras

        keras.utils.set_random_seed(FLAGS.seed)
    dtype = _resolved_dtype()
    plan = data_plan.prepare(_config(dtype), distribution)  # checks data, devices; writes nothing
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
    text = _flags_text(dtype)
    flags_path = os.path.join(FLAGS.model_dir, "flags.txt")
    _check_same_run(flags_path, text)
    if plan.distribution.is_chief:
        os.makedirs(FLAGS.model_dir, exist_ok=True)
        write_text(flags_path, text)
    try:
        metrics = loop.fit(plan)
    except NonFiniteLossError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    print(f"val accuracy {metrics['val_accuracy']:.4f} (top-5 {metrics['val_top5']:.4f}) after "
          f"{metrics['steps']} steps; artifacts in {FLAGS.model_dir}")
    return 0


if __name__ == "__main__":
    app.run(main)
