"""The curves of one training run from its history.csv: train and validation accuracy and loss
per epoch, with the target accuracy drawn in, and a table of where the run stands.

    python -m training.experiments.run_curves --model_dir=results/training/cifar10_resnet20_long \
        --output_dir=results/training/cifar10_resnet20_long --target=0.91

Works on a run in progress (a pack made by training/carry_run.py holds its history.csv).
"""

from __future__ import annotations

import csv
import os

from absl import app, flags

from keras_resnet.common.flagfile import read_flagfile
from training.experiments import figures

FLAGS = flags.FLAGS


def read_history(path: str) -> list[dict[str, float]]:
    """history.csv's rows as floats, one per finished epoch, in epoch order."""
    if not os.path.isfile(path):
        raise ValueError(f"no history at {path}: pass the model_dir of a run (or its pack) "
                         "that finished at least one epoch.")
    with open(path, newline="") as f:
        rows = [{k: float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(f)]
    if not rows or "val_accuracy" not in rows[0]:
        raise ValueError(f"{path} has no epochs with val_accuracy.")
    return sorted(rows, key=lambda r: r["epoch"])


def summary(rows: list[dict[str, float]], planned_epochs: int | None) -> list[list[object]]:
    """Table rows: epochs done, last and best validation accuracy, median speed."""
    best = max(rows, key=lambda r: r["val_accuracy"])
    speeds = sorted(r["img_per_sec"] for r in rows if "img_per_sec" in r)
    done = f"{len(rows)}" + (f" of {planned_epochs}" if planned_epochs else "")
    table = [["epochs done", done],
             ["last val accuracy", f"{rows[-1]['val_accuracy']:.2%} (epoch {len(rows)})"],
             ["best val accuracy", f"{best['val_accuracy']:.2%} (epoch {int(best['epoch']) + 1})"],
             ["last train accuracy", f"{rows[-1]['accuracy']:.2%}"]]
    if speeds:
        table.append(["median img/s of an epoch", f"{speeds[len(speeds) // 2]:.0f}"])
    return table


def draw(rows: list[dict[str, float]], title: str, target: float | None):
    plt = figures.pyplot()
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(11, 4.2))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    acc.plot(epochs, [r["accuracy"] for r in rows], label="train (augmented)")
    acc.plot(epochs, [r["val_accuracy"] for r in rows], label="validation (5k)")
    if target:
        acc.axhline(target, color="gray", linestyle="--", linewidth=1,
                    label=f"target {target:.2%}")
    acc.set(xlabel="epoch", ylabel="top-1 accuracy", ylim=(0.4, 1.0))
    acc.legend(loc="lower right")
    loss.plot(epochs, [r["loss"] for r in rows], label="train")
    loss.plot(epochs, [r["val_loss"] for r in rows], label="validation")
    loss.set(xlabel="epoch", ylabel="loss (train: with smoothing and weight decay)")
    loss.legend(loc="upper right")
    fig.suptitle(title)
    return fig


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    run = FLAGS.model_dir
    try:
        rows = read_history(os.path.join(run, "history.csv"))
    except ValueError as err:
        raise app.UsageError(str(err)) from None
    run_flags = read_flagfile(os.path.join(run, "flags.txt"))
    planned = int(run_flags["epochs"]) if run_flags.get("epochs") else None
    name = os.path.basename(os.path.normpath(run))
    title = f"{run_flags.get('model', name)}: {name}"
    text = (f"# {title}\n\nWritten by `python -m training.experiments.run_curves "
            f"--model_dir={run} --output_dir={FLAGS.output_dir}"
            + (f" --target={FLAGS.target}" if FLAGS.target else "") + "` from its history.csv.\n\n"
            + figures.markdown_table(["", ""], summary(rows, planned)))
    figures.publish(FLAGS.output_dir, FLAGS.name, draw(rows, title, FLAGS.target), text)
    return 0


if __name__ == "__main__":
    flags.DEFINE_string("model_dir", None, "A run's model_dir, or its pack (history.csv, "
                        "flags.txt).", required=True)
    flags.DEFINE_string("output_dir", None, "Where NAME.png and NAME.md go.", required=True)
    flags.DEFINE_string("name", "curves", "Base name of the figure and table.")
    flags.DEFINE_float("target", None, "Draw this validation accuracy as a line (e.g. 0.91).",
                       lower_bound=0.0, upper_bound=1.0)
    app.run(main)
