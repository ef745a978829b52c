"""The paper's CIFAR-10 table (Table 6): our ResNet-20/32/44/56/110 val error on the 45k/5k
split beside the paper's test error and parameter counts.

    python -m training.experiments.cifar_table               # the paper's recipe (GPU machine)
    python -m training.experiments.cifar_table --train_steps=1500   # shortened, for a CPU
    python -m training.experiments.cifar_table --quick       # CI smoke run

It shares its runs with degradation.py (same --out): ResNets trained for one are reused.
"""

from __future__ import annotations

import textwrap

from absl import app, flags

from keras_resnet.paper import CIFAR_PARAMS_M, CIFAR_TEST_ERROR
from training.experiments import cifar_runs, figures

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "A few dozen steps on the embedded sample (CI).")
flags.DEFINE_list("depths", ["20", "32", "44", "56", "110"], "ResNet depths 6n+2.")
flags.DEFINE_integer("train_steps", 0, "Shorten every run to N steps (0: the paper's 64k).",
                     lower_bound=0)
flags.DEFINE_string("dataset", cifar_runs.CIFAR_FOLDER, "Training data (folder:PATH or TFDS).")
flags.DEFINE_string("out", "runs/experiments/cifar10", "Folder of the training runs.")
figures.define_output_flags("cifar_table")


def main(argv: list[str]) -> None:
    del argv
    depths = [int(d) for d in FLAGS.depths]
    if FLAGS.quick and not FLAGS["depths"].present:
        depths = cifar_runs.QUICK_DEPTHS
    rows, points = [], []
    for depth in depths:
        run = cifar_runs.cifar_run("resnet", depth, FLAGS.out, FLAGS.dataset, FLAGS.quick,
                                   FLAGS.train_steps)
        name = f"resnet{depth}"
        error = 100 * (1 - run.metrics["val_accuracy"])
        paper = CIFAR_TEST_ERROR.get(name)
        params = run.metrics["params"]
        rows.append([f"ResNet-{depth}", f"{params / 1e6:.2f}M", f"{CIFAR_PARAMS_M[name]}M",
                     f"{error:.2f}", "—" if paper is None else f"{paper:.2f}",
                     run.metrics["steps"]])
        points.append((depth, error, paper))
    what = cifar_runs.describe(FLAGS.quick, FLAGS.train_steps, FLAGS.dataset)
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label="ours (val, 5k split)")
    ax.plot([p[0] for p in points if p[2] is not None],
            [p[2] for p in points if p[2] is not None], "s--", label="paper (test)")
    ax.set_xscale("log")
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.set_xticks([], minor=True)  # the log axis' own minor labels would overprint the depths
    ax.set_xlabel("depth")
    ax.set_ylabel("error (%)")
    ax.set_title(textwrap.fill(f"CIFAR-10 ResNets: {what}", 80), fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend()
    table = figures.markdown_table(
        ["model", "params (ours)", "params (paper)", "val error % (ours)",
         "test error % (paper)", "steps"], rows)
    text = (f"# CIFAR-10: ResNet depth vs error\n\nRuns: {what}.\n\n{table}\n"
            "Ours: error on the 5k images held out of the 50k training set (the paper's "
            "validation protocol); the paper's numbers are on the 10k test set.\n")
    figures.publish(FLAGS.figures, FLAGS.name, fig, text)


if __name__ == "__main__":
    app.run(main)
