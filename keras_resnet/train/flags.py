"""The trainer's flags: `TrainConfig`'s fields as absl flags, and the config read back from
them or from a run's flags.txt (the generic part is `keras_resnet.common.config_flags`)."""

from __future__ import annotations

from absl import flags

from keras_resnet.common import config_flags
from keras_resnet.train.config import TrainConfig

#: Fields a run cannot start without.
REQUIRED = ("model", "dataset", "model_dir")


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines one flag per `TrainConfig` field in `flag_values`."""
    config_flags.define_flags(TrainConfig, flag_values)


def config_from_flags(flag_values: flags.FlagValues = flags.FLAGS, **overrides) -> TrainConfig:
    """The `TrainConfig` the parsed `flag_values` describe (`overrides` replace fields)."""
    return config_flags.config_from_flags(TrainConfig, flag_values, **overrides)


def config_from_flagfile(path: str) -> TrainConfig:
    """The `TrainConfig` a flagfile (a run's flags.txt) gives; ValueError naming the file if it
    holds a flag the trainer does not know or a value it refuses."""
    return config_flags.config_from_flagfile(TrainConfig, path, "trainer")


def flags_text(config: TrainConfig) -> str:
    """`config` as a run's flags.txt; ``--flagfile=`` of it gives the same config back."""
    return config_flags.flags_text(config)
