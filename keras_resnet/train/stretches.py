"""A run's stretches of work: one per launch of the trainer that saved a checkpoint, with the
machine it ran on, when it started and stopped, and the steps it trained. A run carried across
sessions and machines thereby states its wall time and where it ran from its own files.

The open stretch travels inside each checkpoint's index record, written atomically with the
checkpoint, so a trainer killed at any moment leaves a stretch that ends exactly at the
checkpoint the next launch resumes from. That launch (or the run's end) closes it into
``stretches.csv``; `read` returns the closed ones and the open one.
"""

from __future__ import annotations

import csv
import datetime
import io
import os

import keras

from keras_resnet.common.atomic_io import write_text
from keras_resnet.common.results import machine
from keras_resnet.train import checkpoints

FILE = "stretches.csv"
FIELDS = ("started", "stopped", "first_step", "last_step", "steps_per_epoch", "machine")


def now() -> str:
    """The time in UTC to the second, ISO 8601 (``2026-12-03T05:55:00+00:00``)."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def accelerators() -> list[str]:
    """Names of the GPUs (or other accelerators) the Keras backend sees, e.g. ["NVIDIA H200"]."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(d).get("device_name", d.name)
                for d in tf.config.list_physical_devices("GPU")]
    if keras.backend.backend() == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    return []


def this_machine() -> str:
    """The CPU model and count, and the accelerators if any: "AMD EPYC 7B13, 2 CPUs"."""
    found = accelerators()
    if not found:
        return machine()
    names = sorted(set(found))
    return f"{machine()}; " + ", ".join(f"{found.count(n)} x {n}" for n in names)


def open_stretch(first_step: int, steps_per_epoch: int) -> dict:
    """The stretch a launch starts at `first_step`, to be recorded with each checkpoint."""
    return {"started": now(), "first_step": first_step, "steps_per_epoch": steps_per_epoch,
            "machine": this_machine()}


def checkpoint_fields(stretch: dict) -> dict:
    """What a checkpoint's index record carries of the open stretch: the stretch and when the
    checkpoint was saved (the stretch's end if it is the last one)."""
    return {"stretch": stretch, "saved": now()}


def _closed(stretch: dict, record: dict) -> dict:
    return {**{k: stretch[k] for k in FIELDS if k in stretch},
            "stopped": record["saved"], "last_step": int(record["step"])}


def _new_row(record: dict | None, rows: list[dict]) -> dict | None:
    """The stretch that checkpoint `record` ends, as a row, unless it has none or `rows`
    already hold it."""
    if not record or "stretch" not in record or "saved" not in record:
        return None
    row = _closed(record["stretch"], record)
    if any(r["started"] == row["started"] and r["first_step"] == row["first_step"]
           for r in rows):
        return None
    return row


def _read_closed(folder: str) -> list[dict]:
    path = os.path.join(folder, FILE)
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and set(FIELDS) - set(rows[0]):
        raise ValueError(f"{path} lacks the columns {sorted(set(FIELDS) - set(rows[0]))}: "
                         f"not a stretch record; move it away.")
    return [{**r, "first_step": int(r["first_step"]), "last_step": int(r["last_step"]),
             "steps_per_epoch": int(r["steps_per_epoch"])} for r in rows]


def close(model_dir: str, record: dict | None) -> None:
    """Writes the stretch of checkpoint `record` (an index record of model_dir) into
    stretches.csv, ending at that checkpoint; nothing if it has none or is already there."""
    if not record or "stretch" not in record:
        return
    rows = _read_closed(model_dir)
    row = _new_row(record, rows)
    if row is None:
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows + [row])
    write_text(os.path.join(model_dir, FILE), out.getvalue())


def begin(model_dir: str, step: int, steps_per_epoch: int, write: bool = True) -> dict:
    """Closes the stretch that ended at the checkpoint restored at `step` (when `write`) and
    returns the new one this launch opens."""
    if write and step:
        close(model_dir, checkpoints.record_at(model_dir, step))
    return open_stretch(step, steps_per_epoch)


def read(folder: str) -> list[dict]:
    """The stretches of the run in `folder` (a model_dir or a pack), oldest first: those in
    stretches.csv and the open one of its newest checkpoint, marked ``"open": True``."""
    rows = _read_closed(folder)
    try:
        record = checkpoints.latest(folder)
    except ValueError:
        record = None
    row = _new_row(record, rows)
    return rows if row is None else [*rows, {**row, "open": True}]
