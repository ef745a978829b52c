"""keras_resnet/export/config.py: the exporter's one config refuses an ambiguous source or an
empty variant list before anything runs, and every shipped flagfile builds one."""

import os
import sys

import pytest
from absl import flags

from keras_resnet.common import config_flags
from keras_resnet.export.config import ExportConfig

pytestmark = pytest.mark.tf_backend  # the converter's variant names come with TensorFlow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_exactly_one_source():
    with pytest.raises(ValueError, match="exactly one of --model_dir, --model_file, --model"):
        ExportConfig(output_dir="o")
    with pytest.raises(ValueError, match=r"got --model_dir, --model\)"):
        ExportConfig(output_dir="o", model_dir="r", model="resnet20")
    assert ExportConfig(output_dir="o", model="resnet20").model == "resnet20"


def test_variants_are_deduplicated_and_checked():
    config = ExportConfig(output_dir="o", model="resnet20", quantize=("int8", "float32", "int8"))
    assert config.quantize == ("int8", "float32")
    with pytest.raises(ValueError, match="--quantize is empty"):
        ExportConfig(output_dir="o", model="resnet20", quantize=())
    with pytest.raises(ValueError, match="thread counts must be >= 1"):
        ExportConfig(output_dir="o", model="resnet20", latency_threads=(0,))


def test_flags_parse_into_the_config():
    values = flags.FlagValues()
    config_flags.define_flags(ExportConfig, values)
    values(["export", "--model=resnet20", "--output_dir=o", "--quantize=float32,int8",
            "--latency_threads=1,4", "--report_dir=r"])
    config = config_flags.config_from_flags(ExportConfig, values)
    assert (config.quantize, config.latency_threads, config.report_dir) == (
        ("float32", "int8"), (1, 4), "r")
    values = flags.FlagValues()
    config_flags.define_flags(ExportConfig, values)
    with pytest.raises(flags.IllegalFlagValueError, match="--quantize takes a comma-separated"):
        values(["export", "--model=resnet20", "--output_dir=o", "--quantize=int4"])
        config_flags.config_from_flags(ExportConfig, values)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
