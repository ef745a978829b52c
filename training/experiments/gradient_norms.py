"""Per-layer gradient norms of a network, on the TensorFlow or the JAX backend: what
`gradient_flow.py` plots for a plain net and a ResNet."""

from __future__ import annotations

import time

import keras
import numpy as np

import keras_resnet


def conv_gradient_norms(model: keras.Model, images: np.ndarray,
                        labels: np.ndarray) -> list[tuple[str, float, int]]:
    """(layer name, L2 norm of d loss / d kernel, kernel size) of every Conv2D, in the model's
    order. The loss is the mean cross-entropy in training mode (BatchNorm on batch
    statistics)."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(images, training=True))
        grads = tape.gradient(loss, [layer.kernel for layer in convs])
    elif backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]

        def loss_of(values):
            logits, _ = model.stateless_call(values, frozen, images, training=True)
            return loss_fn(labels, logits)

        all_grads = jax.grad(loss_of)(trainable)
        position = {v.path: i for i, v in enumerate(model.trainable_variables)}
        grads = [all_grads[position[layer.kernel.path]] for layer in convs]
    else:
        raise NotImplementedError(f"gradient flow needs the tensorflow or jax backend, not "
                                  f"{backend}.")
    return [(layer.name, float(np.linalg.norm(np.asarray(g))), int(np.size(g)))
            for layer, g in zip(convs, grads, strict=True)]


def measure(kind: str, depth: int, images, labels, steps: int, batch: int, lr: float,
            seed: int) -> dict:
    """Gradient norms of a fresh ``{kind}{depth}`` at init and after `steps` SGD steps."""
    keras.utils.set_random_seed(seed)
    model = keras_resnet.get_model(f"{'resnet' if kind == 'resnet' else 'plainnet'}{depth}",
                                   input_shape=images.shape[1:], classes=10,
                                   classifier_activation=None)
    rng = np.random.default_rng(seed)
    probe = rng.choice(len(images), batch, replace=False)
    at_init = conv_gradient_norms(model, images[probe], labels[probe])
    model.compile(optimizer=keras.optimizers.SGD(lr, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start, losses = time.perf_counter(), []
    order = rng.permutation(len(images))
    for step in range(steps):
        at = (step * batch) % (len(order) - batch + 1)
        idx = order[at:at + batch]
        loss = model.train_on_batch(images[idx], labels[idx])
        losses.append(float(np.asarray(loss).ravel()[0]))
        if (step + 1) % 100 == 0:
            print(f"  {kind}-{depth} step {step + 1}/{steps}: loss {np.mean(losses[-100:]):.3f}",
                  flush=True)
    trained = conv_gradient_norms(model, images[probe], labels[probe])
    return {"init": at_init, "trained": trained, "final_loss": losses[-1],
            "seconds": time.perf_counter() - start}


def ratio(norms: list[tuple[str, float, int]], per_weight: bool = False) -> float:
    """First convolution's gradient norm over the last one's; `per_weight`: their RMS (the
    norm over the square root of the kernel's size: a 3x3x3x16 stem has 85x fewer weights
    than a 3x3x64x64 convolution)."""
    (_, first, n_first), (_, last, n_last) = norms[0], norms[-1]
    if per_weight:
        return (first / np.sqrt(n_first)) / (last / np.sqrt(n_last))
    return first / last


