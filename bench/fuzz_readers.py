"""Fuzzes the readers of files users hand over: each takes mutated copies of a valid file and
must end in a result or an exception type its API documents (ValueError, or
pickle.UnpicklingError for torch pickles). Every other exception is a finding; a crash (the
process dying) or a hang (a case over --case_seconds) too: each reader runs in a child
process. Mutations, seeded: bit flips, byte overwrites, truncation, insertion, deletion,
duplicated spans, zeroed spans.

    python bench/fuzz_readers.py [--cases=1000 --seed=0 --readers=pth,flagfile,...]
        [--output=results/bench/fuzz_readers.txt]

Readers: pth (torch zip checkpoints, `read_state_dict`), weights_h5 (`.weights.h5` into a
ResNet-20), legacy_h5 (keras.applications' legacy `.h5` weights format, `load_legacy_h5`),
keras (a whole `.keras` model, `load_model_file`), flagfile (a run's flags.txt into
`TrainConfig`), tf_config (TF_CONFIG), image (JPEG/PNG/GIF/BMP/WebP through the trainer's
check and decoder), tflite (an exported model through `LiteRTClassifier` and its metadata
reader).
"""

from __future__ import annotations

import collections
import io
import json
import multiprocessing
import os
import pickle
import random
import tempfile
import time
import traceback

import numpy as np
from absl import app, flags

READERS = ("pth", "weights_h5", "legacy_h5", "keras", "flagfile", "tf_config", "image",
           "tflite")

_CASES = flags.DEFINE_integer("cases", 1000, "Mutated cases per reader.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the mutations.")
_READERS = flags.DEFINE_list("readers", list(READERS), "Readers to fuzz.")
_CASE_SECONDS = flags.DEFINE_float("case_seconds", 30.0, "A case slower than this is a hang.")
_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")


def mutate(data: bytes, rng: random.Random) -> bytes:
    """`data` with one to four random mutations."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(7)
        at = rng.randrange(len(out) + 1)
        if kind == 0 and out:  # flip a bit
            i = min(at, len(out) - 1)
            out[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:  # overwrite bytes
            for i in range(at, min(len(out), at + rng.randint(1, 8))):
                out[i] = rng.randrange(256)
        elif kind == 2:  # truncate
            del out[at:]
        elif kind == 3:  # insert random bytes
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == 4:  # delete a span
            del out[at:at + rng.randint(1, 64)]
        elif kind == 5 and out:  # duplicate a span
            span = out[at:at + rng.randint(1, 256)]
            out[at:at] = span
        elif kind == 6:  # zero a span
            for i in range(at, min(len(out), at + rng.randint(1, 64))):
                out[i] = 0
    return bytes(out)


# --- valid seeds and what each reader may raise ------------------------------------------------

def _seed_pth(folder: str) -> bytes:
    """A small torch zip checkpoint (written without torch: the test suite's writer)."""
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))), "tests"))
    from test_weights_load import write_torch_zip

    path = os.path.join(folder, "seed.pth")
    write_torch_zip(path, {"conv1.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
                           "bn1.running_var": np.ones(2, np.float32)})
    return open(path, "rb").read()


def _seed_weights_h5(folder: str) -> bytes:
    import keras_resnet

    path = os.path.join(folder, "seed.weights.h5")
    keras_resnet.ResNet20().save_weights(path)
    return open(path, "rb").read()


def _small_resnet():
    import keras_resnet

    return keras_resnet.ResNet20(input_shape=(8, 8, 3), classes=3)


