"""Step decay vs cosine on the same model and data: the step schedule's staircase training
curves (each /10 drops the error at once) beside cosine's smooth descent, and where each ends.

    python -m training.experiments.lr_schedules            # ResNet-20, 30 epochs each (CPU ~2x50 min)
    python -m training.experiments.lr_schedules --quick    # CI smoke run on the embedded sample

Both runs use --flagfile (cosine as shipped); the step run divides the lr by 10 at 50% and 75%
of the epochs, the paper's proportions (32k and 48k of 64k).
"""  # noqa: E501

from __future__ import annotations

from absl import app, flags

from keras_resnet.common.flagfile import read_flagfile
from training.experiments import figures, runner
from training.experiments.cifar_runs import CIFAR_FOLDER

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "4 epochs on the embedded sample (CI).")
flags.DEFINE_string("flagfile_name", "cifar10_resnet20_short",
                    "The shipped training flagfile both runs start from.")
flags.DEFINE_integer("epochs", 0, "Epochs of each run (0: the flagfile's).", lower_bound=0)
flags.DEFINE_string("dataset", CIFAR_FOLDER, "Training data (folder:PATH or TFDS).")
flags.DEFINE_string("out", "runs/experiments/schedules", "Folder of the training runs.")
figures.define_output_flags("lr_schedules")


def _epochs_of(flagfile: str) -> int:
    epochs = read_flagfile(flagfile).get("epochs")
    if epochs is None:
        raise app.UsageError(f"{flagfile} sets no --epochs; pass --epochs.")
    return int(epochs)


def main(argv: list[str]) -> None:
    del argv
    flagfile = runner.config(FLAGS.flagfile_name)
    epochs = FLAGS.epochs or (4 if FLAGS.quick else _epochs_of(flagfile))
    if epochs < 4:
        raise app.UsageError("--epochs must be at least 4 for a step schedule with two drops.")
    common = [f"--epochs={epochs}", "--train_steps=0", "--verbose=2"]
    if FLAGS.quick:
        common += runner.QUICK_OVERRIDES
    else:
        common.append(f"--dataset={FLAGS.dataset}")
    drops = [epochs // 2, epochs * 3 // 4]
    runs = {
        "cosine": runner.train("cosine", flagfile, [*common, "--lr_schedule=cosine"], FLAGS.out),
        "step": runner.train("step", flagfile, [*common, "--lr_schedule=step",
                                                 f"--lr_boundaries={drops[0]},{drops[1]}",
                                                 "--lr_boundaries_unit=epochs"], FLAGS.out),
    }
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = []
    for index, (name, run) in enumerate(runs.items()):
        epoch = [int(row["epoch"]) + 1 for row in run.history]
        train_err = [100 * (1 - a) for a in run.series("accuracy")]
        val_err = [100 * (1 - a) for a in run.series("val_accuracy")]
        ax.plot(epoch, train_err, "--", color=f"C{index}", linewidth=1)
        ax.plot(epoch, val_err, "-", color=f"C{index}", label=name)
        best = min(val_err)
        rows.append([name, f"{train_err[-1]:.2f}", f"{val_err[-1]:.2f}", f"{best:.2f}",
                     len(epoch)])
    for drop in drops:
        ax.axvline(drop, color="gray", linestyle=":", linewidth=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%) — dashed: training, solid: val")
    source = "embedded sample (quick mode)" if FLAGS.quick else FLAGS.dataset
    ax.set_title(f"{FLAGS.flagfile_name}: step (/10 at epochs {drops[0]}, {drops[1]}) vs "
                 f"cosine, {source}", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend()
    table = figures.markdown_table(["schedule", "final training error (%)",
                                    "final val error (%)", "best val error (%)", "epochs"],
                                   rows)
    text = (f"# Step decay vs cosine\n\n`{FLAGS.flagfile_name}` for {epochs} epochs on "
            f"{source}; step: lr /10 at epochs {drops[0]} and {drops[1]}.\n\n{table}")
    figures.publish(FLAGS.figures, FLAGS.name, fig, text)


if __name__ == "__main__":
    app.run(main)
