"""The trainer's one typed configuration: everything a run needs, as `training/train.py` fills
it from flags (and a run's flags.txt repeats)."""

from __future__ import annotations

import dataclasses

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
