"""Carry a training run across machines: pack its newest checkpoint into a folder you commit,
and unpack it into a model_dir on the next machine, where rerunning train.py resumes it.

    python training/carry_run.py --pack --model_dir=runs/X --to=results/training/X
    python training/carry_run.py --unpack --from=results/training/X --model_dir=runs/X

A pack holds what a resume needs and nothing more: the newest checkpoint (weights and optimizer
state) and its index with size and sha256 (and the open stretch of work:
`keras_resnet.train.stretches`), flags.txt, the data seed of an unseeded run, history.csv,
steps.csv, stretches.csv, labels.txt, model_best.keras, and once the run has finished
model.keras and metrics.json. Every file is checked, then written
atomically; older checkpoints left in the pack are removed only after the new one is in place.
Unpacking refuses to replace a checkpoint that is as new or newer. Both refuse a model_dir a
trainer is still writing (stop it first: `keras_resnet.common.folder_lock`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from absl import app, flags

from keras_resnet.common import atomic_io
from keras_resnet.common.folder_lock import FolderBusyError, hold
from keras_resnet.train import checkpoints, stretches

#: files of a model_dir a resume needs beside the checkpoint (those present are carried).
RUN_FILES = ("flags.txt", checkpoints.SEED_FILE, "history.csv", "steps.csv", "labels.txt",
             "model_best.keras", "model.keras", "metrics.json", stretches.FILE)


def _copy(source: str, target: str) -> None:
    with atomic_io.atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def _checked_newest(folder: str) -> dict:
    """The newest checkpoint record of `folder`, its size and sha256 checked (or, for an
    index written before those were recorded, computed now)."""
    record = checkpoints.latest(folder)
    if record is None:
        raise ValueError(f"{folder} holds no checkpoint ({checkpoints.INDEX}); nothing to carry.")
    path = os.path.join(folder, record["file"])
    size, sha256 = atomic_io.file_digest(path)
    if "bytes" in record and (size, sha256) != (record["bytes"], record["sha256"]):
        raise ValueError(f"{path} does not match its index ({size} bytes, sha256 "
                         f"{sha256[:12]}...; the index says {record['bytes']} bytes, "
                         f"{record['sha256'][:12]}...): it is damaged; not carried.")
    return {k: v for k, v in record.items() if k != "previous"} | {"bytes": size,
                                                                     "sha256": sha256}


def _move(source: str, target: str) -> dict:
    """Copies the newest checkpoint and the run's files from `source` to `target`; returns the
    checkpoint's record. The index is written last, so an interrupted copy leaves `target`'s
    previous checkpoint in force."""
    record = _checked_newest(source)
    os.makedirs(target, exist_ok=True)
    _copy(os.path.join(source, record["file"]), os.path.join(target, record["file"]))
    for name in RUN_FILES:
        if os.path.exists(os.path.join(source, name)):
            _copy(os.path.join(source, name), os.path.join(target, name))
    atomic_io.write_text(os.path.join(target, checkpoints.INDEX), json.dumps(record))
    for name in os.listdir(target):
        if name.startswith("ckpt-") and name.endswith(".weights.h5") and name != record["file"]:
            os.remove(os.path.join(target, name))
    return record


def pack(model_dir: str, to: str) -> dict:
    """Packs `model_dir`'s newest checkpoint and run files into `to` (created if needed)."""
    if not os.path.isdir(model_dir):
        raise ValueError(f"{model_dir} does not exist; nothing to carry.")
    with hold(model_dir, "packing a run"):  # a live run would rotate its checkpoint away
        return _move(model_dir, to)


def unpack(source: str, model_dir: str) -> dict:
    """Unpacks a pack made by `pack` into `model_dir`; refuses to replace a newer checkpoint."""
    incoming = _checked_newest(source)
    with hold(model_dir, "unpacking a run"):
        present = checkpoints.latest(model_dir)
        if present is not None and present["step"] >= incoming["step"]:
            raise ValueError(f"{model_dir} already holds step {present['step']}, not older than "
                             f"the pack's step {incoming['step']}: nothing unpacked (rerun "
                             "train.py to resume it, or unpack into another model_dir).")
        return _move(source, model_dir)


def define_flags() -> None:
    """The command's flags (defined when it runs, so importing it defines none)."""
    flags.DEFINE_bool("pack", False, "Pack --model_dir's newest checkpoint into --to.")
    flags.DEFINE_bool("unpack", False, "Unpack the pack in --from into --model_dir.")
    flags.DEFINE_string("model_dir", None, "The training run's model_dir.")
    flags.DEFINE_string("to", None, "--pack: the folder to pack into (committed).")
    flags.DEFINE_string("from", None, "--unpack: a folder made by --pack.")
    flags.mark_flags_as_required(["model_dir"])
    flags.register_multi_flags_validator(
        ["pack", "unpack", "to", "from"],
        lambda f: (f["pack"] and not f["unpack"] and f["to"] is not None)
        or (f["unpack"] and not f["pack"] and f["from"] is not None),
        "give --pack with --to, or --unpack with --from")


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    values = flags.FLAGS
    try:
        if values.pack:
            record = pack(values.model_dir, values.to)
            where = values.to
        else:
            record = unpack(values["from"].value, values.model_dir)
            where = values.model_dir
    except (ValueError, FolderBusyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{where}: {record['file']} (step {record['step']}, epoch {record['epoch']}, "
          f"{record['bytes']:,} bytes, sha256 {record['sha256'][:12]}...)")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
