"""Does starting from pretrained weights pay on a task the weights never saw? CIFAR-10 split
by class: ResNet-20 is trained on five classes (the weights), then on the other five with
10, 50, ... images per class, once from those weights and once from scratch, with the same
steps and schedule shape; the figure draws val accuracy against images per class.

    python -m training.experiments.finetune_budget --figures=results/experiments
    python -m training.experiments.finetune_budget --quick    # CI smoke run on the sample

The classes are split by name order (airplane ... deer, then dog ... truck): animals and
vehicles on both sides. Every budget is validated on the same held-out images of its classes
(the last --val_fraction of each class folder, by file name), and takes its training images
from the front of each class, so a larger budget holds the smaller ones.
"""

from __future__ import annotations

import math
import os

from absl import app, flags

from keras_resnet.data.image_folder import read_image_folder
from training.experiments import figures, runner
from training.experiments.cifar_runs import CIFAR_FOLDER

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "A few steps on the embedded sample (CI).")
flags.DEFINE_string("dataset", CIFAR_FOLDER, "folder:PATH of a 10-class image folder.")
flags.DEFINE_list("budgets", ["10", "50", "250", "all"], "Training images per class of the "
                  "target task (all: every training image of its classes).")
flags.DEFINE_integer("pretrain_epochs", 30, "Epochs of the five-class pretraining.",
                     lower_bound=1)
flags.DEFINE_integer("steps", 1500, "Training steps of every target-task run.", lower_bound=1)
flags.DEFINE_float("val_fraction", 0.1, "Held-out fraction of each class.")
flags.DEFINE_string("out", "runs/experiments/finetune", "Folder of the data links and runs.")
figures.define_output_flags("finetune_budget")

#: The shipped recipe every run starts from (ResNet-20, batch 64, Nesterov, smoothing, cosine).
FLAGFILE = "cifar10_resnet20_short_ls"
#: Batch of the target-task runs: the smallest budget (5 classes x 10 images) fills one.
TASK_BATCH = 32
#: The fewest batches an epoch of a target-task run holds (small budgets repeat their images).
MIN_STEPS_PER_EPOCH = 100
#: Learning rate of the runs from pretrained weights (a tenth of the scratch runs' 0.1).
FINETUNE_LR = 0.01


def _link_split(files: dict[str, list[str]], target: str, repeat: int = 1) -> None:
    """A class folder of symbolic links: ``target/<class>/<file>`` for each file, `repeat`
    links to each (``r<k>_<file>``)."""
    for name, paths in files.items():
        folder = os.path.join(target, name)
        os.makedirs(folder, exist_ok=True)
        for path in paths:
            for k in range(repeat):
                base = os.path.basename(path)
                link = os.path.join(folder, base if repeat == 1 else f"r{k:03d}_{base}")
                if not os.path.lexists(link):
                    os.symlink(os.path.abspath(path), link)


def repeats(images: int) -> int:
    """How many times a training folder of `images` images lists each, so that an epoch
    holds at least `MIN_STEPS_PER_EPOCH` batches: the trainer validates once an epoch, and
    1,500 one-batch epochs of 10 images per class would spend their time validating."""
    return max(1, math.ceil(MIN_STEPS_PER_EPOCH * TASK_BATCH / images))


def _by_class(split) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {name: [] for name in split.class_names}
    for path, label in zip(split.paths, split.labels, strict=True):
        files[split.class_names[label]].append(path)
    return files


