"""Does distributed training learn the same thing? The same flagfile trained single-device
(several seeds: the noise), MirroredStrategy over 2 logical CPUs, and MultiWorkerMirroredStrategy
with 2 worker processes on 127.0.0.1; a markdown table of val accuracy and wall time.

    python -m training.experiments.distribution_parity \\
        --train_flagfile=training/configs/cifar10_resnet20_parity.flags --out=runs/parity

Each run trains in its own model_dir under --out; rerunning resumes or skips finished runs.
"""

from __future__ import annotations

import os
import statistics

from absl import app, flags

from training.experiments import runner

FLAGS = flags.FLAGS
flags.DEFINE_string("train_flagfile", "training/configs/cifar10_resnet20_parity.flags",
                    "The training flagfile every run uses.")
flags.DEFINE_string("out", "runs/parity", "Folder of the runs and of parity.md.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds of the single-device runs (the noise).")
flags.DEFINE_list("modes", ["one_device", "mirrored", "multi_worker"], "What to run.")


def _run(name: str, extra: list[str], workers: int = 1) -> dict:
    run = runner.train(name, FLAGS.train_flagfile, extra, FLAGS.out, backend="tensorflow",
                       workers=workers)
    return {"run": name, "val_accuracy": run.metrics["val_accuracy"],
            "wall_s": round(run.metrics["wall_seconds_this_run"]), "steps": run.metrics["steps"]}


def main(argv: list[str]) -> None:
    del argv
    rows = []
    if "one_device" in FLAGS.modes:
        for seed in FLAGS.seeds:
            rows.append(_run(f"one_device-seed{seed}",
                             ["--distribution=one_device", f"--seed={seed}"]))
    if "mirrored" in FLAGS.modes:
        rows.append(_run("mirrored-2cpus", ["--distribution=mirrored", "--logical_cpus=2",
                                            "--seed=0"]))
    if "multi_worker" in FLAGS.modes:
        rows.append(_run("multi_worker-2procs", ["--distribution=multi_worker", "--seed=0"],
                         workers=2))
    single = [r["val_accuracy"] for r in rows if r["run"].startswith("one_device")]
    lines = ["| run | val accuracy | steps | wall (s) |", "|---|---|---|---|"]
    lines += [f"| {r['run']} | {r['val_accuracy']:.4f} | {r['steps']} | {r['wall_s']} |"
              for r in rows]
    if len(single) > 1:
        mean, spread = statistics.mean(single), statistics.stdev(single)
        lines.append("")
        lines.append(f"single-device: mean {mean:.4f}, seed-to-seed std {spread:.4f} "
                     f"({len(single)} seeds)")
        for r in rows:
            if not r["run"].startswith("one_device"):
                gap = r["val_accuracy"] - mean
                in_std = f" = {gap / spread:+.2f} std" if spread else ""
                lines.append(f"{r['run']}: {100 * gap:+.2f} points from the single-device "
                             f"mean{in_std}")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(FLAGS.out, "parity.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    app.run(main)
