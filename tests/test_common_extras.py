"""keras_resnet/common/extras.py: a missing optional dependency is named with its install
command."""

import configparser
import os
import sys

import pytest

from keras_resnet.common import extras

pytestmark = pytest.mark.backend_independent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_an_installed_group_passes():
    extras.require("train", "the trainer")  # Pillow comes with the test install


def test_a_missing_module_is_named_with_the_extra_that_brings_it(monkeypatch):
    monkeypatch.setitem(extras.EXTRAS, "qat", ("tf_keras", "surely_not_installed_module"))
    assert extras.missing("qat") == ["surely_not_installed_module"]
    with pytest.raises(ImportError, match=r"--quantize=qat needs surely_not_installed_module.*"
                                          r"pip install 'keras-resnet\[export\]'"):
        extras.require("qat", "--quantize=qat")


def test_every_group_names_an_extra_of_setup_cfg():
    config = configparser.ConfigParser(interpolation=None)
    config.read(os.path.join(ROOT, "setup.cfg"))
    declared = set(config["options.extras_require"])
    assert set(extras.INSTALLED_BY) == set(extras.EXTRAS)
    assert set(extras.INSTALLED_BY.values()) <= declared


def test_only_keras_resnet_is_installed():
    """setup.cfg installs keras_resnet and its subpackages, not the apps' folders."""
    from setuptools.config.setupcfg import read_configuration

    packages = read_configuration(os.path.join(ROOT, "setup.cfg"))["options"]["packages"]
    assert packages and all(p.split(".")[0] == "keras_resnet" for p in packages)
    assert {"keras_resnet.train", "keras_resnet.export", "keras_resnet.common"} <= set(packages)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
