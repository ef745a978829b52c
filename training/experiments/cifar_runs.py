"""The CIFAR-10 runs the degradation figure and the CIFAR table share: the paper's recipe from
the shipped flagfiles (`cifar10_{plain,resnet}N.flags`), on the real image folder, or a quick
version on the embedded sample for CI."""

from __future__ import annotations

from training.experiments import runner

#: The real CIFAR-10 training images, 45k/5k split as the flagfiles say.
CIFAR_FOLDER = "folder:../shared/data/cifar10/train"
#: The two families of the paper's CIFAR-10 runs (flagfiles cifar10_{kind}{depth}.flags).
KINDS = ("plain", "resnet")
#: Quick mode: a few dozen steps on the embedded sample (a smoke run of the whole command).
QUICK_STEPS = 60
#: Quick mode's depths when --depths is not given.
QUICK_DEPTHS = [20, 32]
#: Training curves get a point every this many steps (steps.csv), not only every epoch.
LOG_EVERY_STEPS = 25
#: A shortened run warms up linearly over this fraction of its steps: at lr 0.1 from step 0, a
#: 56-layer ResNet's loss first climbs to ~15 and needs a few hundred steps to recover (the same
#: in a PyTorch twin), most of a shortened budget. The paper warms up only ResNet-110.
SHORT_WARMUP_FRACTION = 1 / 8
#: Real runs checkpoint this often as well as at each epoch end: a CPU session that ends mid-run
#: loses at most these steps (an epoch is 351), and the rerun resumes from there.
CHECKPOINT_EVERY_STEPS = 100


def overrides(dataset: str, quick: bool, train_steps: int = 0) -> list[str]:
    """Flags every run of a sweep gets on top of its flagfile."""
    if quick:
        args = [*runner.QUICK_OVERRIDES, f"--train_steps={train_steps or QUICK_STEPS}",
                "--lr_schedule=cosine", "--seed=0", "--log_every_steps=10"]
    else:
        args = [f"--dataset={dataset}", f"--log_every_steps={LOG_EVERY_STEPS}",
                f"--checkpoint_every_steps={CHECKPOINT_EVERY_STEPS}"]
        if train_steps:  # a shortened run: the paper's schedule compressed to train_steps
            args += [f"--train_steps={train_steps}",
                     f"--lr_boundaries={train_steps // 2},{train_steps * 3 // 4}",
                     "--warmup=linear",
                     f"--warmup_steps={round(train_steps * SHORT_WARMUP_FRACTION)}"]
    return args + ["--verbose=2"]


def cifar_run(kind: str, depth: int, out: str, dataset: str = CIFAR_FOLDER,
              quick: bool = False, train_steps: int = 0) -> runner.Run:
    """Trains (or reads back) ``{kind}{depth}`` with the paper's CIFAR-10 recipe."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    name = f"{kind}{depth}"
    return runner.train(name, runner.config(f"cifar10_{name}"),
                        overrides(dataset, quick, train_steps), out)


def describe(quick: bool, train_steps: int, dataset: str) -> str:
    """One line saying what the runs were, for the figure's caption and the table."""
    if quick:
        return (f"quick mode: {train_steps or QUICK_STEPS} steps on the embedded 3k-image "
                "sample (a smoke run, not a result)")
    if train_steps:
        return (f"the paper's recipe shortened to {train_steps} steps (linear warmup over the "
                f"first {round(train_steps * SHORT_WARMUP_FRACTION)}, lr /10 at 50% and 75%) "
                f"on {dataset}")
    return f"the paper's recipe (64k steps, lr /10 at 32k and 48k) on {dataset}"
