"""The entry points get TensorFlow's oneDNN CPU kernels unless the environment says otherwise:
TensorFlow reads the switch when it loads, so an entry point that finds it loaded without the
switch starts itself again with it."""

import os
import subprocess
import sys

import pytest

from keras_resnet.common import cpu_kernels

pytestmark = pytest.mark.tf_backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A module that loads TensorFlow first, as importing keras_resnet does, then asks for oneDNN
# the way the entry points do; each start appends a line to the log it is given.
PROBE = """
import os, sys
with open(os.environ["PROBE_LOG"], "a") as f:
    f.write(os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset") + "\\n")
import tensorflow
from keras_resnet.common.cpu_kernels import onednn_active, relaunch_with_onednn
relaunch_with_onednn("probe")
print("onednn", onednn_active(), sys.argv[1:])
"""


def _environ(**env) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != cpu_kernels.SWITCH}
    return {**environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}


def probe(tmp_path, **env) -> tuple[str, list[str]]:
    (tmp_path / "probe.py").write_text(PROBE)
    log = tmp_path / "starts.log"
    path = os.pathsep.join([str(tmp_path), ROOT, os.environ.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, "-m", "probe", "--x=1", "y"], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path,
                            env=_environ(PROBE_LOG=str(log), PYTHONPATH=path, **env))
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1], log.read_text().split()


def test_prefer_onednn_keeps_a_value_already_set(monkeypatch):
    monkeypatch.delenv(cpu_kernels.SWITCH, raising=False)
    cpu_kernels.prefer_onednn()
    assert os.environ[cpu_kernels.SWITCH] == "1"
    monkeypatch.setenv(cpu_kernels.SWITCH, "0")
    cpu_kernels.prefer_onednn()
    assert os.environ[cpu_kernels.SWITCH] == "0"


def test_a_process_that_loaded_tensorflow_first_starts_again_with_onednn(tmp_path):
    line, starts = probe(tmp_path)
    assert starts == ["unset", "1"]  # started twice, the second time with the switch
    assert line == "onednn True ['--x=1', 'y']"  # with its arguments


def test_environment_can_still_turn_onednn_off(tmp_path):
    line, starts = probe(tmp_path, TF_ENABLE_ONEDNN_OPTS="0")
    assert starts == ["0"] and line.startswith("onednn False")


# The checkout's scripts run under a wrapper that reports, after absl's --helpshort (which
# exits with 1 before any work), whether this process runs oneDNN kernels: had the script
# started itself again, the wrapper would not be there to print.
WRAPPER = """
import runpy, sys
sys.argv = [sys.argv[1], "--helpshort"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    assert stop.code == 1, stop.code
from keras_resnet.common.cpu_kernels import onednn_active
print("onednn", onednn_active())
"""


@pytest.mark.parametrize("entry_point,flag", [("training/train.py", "--batch_size"),
                                              ("export/export.py", "--quantize")])
@pytest.mark.parametrize("switch,active", [(None, True), ("0", False)])
def test_the_scripts_ask_for_onednn_before_tensorflow_loads_and_start_once(
        entry_point, flag, switch, active):
    """training/train.py and export/export.py set the switch before they import keras_resnet
    (which loads TensorFlow), so they run on as themselves with oneDNN; a value already in
    the environment is kept."""
    env = _environ(**({cpu_kernels.SWITCH: switch} if switch else {}))
    result = subprocess.run([sys.executable, "-c", WRAPPER, entry_point], capture_output=True,
                            text=True, timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{entry_point}:" in result.stdout and flag in result.stdout, result.stdout[-2000:]
    assert result.stdout.strip().splitlines()[-1] == f"onednn {active}"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
