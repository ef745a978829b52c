"""Gradient flow (the seed's last section): the gradient norm of every convolution's kernel,
first layer to last, at initialization and after N training steps, plain-56 vs ResNet-56. The
claim: through identity shortcuts the first layers receive gradients of the same order as the
last; in the plain net they shrink on the way down.

    python -m training.experiments.gradient_flow                 # 500 steps on CIFAR-10
    python -m training.experiments.gradient_flow --quick         # CI smoke run

Runs in-process on the TensorFlow or the JAX backend (KERAS_BACKEND).
"""

from __future__ import annotations

import os

import keras
import numpy as np
from absl import app, flags

from keras_resnet.data.image_folder import read_image_folder
from keras_resnet.data.numpy_loader import decode_split
from keras_resnet.preprocessing import normalization_for
from training.experiments import figures, runner
from training.experiments.gradient_norms import measure, ratio

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "Depth 20, 5 steps on the embedded sample (CI).")
flags.DEFINE_integer("depth", 56, "Depth 6n+2 of the plain net and the ResNet.", lower_bound=8)
flags.DEFINE_integer("steps", 500, "Training steps between the two measurements.",
                     lower_bound=1)
flags.DEFINE_integer("batch_size", 128, "Batch of the training steps and of the measurement.",
                     lower_bound=2)
flags.DEFINE_float("lr", 0.1, "SGD learning rate (momentum 0.9), the paper's.", lower_bound=0)
flags.DEFINE_string("data", "../shared/data/cifar10/train", "CIFAR-10 image folder.")
flags.DEFINE_integer("seed", 0, "Initialization and data order.")
figures.define_output_flags("gradient_flow")


def _data(quick: bool, size: int) -> tuple[np.ndarray, np.ndarray]:
    folder = runner.SAMPLE_DATA if quick else FLAGS.data
    if not os.path.isdir(folder):
        raise app.UsageError(f"no image folder at {folder}; pass --data or use --quick.")
    split = read_image_folder(folder, val_fraction=0.1)["train"]
    pixels, labels = decode_split(split, size)
    mean, std = normalization_for("cifar10")
    return ((pixels.astype(np.float32) - mean) / std).astype(np.float32), labels


def main(argv: list[str]) -> None:
    del argv
    depth, steps, batch = FLAGS.depth, FLAGS.steps, FLAGS.batch_size
    if FLAGS.quick:
        depth, steps, batch = 20, 5, 32
    images, labels = _data(FLAGS.quick, 32)
    results = {}
    for kind in ("plain", "resnet"):
        print(f"{kind}-{depth}: {steps} steps of batch {batch} ...", flush=True)
        results[kind] = measure(kind, depth, images, labels, steps, batch, FLAGS.lr,
                                FLAGS.seed)
    plt = figures.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    for ax, moment, title in zip(axes, ("init", "trained"),
                                 ("at initialization", f"after {steps} steps"), strict=True):
        for kind, label in (("plain", "plain"), ("resnet", "ResNet")):
            norms = [n for _, n, _ in results[kind][moment]]
            ax.plot(range(1, len(norms) + 1), norms, ".-", label=f"{label}-{depth}")
        ax.set_yscale("log")
        ax.set_xlabel("convolution, input (1) to output")
        ax.set_title(f"kernel gradient norm {title}")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("||dL/dW||")
    rows = [[f"{'ResNet' if kind == 'resnet' else 'plain'}-{depth}",
             f"{ratio(r['init']):.3g}", f"{ratio(r['trained']):.3g}",
             f"{ratio(r['init'], True):.3g}", f"{ratio(r['trained'], True):.3g}",
             f"{r['final_loss']:.3f}", f"{r['seconds']:.0f}"] for kind, r in results.items()]
    table = figures.markdown_table(["model", "first/last gradient norm at init",
                                    f"first/last norm after {steps} steps",
                                    "first/last RMS per weight at init",
                                    f"first/last RMS after {steps} steps",
                                    "training loss at the last step", "training s"], rows)
    source = "the embedded sample (quick mode)" if FLAGS.quick else FLAGS.data
    text = (f"# Gradient flow: plain-{depth} vs ResNet-{depth}\n\nOne batch of {batch} "
            f"training images of {source}, measured at initialization and after {steps} SGD "
            f"steps (lr {FLAGS.lr}, momentum 0.9); backend {keras.backend.backend()}.\n\n"
            f"{table}")
    figures.publish(FLAGS.figures, FLAGS.name, fig, text)


if __name__ == "__main__":
    app.run(main)
