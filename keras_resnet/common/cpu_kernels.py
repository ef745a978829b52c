"""TensorFlow's oneDNN CPU kernels for the entry points, whatever the CPU.

TensorFlow turns them on by default (Linux) only on CPUs with AVX-512 VNNI or BF16, AVX-VNNI
or AMX; on others (AVX2-only) it runs its Eigen kernels, which train ResNets markedly slower
(`bench/cpu_train_step.py` measures both). The switch is read once, when TensorFlow loads, and
importing keras_resnet loads it; so an entry point that finds TensorFlow loaded without the
switch set starts itself again with it (`relaunch_with_onednn`). The checkout's scripts
(training/train.py, export/export.py) set it before that import and so start once.
"""

from __future__ import annotations

import os
import sys

#: TensorFlow's switch; a value already in the environment (0 turns oneDNN off) is kept.
SWITCH = "TF_ENABLE_ONEDNN_OPTS"


def prefer_onednn() -> bool:
    """Asks for oneDNN unless the environment already decides. Returns whether the request
    can still take effect (TensorFlow not loaded yet, or the environment already decided)."""
    if SWITCH in os.environ:
        return True
    os.environ[SWITCH] = "1"
    return "tensorflow" not in sys.modules


def relaunch_with_onednn(module: str) -> None:
    """For an entry point (``python -m module`` runs it): when TensorFlow is already loaded and
    the environment did not decide the switch, replaces this process by a new one of `module`
    with the same arguments and oneDNN requested. Returns when nothing needs doing."""
    if prefer_onednn():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]])


def onednn_active() -> bool:
    """Whether the TensorFlow of this process runs oneDNN kernels (imports TensorFlow)."""
    from tensorflow.python.util import _pywrap_util_port  # no public API says it

    return bool(_pywrap_util_port.IsMklEnabled())
