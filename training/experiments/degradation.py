"""The degradation problem (the paper's Fig. 6): plain nets and ResNets of 20/32/44/56 layers on
CIFAR-10, training error (dashed) and val error (solid) against iterations, a panel each. The
claim: deeper plain nets train worse; deeper ResNets train better.

    python -m training.experiments.degradation               # the paper's recipe (GPU machine)
    python -m training.experiments.degradation --train_steps=1500   # shortened, for a CPU
    python -m training.experiments.degradation --quick       # CI smoke run, ~1 minute

Runs land in --out (one model_dir each; a rerun resumes or skips them); the figure and the table
in --figures.
"""

from __future__ import annotations

import textwrap

from absl import app, flags

from training.experiments import cifar_runs, figures

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "A few dozen steps on the embedded sample (CI).")
flags.DEFINE_list("depths", ["20", "32", "44", "56"], "Depths 6n+2 to compare.")
flags.DEFINE_list("kinds", list(cifar_runs.KINDS),
                  "The families to train and draw, a panel each: plain, resnet or both.")
flags.DEFINE_integer("train_steps", 0, "Shorten every run to N steps (0: the paper's 64k).",
                     lower_bound=0)
flags.DEFINE_string("dataset", cifar_runs.CIFAR_FOLDER, "Training data (folder:PATH or TFDS).")
flags.DEFINE_string("out", "runs/experiments/cifar10", "Folder of the training runs.")
flags.DEFINE_float("error_max", 0.0,
                   "Top of the error axis in percent, to zoom in on the ends of the curves "
                   "(the paper's Fig. 6 shows 0-20%); 0: the whole range.", lower_bound=0.0)
figures.define_output_flags("degradation")


#: Each family's panel title (cifar_runs.KINDS are the families).
TITLES = {"plain": "plain", "resnet": "ResNet"}


def claim(final_train_error: dict[str, dict[int, float]]) -> list[str]:
    """Whether each family's final training error rises (plain) or falls (ResNet) with depth."""
    lines = []
    for kind, by_depth in final_train_error.items():
        depths = sorted(by_depth)
        pairs = list(zip(depths, depths[1:], strict=False))
        rising = sum(by_depth[b] > by_depth[a] for a, b in pairs)
        lines.append(f"- {kind}: training error rises with depth in {rising} of {len(pairs)} "
                     f"steps ({', '.join(f'{d}: {100 * by_depth[d]:.2f}%' for d in depths)})")
    return lines


def main(argv: list[str]) -> None:
    del argv
    depths = [int(d) for d in FLAGS.depths]
    if FLAGS.quick and not FLAGS["depths"].present:
        depths = cifar_runs.QUICK_DEPTHS
    kinds = list(dict.fromkeys(FLAGS.kinds))
    if not kinds or any(k not in cifar_runs.KINDS for k in kinds):
        raise app.UsageError(f"--kinds={','.join(FLAGS.kinds)}: each must be one of "
                             f"{', '.join(cifar_runs.KINDS)} (e.g. --kinds=resnet to draw the "
                             "ResNets only).")
    plt = figures.pyplot()
    fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 4.5), sharey=True,
                             squeeze=False)
    rows, final = [], {kind: {} for kind in kinds}
    for ax, kind in zip(axes[0], kinds, strict=True):
        title = TITLES[kind]
        for index, depth in enumerate(depths):
            run = cifar_runs.cifar_run(kind, depth, FLAGS.out, FLAGS.dataset, FLAGS.quick,
                                       FLAGS.train_steps)
            color = f"C{index}"
            steps, train_acc = run.training_curve("accuracy")
            ax.plot(steps, [100 * (1 - a) for a in train_acc], "--", color=color, linewidth=1)
            train_err = [100 * (1 - a) for a in run.series("accuracy")]
            val_err = [100 * (1 - a) for a in run.series("val_accuracy")]
            ax.plot(run.iterations(), val_err, "o-", color=color, linewidth=1.5, markersize=3,
                    label=f"{title}-{depth}")
            final[kind][depth] = 1 - run.history[-1]["accuracy"]
            rows.append([f"{title}-{depth}", f"{run.metrics['params']:,}",
                         f"{train_err[-1]:.2f}", f"{val_err[-1]:.2f}", run.metrics["steps"]])
        ax.set_title(f"{title} networks (dashed: training error, solid: val error)")
        ax.set_xlabel("iterations")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0][0].set_ylabel("error (%)")
    if FLAGS.error_max:
        axes[0][0].set_ylim(0, FLAGS.error_max)  # the panels share the axis
    what = cifar_runs.describe(FLAGS.quick, FLAGS.train_steps, FLAGS.dataset)
    fig.suptitle(textwrap.fill(f"CIFAR-10 degradation: {what}", 90 * len(kinds)), fontsize=9)
    fig.tight_layout()  # room for a wrapped caption above the panels
    table = figures.markdown_table(
        ["model", "params", "final training error (%)", "final val error (%)", "steps"], rows)
    families = " vs ".join(TITLES[kind] for kind in kinds)
    text = (f"# Degradation: {families} on CIFAR-10\n\nRuns: {what}.\n\n{table}\n"
            "Final training error is the running error of the last epoch on augmented images "
            "(the dashed curves: the error of each window of steps the run logged); val "
            "error is on the held-out split, after each epoch.\n\n"
            + "\n".join(claim(final)) + "\n")
    if FLAGS.error_max:
        text += f"\nThe figure's error axis stops at {FLAGS.error_max:g}% (--error_max).\n"
    figures.publish(FLAGS.figures, FLAGS.name, fig, text)


if __name__ == "__main__":
    app.run(main)