def make_folders(dataset: str, out: str, budgets: list[str], val_fraction: float) -> dict:
    """The pretraining folder (the first five classes) and one folder per budget (the other
    five), as train/ and val/ subfolders of links; returns {name: folder}."""
    if not dataset.startswith("folder:"):
        raise app.UsageError(f"--dataset={dataset}: give folder:PATH.")
    splits = read_image_folder(dataset[len("folder:"):], val_fraction)
    train, val = _by_class(splits["train"]), _by_class(splits["val"])
    names = sorted(train)
    if len(names) < 4:
        raise app.UsageError(f"{dataset} has {len(names)} classes; the split needs at least 4.")
    source, task = names[: len(names) // 2], names[len(names) // 2:]
    folders = {"pretrain": os.path.join(out, "data", "pretrain")}
    _link_split({c: train[c] for c in source}, os.path.join(folders["pretrain"], "train"))
    _link_split({c: val[c] for c in source}, os.path.join(folders["pretrain"], "val"))
    for budget in budgets:
        n = None if budget == "all" else int(budget)
        folder = folders[budget] = os.path.join(out, "data", f"task_{budget}")
        chosen = {c: train[c][:n] for c in task}
        _link_split(chosen, os.path.join(folder, "train"),
                    repeats(sum(len(f) for f in chosen.values())))
        _link_split({c: val[c] for c in task}, os.path.join(folder, "val"))
    return folders


def _headless_weights(model_dir: str) -> str:
    """The pretraining run's best backbone without its head, as a .weights.h5 beside it: the
    target task has as many classes, and its head must not start as the source task's."""
    import keras

    import keras_resnet

    path = os.path.join(model_dir, "backbone.weights.h5")
    if not os.path.isfile(path):
        best = keras.models.load_model(os.path.join(model_dir, "model_best.keras"))
        headless = keras_resnet.ResNet20(include_top=False, input_shape=(32, 32, 3))
        for layer in headless.layers:
            if layer.weights:
                layer.set_weights(best.get_layer(layer.name).get_weights())
        headless.save_weights(path)
    return path


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    quick = FLAGS.quick
    dataset = f"folder:{runner.SAMPLE_DATA}" if quick else FLAGS.dataset
    budgets = ["10"] if quick else FLAGS.budgets
    bad = [b for b in budgets if b != "all" and not (b.isdigit() and int(b) > 0)]
    if bad:
        raise app.UsageError(f"--budgets: {bad} are not positive counts or 'all'.")
    steps = 20 if quick else FLAGS.steps
    out = os.path.abspath(FLAGS.out)
    folders = make_folders(dataset, out, budgets, FLAGS.val_fraction)
    flagfile = runner.config(FLAGFILE)
    common = ["--verbose=2", "--seed=0", "--checkpoint_every_steps=0", "--normalization=cifar10"]
    pretrain_epochs = 2 if quick else FLAGS.pretrain_epochs
    source = runner.train("pretrain", flagfile, [
        *common, f"--dataset=folder:{folders['pretrain']}", f"--epochs={pretrain_epochs}",
        "--train_steps=0", *(["--batch_size=64", "--warmup_steps=10"] if quick else [])], out)
    weights = _headless_weights(source.model_dir)
    task = [*common, f"--train_steps={steps}", f"--batch_size={TASK_BATCH}",
            f"--warmup_steps={max(1, steps // 20)}"]
    rows, curves = [], {"from pretrained weights": [], "from scratch": []}
    for budget in budgets:
        data = f"--dataset=folder:{folders[budget]}"
        scratch = runner.train(f"scratch_{budget}", flagfile, [*task, data], out)
        tuned = runner.train(f"finetune_{budget}", flagfile,
                             [*task, data, f"--weights={weights}", f"--lr={FINETUNE_LR}"], out)
        per_class = int(budget) if budget != "all" else len(  # "all" is never repeated
            read_image_folder(folders[budget])["train"]) // 5
        best = {name: max(run.series("val_accuracy")) for name, run in
                (("scratch", scratch), ("tuned", tuned))}
        curves["from pretrained weights"].append((per_class, 100 * best["tuned"]))
        curves["from scratch"].append((per_class, 100 * best["scratch"]))
        rows.append([budget, per_class, f"{100 * best['tuned']:.2f}",
                     f"{100 * best['scratch']:.2f}",
                     f"{100 * (best['tuned'] - best['scratch']):+.2f}"])
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for index, (label, points) in enumerate(curves.items()):
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", color=f"C{index}",
                label=label)
    ax.set_xscale("log")
    ax.set_xlabel("training images per class (5 classes the weights never saw)")
    ax.set_ylabel("best val accuracy (%)")
    what = "embedded sample (quick mode)" if quick else dataset
    ax.set_title(f"ResNet-20, {steps} steps per run, {what}", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend()
    table = figures.markdown_table(["budget", "images per class", "pretrained (%)",
                                    "scratch (%)", "difference (points)"], rows)
    pretrain_acc = 100 * max(source.series("val_accuracy"))
    text = (f"# Fine-tuning against training from scratch, by images per class\n\n"
            f"Weights: ResNet-20 trained {pretrain_epochs} epochs on the first five classes of "
            f"{what} (val {pretrain_acc:.2f}%). Each run: the other five classes, {steps} "
            f"steps at batch {TASK_BATCH} (a small budget's images are listed several times "
            f"so that an epoch holds {MIN_STEPS_PER_EPOCH} batches or more: the trainer "
            f"validates once an epoch), `{FLAGFILE}.flags`' recipe (cosine); from the "
            f"weights at lr {FINETUNE_LR}, from scratch at the recipe's lr. Val: the same "
            f"held-out images of the five classes for every budget.\n\n{table}")
    figures.publish(FLAGS.figures, FLAGS.name, fig, text)


if __name__ == "__main__":
    app.run(main)
