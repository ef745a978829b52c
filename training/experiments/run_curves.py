"""The curves of one training run from its history.csv: train and validation accuracy and loss
per epoch, with the target accuracy drawn in, and a table of where the run stands.

    python -m training.experiments.run_curves --model_dir=results/training/cifar10_resnet20_long \
        --output_dir=results/training/cifar10_resnet20_long --target=0.91

Works on a run in progress (a pack made by training/carry_run.py holds its history.csv).
``--baseline=OTHER_RUN`` draws another run's curves beside it and tables the two epoch by
epoch, for a run that changes one thing of another's recipe. A run that kept a stretch record
(`keras_resnet.train.stretches`) also gets a table of its stretches: machine, wall time, steps.
"""

from __future__ import annotations

import csv
import datetime
import os

from absl import app, flags

from keras_resnet.common.flagfile import read_flagfile
from keras_resnet.train import stretches
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


def _by_epoch(rows: list[dict[str, float]]) -> dict[int, dict[str, float]]:
    return {int(r["epoch"]): r for r in rows}


def versus(rows: list[dict[str, float]], baseline: list[dict[str, float]],
           every: int = 10) -> list[list[object]]:
    """Table rows comparing two runs at the epochs both finished: every `every`-th epoch and
    the last common one; train and val accuracy of each and the val difference in points."""
    theirs = _by_epoch(baseline)
    common = [r for r in rows if int(r["epoch"]) in theirs]
    if not common:
        return []
    last = int(common[-1]["epoch"])
    table = []
    for r in common:
        epoch = int(r["epoch"])
        if (epoch + 1) % every and epoch != last:
            continue
        b = theirs[epoch]
        table.append([epoch + 1, f"{r['accuracy']:.2%}", f"{b['accuracy']:.2%}",
                      f"{r['val_accuracy']:.2%}", f"{b['val_accuracy']:.2%}",
                      f"{(r['val_accuracy'] - b['val_accuracy']) * 100:+.2f}"])
    return table


def _minutes(row: dict) -> float:
    started, stopped = (datetime.datetime.fromisoformat(row[k]) for k in ("started", "stopped"))
    return (stopped - started).total_seconds() / 60


def _epochs_in(row: dict, history: list[dict[str, float]]) -> list[dict[str, float]]:
    """The history rows of the epochs that ended within stretch `row` (after its first step,
    at or before its last)."""
    spe = row["steps_per_epoch"]
    return [r for r in history
            if row["first_step"] < (int(r["epoch"]) + 1) * spe <= row["last_step"]]


def _mean_val(rows: list[dict[str, float]]) -> str:
    return f"{sum(r['val_accuracy'] for r in rows) / len(rows):.2%}" if rows else "-"


def stretch_table(rows: list[dict], history: list[dict[str, float]] | None = None,
                  baseline: list[dict[str, float]] | None = None) -> list[list[object]]:
    """Table rows, one per stretch of work: when and where it ran, its wall time, the steps
    and epochs it trained, and seconds per epoch (wall time over epochs trained). With the
    run's `history`, also the val accuracy at the stretch's last epoch and the mean over its
    epochs; with a `baseline` history, the baseline's mean over the same epochs ("-" where
    the baseline lacks any of them)."""
    table = []
    theirs = _by_epoch(baseline or [])
    for number, row in enumerate(rows, 1):
        spe, first, last = row["steps_per_epoch"], row["first_step"], row["last_step"]
        minutes = _minutes(row)
        epochs = (last - first) / spe
        line = [number, row["machine"], row["started"][:16].replace("T", " "),
                row["stopped"][:16].replace("T", " "), f"{minutes:.0f}",
                f"{first:,} to {last:,}", f"{first // spe + 1} to {-(-last // spe)}",
                f"{minutes * 60 / epochs:.0f}" if epochs > 0 else "-"]
        if history is not None:
            ours = _epochs_in(row, history)
            line += [f"{ours[-1]['val_accuracy']:.2%}" if ours else "-", _mean_val(ours)]
            if baseline is not None:
                same = [theirs.get(int(r["epoch"])) for r in ours]
                line.append(_mean_val(same) if None not in same else "-")
        table.append(line)
    return table


def stretch_text(rows: list[dict], history: list[dict[str, float]] | None = None,
                 baseline: list[dict[str, float]] | None = None,
                 baseline_name: str = "baseline") -> str:
    """The stretches section of curves.md ("" for a run without a stretch record)."""
    if not rows:
        return ""
    header = ["stretch", "machine", "started", "last checkpoint", "wall (min)", "steps",
              "epochs", "s per epoch"]
    if history is not None:
        header += ["val at its end", "mean val over its epochs"]
        if baseline is not None:
            header.append(f"mean val, {baseline_name}, same epochs")
    text = ("\nStretches of work (UTC; wall time from the resume to the stretch's last "
            "checkpoint; from its stretches.csv and checkpoint index):\n\n"
            + figures.markdown_table(header, stretch_table(rows, history, baseline)))
    minutes = sum(_minutes(r) for r in rows)
    text += f"\nIn all: {minutes / 60:.1f} h over {len(rows)} stretch(es).\n"
    if rows[0]["first_step"]:
        text += (f"Steps before {rows[0]['first_step']:,} ran before the trainer kept a "
                 "stretch record.\n")
    return text


