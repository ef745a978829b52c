"""The trainer's one typed configuration: every setting of a run, with its default, its help
and its bounds in one place. `keras_resnet.train.flags` makes the command's flags from these
fields and reads them back; a run's flags.txt repeats them (``--flagfile=MODEL_DIR/flags.txt``).
"""

from __future__ import annotations

import dataclasses

from keras_resnet.common.config_flags import field as _field
from keras_resnet.preprocessing import INPUT_STATISTICS

INPUT_PIPELINES = ("auto", "tf.data", "numpy")
#: Fields a resumed run may change: how it runs and logs, and its length (to train a finished
#: run longer; a cosine or linear schedule then stretches from the resumed step on), not what
#: it learns or from what data in which order. Any other difference is refused on resume.
MAY_CHANGE_ON_RESUME = ("model_dir", "results_dir", "verbose", "checkpoint_every_steps",
                        "log_every_steps", "distribution", "jit_compile",
                        "steps_per_execution", "cache", "data_dir", "manual_dir", "epochs",
                        "train_steps")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs. Field names are the flag names (``--batch_size``)."""

    model: str = _field(help="Registered model name, e.g. resnet20, plainnet56, resnet50.")
    dataset: str = _field(
        help="A TFDS name (cifar10, cifar100, imagenet2012, imagenette, ...) or "
        "folder:PATH, an image folder with one subfolder per class."
    )
    model_dir: str = _field(help="Where checkpoints, logs and models go (and resume from).")
    weights: str | None = _field(
        None,
        help="Start from these weights instead of a random initialization: a tag of the model "
        "(keras_resnet.weights.tags, e.g. imagenet, cifar10), a .weights.h5 or a .keras file. "
        "With other classes than the weights' head, the head starts fresh.",
    )
    trainable: str = _field(
        "all",
        help="What trains: all; head (the dense layer only); or a stage name (conv3, conv4, "
        "...): that stage, the ones after it and the head. Frozen BatchNorm layers run in "
        "inference mode, and frozen weights get no weight decay and no optimizer slots.",
    )
    head_epochs: int = _field(
        0,
        help="Two-phase fine-tuning: the first N epochs train the head only, then what "
        "--trainable says trains (with the backbone at --backbone_lr_scale of the lr). Needs "
        "--weights; 0: one phase.",
        lower_bound=0,
    )
    backbone_lr_scale: float = _field(
        1.0,
        help="Learning rate of every layer but the head, as a fraction of the schedule's lr "
        "(e.g. 0.1 when fine-tuning: the pretrained backbone moves slowly, the fresh head at "
        "the full lr).",
        lower_bound=0.0,
    )
    image_size: int = _field(32, help="Training and evaluation image size (square).", lower_bound=1)
    augment: str = _field(
        "cifar",
        help="cifar: 4-pixel zero pad + random crop + flip; imagenet: random-resized crop + "
        "flip (eval: resize to size*256/224 + center crop); none.",
        choices=("cifar", "imagenet", "none"),
    )
    flip: str = _field(
        "random",
        help="Horizontal flips of the augmentation: random (each image, each epoch, with "
        "probability 1/2) or alternating (random in the first epoch, then each image "
        "the opposite way of its previous epoch; tf.data pipeline only). Both follow "
        "the epoch number, so a resumed run continues them.",
        choices=("random", "alternating"),
    )
    cutout: int = _field(
        0,
        help="Cutout (DeVries & Taylor 2017): blank a square of this side, centred "
        "anywhere on the image, to the dataset mean in every training image; 0: "
        "off. tf.data pipeline only.",
        lower_bound=0,
    )
    auto_augment: str = _field(
        "none",
        help="trivial: TrivialAugment (Müller & Hutter 2021), one image operation per "
        "training image (shear, translate, rotate, brightness, color, contrast, sharpness, "
        "posterize, solarize, autocontrast, equalize or none) at a random strength, after "
        "the crop and flip, before Cutout; none: off. tf.data pipeline only.",
        choices=("none", "trivial"),
    )
    normalization: str = _field(
        "auto",
        help="Per-channel mean/std statistics; auto: with --weights, the input those weights "
        "expect; else the dataset's own if known, else ImageNet's.",
        choices=("auto", *INPUT_STATISTICS),
    )
    bad_images: str = _field(
        "refuse",
        help="folder: datasets are checked before training (every image decoded once by "
        "Pillow). refuse: stop with the list of images that do not decode (empty, truncated, "
        "not an image, over Pillow's pixel limit); skip: train without them, saying how many "
        "and which.",
        choices=("refuse", "skip"),
    )
    val_fraction: float = _field(
        0.1,
        help="folder: datasets without split folders hold out this fraction of each "
        "class (the last files by name) for validation.",
        lower_bound=0.0,
        upper_bound=1.0,
    )
    train_split: str = _field("train", help="TFDS split to train on, e.g. train[:45000].")
    val_split: str = _field("validation", help="TFDS split to validate on, e.g. train[45000:].")
    data_dir: str | None = _field(
        None, help="TFDS data directory (default: ~/tensorflow_datasets)."
    )
    manual_dir: str | None = _field(
        None, help="TFDS manual download directory (imagenet2012's tar files)."
    )
    classes: int | None = _field(
        None, help="Expected number of classes; checked against the data.", lower_bound=1
    )
    batch_size: int = _field(
        128,
        help="GLOBAL batch size (all replicas together); each replica gets batch_size / replicas.",
        lower_bound=1,
    )
    epochs: int = _field(1, help="Epochs to train (ignored when --train_steps > 0).", lower_bound=1)
    train_steps: int = _field(
        0,
        help="Total optimizer steps (the paper: 64000 on CIFAR); 0: --epochs full epochs.",
        lower_bound=0,
    )
    lr: float = _field(0.1, help="Base learning rate (after warmup).", lower_bound=0.0)
    lr_schedule: str = _field(
        "step",
        help="step: x0.1 at each --lr_boundaries; cosine or linear: to zero at the last step.",
        choices=("step", "cosine", "linear"),
    )
    lr_boundaries: tuple[float, ...] = _field(
        (), help="Where the step schedule divides the lr by 10."
    )
    lr_boundaries_unit: str = _field(
        "steps", help="Unit of --lr_boundaries.", choices=("steps", "epochs")
    )
    warmup: str = _field(
        "linear",
        help="linear: ramp 0 -> lr; constant: hold --warmup_lr (the paper's ResNet-110).",
        choices=("linear", "constant"),
    )
    warmup_steps: int = _field(0, help="Warmup length in optimizer steps.", lower_bound=0)
    warmup_epochs: float = _field(
        0.0, help="Warmup length in epochs (when --warmup_steps is 0).", lower_bound=0.0
    )
    warmup_lr: float = _field(0.0, help="Learning rate of a constant warmup.", lower_bound=0.0)
    momentum: float = _field(0.9, help="SGD momentum.", lower_bound=0.0, upper_bound=1.0)
    nesterov: bool = _field(False, help="Nesterov momentum (the paper: plain momentum).")
    label_smoothing: float = _field(
        0.0,
        help="Label smoothing of the cross-entropy target (the paper: 0).",
        lower_bound=0.0,
        upper_bound=0.99,
    )
    weight_decay: float = _field(1e-4, help="L2 weight decay (the paper's 1e-4).", lower_bound=0.0)
    decay_bn_and_bias: bool = _field(
        True, help="Apply weight decay to BatchNorm parameters and biases too (as the paper)."
    )
    ema_decay: float = _field(
        0.0,
        help="Keep an exponential moving average of the weights with this decay per "
        "step (e.g. 0.999) and validate, keep and save the average instead of the "
        "raw weights; training continues from the raw ones. 0: off (the paper).",
        lower_bound=0.0,
        upper_bound=0.9999,
    )
    teacher: str | None = _field(
        None,
        help="Knowledge distillation: also learn from this trained classifier's softened "
        "predictions, a .keras file that outputs logits (e.g. runs/NAME/model_best.keras) or "
        "a registered model with a weights tag, NAME:TAG (e.g. resnet56:cifar10). It must take "
        "the run's images and normalization and have its classes. A comma-separated list of them "
        "teaches with the mean of their logits. Off by default (the paper).",
    )
    distill_weight: float = _field(
        0.9,
        help="With --teacher: the share w of the distillation term in the training loss, "
        "(1 - w) * cross-entropy with the labels + w * T^2 * KL(teacher || student) at "
        "temperature T.",
        lower_bound=0.0,
        upper_bound=1.0,
    )
    distill_temperature: float = _field(
        4.0,
        help="With --teacher: the temperature T that softens both networks' predictions in "
        "the distillation term.",
        lower_bound=0.01,
    )
    shortcut: str | None = _field(
        None, help="Downsampling shortcut; default: the model's.", choices=("A", "B")
    )
    zero_init_residual: bool = _field(
        False, help="Start each block's last BatchNorm at gamma=0 (Goyal et al. 2017)."
    )
    dtype: str = _field(
        "auto",
        help="Compute precision; auto: mixed_float16 on a GPU, float32 on a CPU. Logits "
        "and loss stay float32; float16 uses loss scaling.",
        choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"),
    )
    jit_compile: bool = _field(False, help="Compile the train step with XLA.")
    distribution: str = _field(
        "auto",
        help="auto: all GPUs mirrored, else the default strategy; multi_worker: from "
        "TF_CONFIG. On JAX, auto/mirrored: keras.distribution.DataParallel over all "
        "devices.",
        choices=("auto", "mirrored", "multi_worker", "one_device"),
    )
    checkpoint_every_steps: int = _field(
        0, help="Also checkpoint every N steps (always at each epoch end).", lower_bound=0
    )
    log_every_steps: int = _field(
        0,
        help="Also write the training loss/accuracy of every N steps to "
        "model_dir/steps.csv (0: only history.csv's one row per epoch).",
        lower_bound=0,
    )
    cache: bool = _field(True, help="Cache decoded training images in memory (tf.data).")
    shuffle_buffer: int = _field(
        50_000, help="Images in the tf.data shuffle buffer (at most the split).", lower_bound=1
    )
    input_pipeline: str = _field(
        "auto",
        help="tf.data: TensorFlow's loader, augmentation on the host; numpy: Pillow "
        "decoding into memory, augmentation by Keras layers on the device, no "
        "TensorFlow (folder datasets). auto: tf.data on the TensorFlow backend, "
        "numpy on JAX.",
        choices=("auto", "tf.data", "numpy"),
    )
    steps_per_execution: int = _field(
        1, help="Train steps per compiled call (speeds up small models on a GPU).", lower_bound=1
    )
    seed: int | None = _field(
        None, help="Seed for a deterministic run (data order, augmentation, initialization)."
    )
    results_dir: str | None = _field(
        None,
        help="Also keep the run's record here (flags.txt, labels.txt, history.csv after each "
        "epoch, metrics.json at the end), e.g. results/training/NAME: the results tree holds "
        "records, not checkpoints.",
    )
    verbose: int = _field(
        1,
        help="Keras fit verbosity: 0 silent, 1 progress bar, 2 a line per epoch.",
        lower_bound=0,
        upper_bound=2,
    )


def run_differences(old: TrainConfig, new: TrainConfig) -> list[str]:
    """The fields (outside `MAY_CHANGE_ON_RESUME`) in which `new` is another run than `old`:
    another model, dataset, recipe (schedule, regularization, augmentation) or data order."""
    return [f.name for f in dataclasses.fields(TrainConfig)
            if f.name not in MAY_CHANGE_ON_RESUME
            and getattr(old, f.name) != getattr(new, f.name)]
