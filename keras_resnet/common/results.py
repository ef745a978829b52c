"""Where committed results live, and a report a command prints and writes to its output path.

Every committed figure or table sits under one tree, ``results/`` at the checkout's root:
``results/training/<run>/``, ``results/experiments/``, ``results/export/<run>/`` and
``results/bench/``. Each file there is written by the command the README names, through that
command's output flag (``--output``, ``--output_dir``), never copied by hand.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys

from keras_resnet.common.atomic_io import write_text


def machine() -> str:
    """This machine's CPU model and count, e.g. "Intel(R) Xeon(R) ..., 2 CPUs"."""
    name = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        name = names[0] if names else name
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} CPUs"


#: CPU features that decide which kernels LiteRT and TensorFlow use for int8 and float.
CPU_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8",
                "amx_bf16", "neon", "asimd", "asimddp")


def cpu_features() -> list[str]:
    """Those of `CPU_FEATURES` this CPU has (from /proc/cpuinfo; [] where it is not there)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = {word for line in f if line.startswith(("flags", "Features"))
                     for word in line.split(":", 1)[1].split()}
    except OSError:
        return []
    return [name for name in CPU_FEATURES if name in flags]


def load() -> str:
    """The 1-minute load average, e.g. "load 2.04": near the CPU count or above, other work
    shared the CPU with the measurement ("load unknown" where the OS does not say)."""
    try:
        return f"load {os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "load unknown"


def provenance() -> str:
    """The command that is running, on which machine and day, and how busy that machine was:
    the first line of a report."""
    command = shlex.join(["python", *sys.argv])
    return f"# {command}  ({machine()}, {datetime.date.today().isoformat()}, {load()} at start)"


class Report:
    """Lines a command prints as it goes and, given a path, also writes (atomically) at the
    end: what the terminal showed is what the committed file holds."""

    def __init__(self) -> None:
        self.lines: list[str] = [provenance()]

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def save(self, path: str | None) -> None:
        """Writes the lines to `path` (nothing when None) and says so."""
        if path:
            write_text(path, "\n".join(self.lines) + "\n")
            print(f"wrote {path}")
