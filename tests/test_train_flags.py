"""keras_resnet/train/flags.py: the trainer's flags are TrainConfig's fields, and back."""

import dataclasses
import glob
import os
import sys

import pytest
from absl import flags

from keras_resnet.train import flags as config_flags
from keras_resnet.train.config import TrainConfig, run_differences

pytestmark = pytest.mark.backend_independent  # flags and dataclasses: plain Python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(*args: str) -> TrainConfig:
    values = flags.FlagValues()
    config_flags.define_flags(values)
    values(["train.py", *args])
    return config_flags.config_from_flags(values)


REQUIRED = ("--model=resnet20", "--dataset=folder:x", "--model_dir=runs/x")


def test_each_field_is_a_flag_with_the_fields_default():
    values = flags.FlagValues()
    config_flags.define_flags(values)
    for field in dataclasses.fields(TrainConfig):
        default = None if field.default is dataclasses.MISSING else field.default
        flag = values[field.name]
        assert (tuple(float(v) for v in flag.default) if isinstance(default, tuple)
                else flag.default) == default, field.name
        assert field.metadata["help"] in flag.help  # enums prefix their choices
    assert parse(*REQUIRED) == TrainConfig(model="resnet20", dataset="folder:x",
                                           model_dir="runs/x")


def test_bounds_and_choices_come_from_the_fields():
    with pytest.raises(flags.IllegalFlagValueError, match="batch_size"):
        parse(*REQUIRED, "--batch_size=0")
    with pytest.raises(flags.IllegalFlagValueError, match="lr_schedule"):
        parse(*REQUIRED, "--lr_schedule=exponential")
    with pytest.raises(flags.IllegalFlagValueError, match="give numbers"):
        parse(*REQUIRED, "--lr_boundaries=a,b")


def test_flags_text_gives_the_same_config_back(tmp_path):
    config = parse(*REQUIRED, "--batch_size=64", "--nesterov", "--nocache",
                   "--lr_boundaries=32000,48000.5", "--seed=3", "--weight_decay=5e-4")
    path = tmp_path / "flags.txt"
    path.write_text(config_flags.flags_text(config))
    assert "--lr_boundaries=32000,48000.5\n" in path.read_text()
    assert parse(f"--flagfile={path}") == config


def test_a_resume_may_change_how_the_run_logs_not_what_it_learns():
    run = parse(*REQUIRED, "--seed=0")
    same = dataclasses.replace(run, verbose=2, checkpoint_every_steps=100, model_dir="elsewhere",
                               distribution="one_device", cache=False)
    assert run_differences(run, same) == []
    other = dataclasses.replace(run, lr=0.2, seed=1, label_smoothing=0.1, flip="alternating",
                                ema_decay=0.99)
    assert run_differences(run, other) == ["flip", "lr", "label_smoothing", "ema_decay", "seed"]


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(
    ROOT, "results", "training", "*", "flags.txt"))), ids=lambda p: p.split(os.sep)[-2])
def test_the_kept_runs_flags_still_load(path):
    """Run folders written before the config had one source keep loading."""
    config = parse(f"--flagfile={path}")
    assert config.model and config.batch_size >= 1


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
