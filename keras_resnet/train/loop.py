"""The fit loop: from the newest checkpoint in model_dir to the plan's last step, one `fit`
call per epoch (each epoch's data from `Plan.epoch_data`), writing the artifacts there."""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
import time

import keras

import keras_resnet
from keras_resnet.common import atomic_io
from keras_resnet.common.atomic_io import write_text
from keras_resnet.train import checkpoints, finetune, stretches
from keras_resnet.train.callbacks import (
    BestModel,
    KeepRecord,
    RunProgress,
    StepLog,
    StopOnNonFiniteLoss,
    Throughput,
    best_epoch,
    copy_record,
)
from keras_resnet.train.data_plan import Plan, input_pipeline, is_multi_worker
from keras_resnet.train.model import backbone_of, build_model
from keras_resnet.train.weight_average import EvaluateAverage, averaged_weights


def fit(plan: Plan) -> dict:
    """Trains from the newest checkpoint in model_dir to the plan's last step; returns the
    metrics also written to model_dir/metrics.json."""
    cfg = plan.config
    chief = plan.distribution.is_chief
    # Only the chief writes model_dir; other workers log to a scratch folder of their own.
    out_dir = cfg.model_dir if chief else tempfile.mkdtemp(prefix="keras-resnet-worker-")
    os.makedirs(cfg.model_dir, exist_ok=True)
    if chief and (stale := atomic_io.remove_stale_temporaries(cfg.model_dir)):
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
    stretch = stretches.begin(cfg.model_dir, step, spe, write=chief)
    write_text(os.path.join(out_dir, "labels.txt"), "\n".join(plan.class_names) + "\n")
    throughput = Throughput(cfg.batch_size)
    history = os.path.join(out_dir, "history.csv")
    kept = best_epoch(history) if step and os.path.isfile(os.path.join(
        cfg.model_dir, "model_best.keras")) else None
    multi_worker = is_multi_worker(plan.strategy)
    # Validation on the average (and, where Keras' evaluate works, on the raw weights too).
    callbacks = [EvaluateAverage(None if multi_worker else plan.val_ds)] if cfg.ema_decay else []
    callbacks += [throughput, StopOnNonFiniteLoss(), RunProgress(total_epochs),
                 checkpoints.Checkpointer(cfg.model_dir, spe, cfg.checkpoint_every_steps, chief,
                                          extra=lambda: stretches.checkpoint_fields(stretch)),
                 keras.callbacks.CSVLogger(history, append=True),
                 BestModel(os.path.join(cfg.model_dir, "model_best.keras"), enabled=chief,
                           model=backbone, best=kept[1] if kept else -math.inf)]
    if cfg.results_dir and chief:  # after the CSVLogger: the epoch's row is in history.csv
        callbacks.append(KeepRecord(cfg.model_dir, cfg.results_dir))
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
          f"{cfg.batch_size} = {replicas} replica(s) x "
          f"{cfg.batch_size // replicas}; {spe} steps/epoch, "
          f"{plan.total_steps} steps in all; dtype {cfg.dtype}; {input_pipeline(cfg)} input; "
          f"{plan.distribution.description or 'default device'}")
    # Keras 3's fit() fails under MultiWorkerMirroredStrategy (keras-team/keras#20585): there
    # the epochs run through a loop of our own, with the same callbacks.
    loop = None
    if multi_worker:
        from keras_resnet.train.distributed_loop import DistributedLoop

        loop = DistributedLoop(model, plan.strategy, cfg.batch_size,
                               cfg.label_smoothing)
    start = time.perf_counter()
    logs = {}
    while step < plan.total_steps:
        epoch = step // spe
        steps = min(spe * (epoch + 1), plan.total_steps) - step
        if change := finetune.set_phase(backbone, cfg, epoch):
            print(change)
            if loop is not None:
                loop.retrace()
            else:
                model.make_train_function(force=True)
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
        stretches.close(cfg.model_dir, checkpoints.latest(cfg.model_dir))
        with averaged_weights(model):
            checkpoints.save_model(backbone, os.path.join(cfg.model_dir, "model.keras"))
        write_text(os.path.join(cfg.model_dir, "metrics.json"), json.dumps(metrics, indent=2))
        if cfg.results_dir:
            copied = copy_record(cfg.model_dir, cfg.results_dir)
            print(f"kept the run's record ({', '.join(copied)}) in {cfg.results_dir}")
    return metrics


def _tensorboard_available() -> bool:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True
