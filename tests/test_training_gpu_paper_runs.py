"""training/gpu_paper_runs.sh refuses what it cannot run, with a message, before any training
(the runs themselves are for the GPU machine; tests/test_train_run_jax.py covers the JAX
trainer)."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.backend_independent

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "training",
                      "gpu_paper_runs.sh")


def run(args, cwd):
    return subprocess.run(["bash", SCRIPT, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_usage_without_a_command(tmp_path):
    result = run([], tmp_path)
    assert result.returncode == 2 and "usage:" in result.stderr


def test_run_needs_the_prepared_data(tmp_path):
    result = run(["run", "resnet20"], tmp_path)
    assert result.returncode == 2 and "prepare" in result.stderr


def test_run_refuses_an_unknown_model_before_training(tmp_path):
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "cifar10_train.zip").write_bytes(b"")
    result = run(["run", "resnet21"], tmp_path)
    assert result.returncode == 2 and "cifar10_resnet21.flags" in result.stderr


def test_prepare_needs_the_shared_folder(tmp_path):
    result = run(["prepare"], tmp_path)
    assert result.returncode == 2 and "../shared/data/cifar10/train" in result.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
