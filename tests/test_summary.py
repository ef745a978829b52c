import pathlib
import re
import sys

import pytest

from keras_resnet import summary

pytestmark = pytest.mark.backend_independent  # counts from layer shapes: same on any backend

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_rows_and_table_for_a_glob(capsys):
    assert summary.main(["resnet2*"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| model | kind | depth |")
    assert out[2] == ("| `resnet20` | ResNet, CIFAR, basic blocks | 20 | 32x32 | "
                      "269,722 (269.72K) | 40.55M | `cifar10`: CIFAR-10 val 87.54% (5k held "
                      "out; ours) |")
    assert len(out) == 3


def test_unknown_glob_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as err:
        summary.main(["vgg*"])
    assert err.value.code == 2
    assert "no registered model matches 'vgg*'" in capsys.readouterr().err


@pytest.mark.slow
def test_readme_model_table_is_the_commands_output(default_model):
    text = README.read_text()
    found = re.search(r"<!-- model-table:start -->\n(.*?)\n<!-- model-table:end -->", text, re.S)
    assert found, "README lacks the model-table markers"
    assert found.group(1) == summary.markdown_table(summary.summary_rows(build=default_model)), (
        "README's model table is stale: paste the output of `python -m keras_resnet.summary`")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