def _seed_legacy_h5(folder: str) -> bytes:
    """A legacy-format .h5 weights file, as keras.applications publishes (of a small model:
    theirs are 100 MB and more; the reader is the same)."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    path = os.path.join(folder, "seed.h5")
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, _small_resnet())
    return open(path, "rb").read()


def _seed_keras(folder: str) -> bytes:
    path = os.path.join(folder, "seed.keras")
    _small_resnet().save(path)
    return open(path, "rb").read()


def _seed_flagfile(folder: str) -> bytes:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return open(os.path.join(root, "training", "configs", "quickstart.flags"), "rb").read()


def _seed_tf_config(folder: str) -> bytes:
    return json.dumps({"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]},
                       "task": {"type": "worker", "index": 1}}).encode()


def _seed_image(folder: str) -> list[bytes]:
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (24, 24, 3)).astype(np.uint8)
    seeds = []
    for fmt, mode in (("JPEG", "RGB"), ("PNG", "RGBA"), ("GIF", "P"), ("BMP", "RGB"),
                      ("WEBP", "RGB"), ("JPEG", "CMYK"), ("PNG", "I;16")):
        image = Image.fromarray(pixels).convert(mode) if mode != "I;16" else Image.fromarray(
            pixels[..., 0].astype(np.uint16) * 257)
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        seeds.append(buffer.getvalue())
    return seeds


def _seed_tflite(folder: str) -> bytes:
    import tensorflow as tf

    import keras_resnet
    from keras_resnet.export import metadata

    model = keras_resnet.ResNet20(input_shape=(8, 8, 3), classes=3)
    flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    buffer = metadata.metadata_buffer(name="r", description="fuzz seed", version="0",
                                      input_size=(8, 8), mean=np.zeros(3), std=np.ones(3),
                                      class_count=3)
    return metadata.populate(flatbuffer, buffer, ["a", "b", "c"])


SEEDS = {"pth": _seed_pth, "weights_h5": _seed_weights_h5, "legacy_h5": _seed_legacy_h5,
         "keras": _seed_keras, "flagfile": _seed_flagfile, "tf_config": _seed_tf_config,
         "image": _seed_image, "tflite": _seed_tflite}
#: File name endings the readers (Keras' loaders) choose the format by.
SUFFIXES = {"weights_h5": ".weights.h5", "legacy_h5": ".h5", "keras": ".keras", "pth": ".pth",
            "tflite": ".tflite"}
#: The exception types each reader documents.
ALLOWED = {"pth": (ValueError, pickle.UnpicklingError), "weights_h5": (ValueError,),
           "legacy_h5": (ValueError,), "keras": (ValueError,),
           "flagfile": (ValueError,), "tf_config": (ValueError,), "image": (ValueError,),
           "tflite": (ValueError,)}


def _reader(name: str, folder: str):
    """A function of one file's bytes that runs the reader `name` on them."""
    path = os.path.join(folder, f"case-{name}{SUFFIXES.get(name, '')}")

    def write(data: bytes) -> str:
        with open(path, "wb") as f:
            f.write(data)
        return path

    if name == "pth":
        from keras_resnet.weights.torch_checkpoint import read_state_dict

        return lambda data: read_state_dict(write(data))
    if name == "weights_h5":
        import keras_resnet
        from keras_resnet.weights.keras_h5 import load_weights_file

        model = keras_resnet.ResNet20()
        return lambda data: load_weights_file(model, write(data))
    if name == "legacy_h5":
        from keras_resnet.weights.keras_h5 import load_legacy_h5

        model = _small_resnet()
        return lambda data: load_legacy_h5(model, write(data))
    if name == "keras":
        from keras_resnet.weights.keras_h5 import load_model_file

        return lambda data: load_model_file(write(data))
    if name == "flagfile":
        from keras_resnet.train.flags import config_from_flagfile

        return lambda data: config_from_flagfile(write(data))
    if name == "tf_config":
        from keras_resnet.train.distribute import parse_tf_config

        return lambda data: parse_tf_config(data.decode("utf-8", "replace"))
    if name == "image":
        from keras_resnet.data.numpy_loader import _decode, _problem

        def read_image(data: bytes):
            if problem := _problem(write(data)):  # what the trainer's check reports
                raise ValueError(problem)
            return _decode(path, 16)
        return read_image
    if name == "tflite":
        from keras_resnet.export import metadata
        from keras_resnet.export.predict import LiteRTClassifier

        def read_tflite(data: bytes):
            metadata.read(data)
            classifier = LiteRTClassifier(data)
            return classifier.scores(np.zeros((1, *classifier.image_size, 3), np.float32))
        return read_tflite
    raise ValueError(f"unknown reader {name!r}")


