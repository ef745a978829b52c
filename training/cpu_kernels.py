"""TensorFlow's oneDNN CPU kernels for the entry points, whatever the CPU.

TensorFlow turns them on by default (Linux) only on CPUs with AVX-512 VNNI or BF16, AVX-VNNI
or AMX; on others (AVX2-only, e.g. this project's AMD EPYC) it runs its Eigen kernels, and the
trainer's step takes 1.5x as long (ResNet-20, batch 64: 408 against 273 ms). The switch is
read when TensorFlow loads, so entry points call `prefer_onednn` before importing it.
"""

from __future__ import annotations

import os

#: TensorFlow's switch; a value already in the environment (0 turns oneDNN off) is kept.
SWITCH = "TF_ENABLE_ONEDNN_OPTS"


def prefer_onednn() -> None:
    """Ask for oneDNN unless the environment already decides; no effect once TF is loaded."""
    os.environ.setdefault(SWITCH, "1")


def onednn_active() -> bool:
    """Whether the TensorFlow of this process runs oneDNN kernels (imports TensorFlow)."""
    from tensorflow.python.util import _pywrap_util_port  # no public API says it

    return bool(_pywrap_util_port.IsMklEnabled())
