"""The model a run fits: the registered network built in the plan's distribution scope, with
the paper's weight decay, the SGD optimizer and its schedule, compiled with the loss and metrics
(and with --teacher, wrapped in the `distillation.Distiller` that adds the teacher's term)."""

from __future__ import annotations

import keras

import keras_resnet
from keras_resnet.train import distillation, finetune
from keras_resnet.train.config import TrainConfig
from keras_resnet.train.data_plan import Plan
from keras_resnet.train.losses import classification_loss
from keras_resnet.train.optimizer import make_sgd
from keras_resnet.train.schedules import ResNetSchedule


def resolved_dtype(dtype: str) -> str:
    """The compute precision `dtype` names; "auto": mixed_float16 on a GPU, else float32."""
    if dtype != "auto":
        return dtype
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpu = bool(tf.config.list_physical_devices("GPU"))
    else:
        gpu = any(not d.startswith("cpu") for d in keras.distribution.list_devices())
    return "mixed_float16" if gpu else "float32"


def _schedule(cfg: TrainConfig, steps_per_epoch: int, total: int) -> ResNetSchedule:
    scale = steps_per_epoch if cfg.lr_boundaries_unit == "epochs" else 1
    warmup = cfg.warmup_steps or round(cfg.warmup_epochs * steps_per_epoch)
    return ResNetSchedule(cfg.lr, total, cfg.lr_schedule,
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


def metrics() -> list[keras.metrics.Metric]:
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")]


def build_model(plan: Plan) -> keras.Model:
    """The compiled model to fit, built in the plan's distribution scope: the backbone itself,
    or on the numpy path the backbone behind the device input layers (see `backbone_of`)."""
    cfg = plan.config
    keras.mixed_precision.set_global_policy(resolved_dtype(cfg.dtype))
    pretrained = finetune.read(cfg.model, cfg.weights) if cfg.weights else None
    with plan.distribution.scope():
        kwargs = {"shortcut": cfg.shortcut} if cfg.shortcut else {}
        if cfg.zero_init_residual:
            kwargs["zero_init_residual"] = True
        if pretrained is not None:
            kwargs.update(pretrained.layout)  # e.g. torchvision's v1.5 bottleneck stride
        model = keras_resnet.get_model(cfg.model, input_shape=(cfg.image_size, cfg.image_size, 3),
                                       classes=plan.num_classes, classifier_activation=None,
                                       **kwargs)
        if pretrained is not None:
            print(finetune.load(model, pretrained))
        if frozen := finetune.freeze(model, cfg.model, cfg.trainable):
            print(f"--trainable={cfg.trainable}: {len(frozen)} layers frozen ({frozen[0]} ... "
                  f"{frozen[-1]}); their BatchNorm layers run in inference mode")
        _add_weight_decay(model, cfg.weight_decay, cfg.decay_bn_and_bias)  # trainable only
        label_loss = classification_loss(cfg.label_smoothing)
        if cfg.teacher:  # the tf.data input only (`data_plan.prepare` refuses the others)
            model = distillation.Distiller(
                model, distillation.load_teacher(cfg.teacher, cfg.image_size),
                cfg.distill_weight, cfg.distill_temperature, label_loss)
        if plan.input_layers is not None:
            model = plan.input_layers(model)
        optimizer = make_sgd(_schedule(cfg, plan.steps_per_epoch, plan.total_steps),
                             cfg.momentum, cfg.nesterov, cfg.ema_decay, cfg.backbone_lr_scale)
        model.compile(optimizer=optimizer, loss=label_loss,
                      metrics=metrics(), jit_compile=cfg.jit_compile,
                      steps_per_execution=cfg.steps_per_execution)
        # Slots for what trains in the last phase (--trainable), whichever phase a resume
        # starts in: `finetune.set_phase` freezes more for a head-only first phase.
        model.optimizer.build(model.trainable_variables)
    return model


def backbone_of(model: keras.Model) -> keras.Model:
    """The ResNet inside a model built by `build_model`: what gets saved and exported (it
    takes normalized images, whichever input path trained it; without a teacher)."""
    if isinstance(model, distillation.Distiller):
        return model.student
    inner = model.layers[-1]
    return inner if isinstance(inner, keras.Model) else model
