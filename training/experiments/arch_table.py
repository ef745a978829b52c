"""The architecture table (the paper's Table 1): parameters and multiply-adds of ResNet-18/34/
50/101/152 as built here, beside the paper's FLOPs and torchvision's parameter counts.

    python training/experiments/arch_table.py            # all five at 224x224
    python training/experiments/arch_table.py --quick    # ResNet-18 and -50 only
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from absl import app, flags  # noqa: E402

import keras_resnet  # noqa: E402
from keras_resnet.paper import IMAGENET_GMACS, IMAGENET_PARAMS  # noqa: E402
from training.experiments import figures  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "ResNet-18 and -50 only (CI).")
flags.DEFINE_string("figures", "runs/experiments/figures", "Folder of the PNG and the table.")


def main(argv: list[str]) -> None:
    del argv
    names = ["resnet18", "resnet50"] if FLAGS.quick else list(IMAGENET_GMACS)
    rows, ours = [], []
    for name in names:
        v1 = keras_resnet.get_model(name)
        v1_5 = keras_resnet.get_model(name, bottleneck_stride="3x3")
        params = keras_resnet.count_trainable_params(v1)
        macs = keras_resnet.count_flops(v1) / 1e9
        ours.append(macs)
        rows.append([name, keras_resnet.count_depth(v1), f"{params:,}",
                     f"{IMAGENET_PARAMS[name]:,}", f"{macs:.2f}",
                     f"{keras_resnet.count_flops(v1_5) / 1e9:.2f}",
                     f"{IMAGENET_GMACS[name]}"])
        print(f"{name}: {params:,} params, {macs:.2f} G multiply-adds", flush=True)
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], ours, 0.4, label="ours (v1, counted layer by layer)")
    ax.bar([i + 0.2 for i in x], [IMAGENET_GMACS[n] for n in names], 0.4,
           label="paper, Table 1")
    ax.set_xticks(list(x), [n.replace("resnet", "ResNet-") for n in names])
    ax.set_ylabel("multiply-adds at 224x224 (10^9)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    table = figures.markdown_table(
        ["model", "depth (weighted layers)", "params (ours)", "params (torchvision)",
         "G mult-adds v1 (ours)", "G mult-adds v1.5 (ours)", "G FLOPs (paper, Table 1)"], rows)
    text = ("# ImageNet ResNets: size and cost\n\n" + table + "\nv1 puts the stride in a "
            "bottleneck's first 1x1 (the paper); v1.5 in its 3x3 (torchvision). Counts follow "
            "the seed's formula: H_out·W_out·C_in·C_out·K_h·K_w per convolution plus the dense "
            "layer; BatchNorm, ReLU, pooling and additions are not counted.\n")
    figures.publish(FLAGS.figures, "arch_table", fig, text)


if __name__ == "__main__":
    app.run(main)
