"""The entry points ask TensorFlow for its oneDNN CPU kernels before it loads."""

import os
import subprocess
import sys

import pytest

from training import cpu_kernels

pytestmark = pytest.mark.tf_backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Runs an entry point as a user would (its flags parse, --helpshort exits before any work),
# then says whether the TensorFlow it loaded runs oneDNN kernels.
PROBE = """
import runpy, sys
sys.argv = [sys.argv[1], "--helpshort"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
from training.cpu_kernels import onednn_active
print("onednn", onednn_active())
"""


def onednn_after(entry_point: str, **env) -> str:
    environ = {k: v for k, v in os.environ.items() if k != cpu_kernels.SWITCH}
    result = subprocess.run([sys.executable, "-c", PROBE, entry_point], capture_output=True,
                            text=True, timeout=120, cwd=ROOT,
                            env={**environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_prefer_onednn_keeps_a_value_already_set(monkeypatch):
    monkeypatch.delenv(cpu_kernels.SWITCH, raising=False)
    cpu_kernels.prefer_onednn()
    assert os.environ[cpu_kernels.SWITCH] == "1"
    monkeypatch.setenv(cpu_kernels.SWITCH, "0")
    cpu_kernels.prefer_onednn()
    assert os.environ[cpu_kernels.SWITCH] == "0"


@pytest.mark.parametrize("entry_point", ["training/train.py", "export/export.py"])
def test_entry_points_load_tensorflow_with_onednn(entry_point):
    assert onednn_after(entry_point) == "onednn True"


def test_environment_can_still_turn_onednn_off():
    assert onednn_after("training/train.py", TF_ENABLE_ONEDNN_OPTS="0") == "onednn False"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
