"""The epoch loop for MultiWorkerMirroredStrategy, where Keras 3's ``fit`` fails
(keras-team/keras#20585): ``strategy.run`` over a distributed dataset, the loss averaged over
the global batch, gradients all-reduced by the Keras optimizer, and the same callbacks as
``fit`` (checkpoints, CSV log, best model, progress bar) driven through a CallbackList.

It trains the model `build_model` compiled (its optimizer, loss scaling included) and reports
the same metrics as ``fit``: loss, accuracy, top5 and their ``val_`` counterparts.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_resnet.train.losses import classification_loss
from keras_resnet.train.weight_average import averaged_weights


class DistributedLoop:
    """Train and evaluation steps of `model` under `strategy`, compiled once per phase of
    what trains."""

    def __init__(self, model: keras.Model, strategy: tf.distribute.Strategy,
                 global_batch_size: int, label_smoothing: float = 0.0):
        self.model, self.strategy = model, strategy
        self.global_batch_size = global_batch_size
        self.loss_fn = classification_loss(label_smoothing, reduction="none")
        with strategy.scope():
            self.metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                            keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")]
        self.retrace()

    def retrace(self) -> None:
        """Traces the steps anew (after the trainable variables changed)."""
        self._train_step = tf.function(self._distributed_train_step)
        self._eval_step = tf.function(self._distributed_eval_step)

    def _replica_train_step(self, images, labels):
        model, optimizer = self.model, self.model.optimizer
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = tf.nn.compute_average_loss(self.loss_fn(labels, logits),
                                              global_batch_size=self.global_batch_size)
            if model.losses:  # weight decay, counted once across the replicas
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        for metric in self.metrics:
            metric.update_state(labels, logits)
        return loss

    def _distributed_train_step(self, iterator):
        images, labels = next(iterator)
        per_replica = self.strategy.run(self._replica_train_step, args=(images, labels))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _replica_eval_step(self, images, labels):
        logits = self.model(images, training=False)
        for metric in self.metrics:
            metric.update_state(labels, logits)
        losses = self.loss_fn(labels, logits)
        return tf.reduce_sum(losses), tf.cast(tf.size(losses), tf.float32)

    def _distributed_eval_step(self, batch):
        total, count = self.strategy.run(self._replica_eval_step, args=batch)
        reduce = tf.distribute.ReduceOp.SUM
        return (self.strategy.reduce(reduce, total, axis=None),
                self.strategy.reduce(reduce, count, axis=None))

    def _results(self, prefix: str = "") -> dict[str, float]:
        return {prefix + m.name: float(m.result()) for m in self.metrics}

    def evaluate(self, dataset: tf.data.Dataset) -> dict[str, float]:
        """val_loss, val_accuracy, val_top5 over all of `dataset` (every worker's shard)."""
        for metric in self.metrics:
            metric.reset_state()
        total = count = 0.0
        for batch in self.strategy.experimental_distribute_dataset(dataset):
            batch_total, batch_count = self._eval_step(batch)
            total, count = total + float(batch_total), count + float(batch_count)
        return {"val_loss": total / max(count, 1.0), **self._results("val_")}

    def run_epoch(self, train_ds: tf.data.Dataset, val_ds: tf.data.Dataset, epoch: int,
                  steps: int, callbacks: keras.callbacks.CallbackList) -> dict[str, float]:
        """`steps` train steps of epoch `epoch`, then evaluation; returns the epoch's logs."""
        iterator = iter(self.strategy.experimental_distribute_dataset(train_ds))
        for metric in self.metrics:
            metric.reset_state()
        callbacks.on_train_begin()
        callbacks.on_epoch_begin(epoch)
        loss_sum, logs = 0.0, {}
        for batch in range(steps):
            callbacks.on_train_batch_begin(batch)
            loss_sum += float(self._train_step(iterator))
            logs = {"loss": loss_sum / (batch + 1), **self._results()}
            callbacks.on_train_batch_end(batch, logs)
        with averaged_weights(self.model):
            logs = {**logs, **self.evaluate(val_ds)}
        callbacks.on_epoch_end(epoch, logs)
        callbacks.on_train_end(logs)
        return logs