def _child(name: str, cases: list[bytes], queue) -> None:
    """Runs `cases` through the reader, reporting each outcome on `queue` before the next."""
    with tempfile.TemporaryDirectory() as folder:
        read = _reader(name, folder)
        for index, data in enumerate(cases):
            queue.put(("start", index, None))
            try:
                read(data)
                queue.put(("ok", index, None))
            except ALLOWED[name] as err:
                queue.put(("documented", index, type(err).__name__))
            except Exception as err:  # noqa: BLE001 (the finding)
                queue.put(("unexpected", index, f"{type(err).__name__}: {err}"[:300] + "\n"
                           + traceback.format_exc(limit=3)[-600:]))


def fuzz(name: str, cases: int, seed: int, case_seconds: float = 30.0) -> dict:
    """Runs `cases` mutated files through reader `name` in child processes; returns counts
    and the findings."""
    with tempfile.TemporaryDirectory() as folder:
        seeds = SEEDS[name](folder)
    seeds = seeds if isinstance(seeds, list) else [seeds]
    rng = random.Random(seed)
    inputs = [mutate(rng.choice(seeds), rng) for _ in range(cases)]
    counts: collections.Counter = collections.Counter()
    findings: list[str] = []
    context = multiprocessing.get_context("spawn")
    start_at = 0
    while start_at < len(inputs):
        queue = context.Queue()
        child = context.Process(target=_child, args=(name, inputs[start_at:], queue))
        child.start()
        current, started = None, time.monotonic()
        while True:
            try:
                kind, index, detail = queue.get(timeout=1.0)
            except Exception:  # noqa: BLE001 (queue.Empty): is the child alive, stuck?
                if not child.is_alive():
                    counts["crashes"] += 1
                    findings.append(f"crash (exit {child.exitcode}) on case "
                                    f"{start_at + (current or 0)}")
                    start_at += (current or 0) + 1
                    break
                if current is not None and time.monotonic() - started > case_seconds:
                    child.kill()
                    child.join()
                    counts["hangs"] += 1
                    findings.append(f"hang (> {case_seconds} s) on case {start_at + current}")
                    start_at += current + 1
                    break
                continue
            if kind == "start":
                current, started = index, time.monotonic()
                continue
            counts[kind] += 1
            if kind == "unexpected":
                findings.append(f"case {start_at + index}: {detail}")
            if start_at + index == len(inputs) - 1:
                start_at = len(inputs)
                break
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    return {"reader": name, "cases": cases, "ok": counts["ok"],
            "documented": counts["documented"], "unexpected": counts["unexpected"],
            "crashes": counts["crashes"], "hangs": counts["hangs"], "findings": findings}


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from keras_resnet.common.results import Report

    if unknown := [r for r in _READERS.value if r not in READERS]:
        raise app.UsageError(f"unknown readers {unknown}; choose from {', '.join(READERS)}")
    report = Report()
    report(f"{_CASES.value} mutated files per reader (seed {_SEED.value}); each reader in a "
           f"child process; a case over {_CASE_SECONDS.value:g} s counts as a hang")
    report("| reader | cases | read | documented error | unexpected error | crashes | hangs |")
    report("|---|---:|---:|---:|---:|---:|---:|")
    failed = False
    for name in _READERS.value:
        result = fuzz(name, _CASES.value, _SEED.value, _CASE_SECONDS.value)
        report(f"| {name} | {result['cases']} | {result['ok']} | {result['documented']} | "
               f"{result['unexpected']} | {result['crashes']} | {result['hangs']} |")
        for finding in result["findings"][:5]:
            print(f"  {name}: {finding}")
        failed |= bool(result["findings"])
    report.save(_OUTPUT.value)
    return 1 if failed else 0


if __name__ == "__main__":
    app.run(main)