def loss_legend(run_flags: dict[str, str], split: str) -> str:
    """A loss line's legend entry naming what the run's flags add to cross-entropy: both
    losses carry label smoothing and weight decay (Keras adds the L2 terms in evaluation
    too); only the train loss carries distillation. So neither is read as cross-entropy."""
    terms = [name for name, on in (
        ("distillation", split == "train" and bool(run_flags.get("teacher"))),
        ("label smoothing", float(run_flags.get("label_smoothing") or 0) > 0),
        ("weight decay", float(run_flags.get("weight_decay") or 0) > 0)) if on]
    if not terms:
        return split
    listed = terms[0] if len(terms) == 1 else ", ".join(terms[:-1]) + " and " + terms[-1]
    return f"{split}, with\n{listed}"


def draw(rows: list[dict[str, float]], title: str, target: float | None,
         baseline: list[dict[str, float]] | None = None, baseline_name: str = "baseline",
         loss_labels: tuple[str, str] = ("train", "validation")):
    plt = figures.pyplot()
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(11, 4.2))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    acc.plot(epochs, [r["accuracy"] for r in rows], label="train (augmented)")
    acc.plot(epochs, [r["val_accuracy"] for r in rows], label="validation (5k)")
    if baseline:
        theirs = [int(r["epoch"]) + 1 for r in baseline]
        acc.plot(theirs, [r["accuracy"] for r in baseline], color="C0", linestyle=":",
                 label=f"train, {baseline_name}")
        acc.plot(theirs, [r["val_accuracy"] for r in baseline], color="C1", linestyle=":",
                 label=f"validation, {baseline_name}")
    if target:
        acc.axhline(target, color="gray", linestyle="--", linewidth=1,
                    label=f"target {target:.2%}")
    acc.set(xlabel="epoch", ylabel="top-1 accuracy", ylim=(0.4, 1.0))
    acc.legend(loc="lower right")
    loss.plot(epochs, [r["loss"] for r in rows], label=loss_labels[0])
    loss.plot(epochs, [r["val_loss"] for r in rows], label=loss_labels[1])
    loss.set(xlabel="epoch", ylabel="loss")
    loss.legend(loc="upper right", fontsize="small")
    fig.suptitle(title)
    return fig


def write(run: str, output_dir: str, name: str = "curves", target: float | None = None,
          baseline_run: str | None = None) -> str:
    """Writes ``output_dir/name.{png,md}`` for the run in `run` (beside `baseline_run` if
    given); returns the markdown. A run or baseline without history is a ValueError, raised
    before anything is written."""
    rows = read_history(os.path.join(run, "history.csv"))
    baseline, other = None, None
    if baseline_run:
        other = os.path.basename(os.path.normpath(baseline_run))
        try:
            baseline = read_history(os.path.join(baseline_run, "history.csv"))
        except ValueError as err:
            raise ValueError(f"--baseline: {err}") from None
    run_flags = read_flagfile(os.path.join(run, "flags.txt"))
    planned = int(run_flags["epochs"]) if run_flags.get("epochs") else None
    label = os.path.basename(os.path.normpath(run))
    title = f"{run_flags.get('model', label)}: {label}"
    command = (f"python -m training.experiments.run_curves --model_dir={run} "
               f"--output_dir={output_dir}"
               + (f" --baseline={baseline_run}" if baseline_run else "")
               + (f" --target={target}" if target else ""))
    text = (f"# {title}\n\nWritten by `{command}` from its history.csv.\n\n"
            + figures.markdown_table(["", ""], summary(rows, planned)))
    if baseline:
        compared = versus(rows, baseline)
        text += (f"\nEpoch by epoch against `{other}` (its history.csv):\n\n"
                 + (figures.markdown_table(
                     ["epoch", f"train, {label}", f"train, {other}", f"val, {label}",
                      f"val, {other}", "val difference (points)"], compared)
                    if compared else "no epoch finished by both runs.\n"))
    text += stretch_text(stretches.read(run), rows, baseline, other or "baseline")
    figures.publish(output_dir, name,
                    draw(rows, title, target, baseline, other or "baseline",
                         (loss_legend(run_flags, "train"),
                          loss_legend(run_flags, "validation"))), text)
    return text


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        write(FLAGS.model_dir, FLAGS.output_dir, FLAGS.name, FLAGS.target, FLAGS.baseline)
    except ValueError as err:
        raise app.UsageError(str(err)) from None
    return 0


if __name__ == "__main__":
    flags.DEFINE_string("model_dir", None, "A run's model_dir, or its pack (history.csv, "
                        "flags.txt).", required=True)
    flags.DEFINE_string("output_dir", None, "Where NAME.png and NAME.md go.", required=True)
    flags.DEFINE_string("name", "curves", "Base name of the figure and table.")
    flags.DEFINE_string("baseline", None, "Another run (model_dir or pack) to draw beside it "
                        "and compare epoch by epoch.")
    flags.DEFINE_float("target", None, "Draw this validation accuracy as a line (e.g. 0.91).",
                       lower_bound=0.0, upper_bound=1.0)
    app.run(main)
