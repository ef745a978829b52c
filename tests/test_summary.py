import os
import pathlib
import re
import subprocess
import sys

import pytest

from keras_resnet import summary

pytestmark = pytest.mark.backend_independent  # counts from layer shapes: same on any backend

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _command(*args: str) -> subprocess.CompletedProcess:
    """The installed console script (pip install -e . puts it on PATH beside python)."""
    script = os.path.join(os.path.dirname(sys.executable), "keras-resnet-summary")
    if not os.path.exists(script):
        pytest.skip("keras-resnet-summary is not installed (pip install -e .)")
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=300)


def test_rows_and_table_for_a_glob():
    done = _command("resnet2*")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.splitlines()
    assert out[0].startswith("| model | kind | depth |")
    assert out[2] == ("| `resnet20` | ResNet, CIFAR, basic blocks | 20 | 32x32 | "
                      "269,722 (269.72K) | 40.55M | `cifar10`: CIFAR-10 val 91.00% (5k held "
                      "out; ours) |")
    assert len(out) == 3


def test_unknown_glob_is_a_usage_error():
    from absl import app

    with pytest.raises(app.UsageError, match="no registered model matches 'vgg\\*'"):
        summary.main(["keras-resnet-summary", "vgg*"])
    done = _command("vgg*")
    assert done.returncode != 0 and "no registered model matches 'vgg*'" in done.stderr


@pytest.mark.slow
def test_readme_model_table_is_the_commands_output(default_model):
    text = README.read_text()
    found = re.search(r"<!-- model-table:start -->\n(.*?)\n<!-- model-table:end -->", text, re.S)
    assert found, "README lacks the model-table markers"
    assert found.group(1) == summary.markdown_table(summary.summary_rows(build=default_model)), (
        "README's model table is stale: paste the output of `python -m keras_resnet.summary`")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
