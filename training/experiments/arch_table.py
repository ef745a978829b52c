"""The architecture table (the paper's Table 1): parameters and multiply-adds of ResNet-18/34/
50/101/152 as built here, beside the paper's FLOPs and torchvision's parameter counts.

    python -m training.experiments.arch_table            # all five at 224x224
    python -m training.experiments.arch_table --quick    # ResNet-18 and -50 only
"""

from __future__ import annotations

from absl import app, flags

import keras_resnet
from keras_resnet.paper import IMAGENET_GMACS, IMAGENET_PARAMS
from training.experiments import figures

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "ResNet-18 and -50 only (CI).")
figures.define_output_flags("arch_table")


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
    figures.publish(FLAGS.figures, FLAGS.name, fig, text)


if __name__ == "__main__":
    app.run(main)
