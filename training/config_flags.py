"""The trainer's flags, made from `TrainConfig`'s fields, and the config read back from them:
the one place where flags become a config (and a config becomes a run's flags.txt)."""

from __future__ import annotations

import dataclasses
import types
import typing

from absl import flags

from training.config import TrainConfig

#: Fields a run cannot start without.
REQUIRED = ("model", "dataset", "model_dir")


def _base_type(annotation) -> type:
    """`int` for ``int | None``, `tuple` for ``tuple[float, ...]``."""
    if isinstance(annotation, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) or annotation


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines one flag per `TrainConfig` field in `flag_values`: its default, help, allowed
    values and bounds come from the field."""
    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        meta, name = field.metadata, field.name
        default = None if field.default is dataclasses.MISSING else field.default
        kind = _base_type(hints[name])
        bounds = {k: meta[k] for k in ("lower_bound", "upper_bound") if meta[k] is not None}
        if meta["choices"]:
            flags.DEFINE_enum(name, default, list(meta["choices"]), meta["help"],
                              flag_values=flag_values)
        elif kind is bool:
            flags.DEFINE_bool(name, default, meta["help"], flag_values=flag_values)
        elif kind is int:
            flags.DEFINE_integer(name, default, meta["help"], flag_values=flag_values, **bounds)
        elif kind is float:
            flags.DEFINE_float(name, default, meta["help"], flag_values=flag_values, **bounds)
        elif kind is tuple:
            flags.DEFINE_list(name, [str(v) for v in default], meta["help"],
                              flag_values=flag_values)
        else:
            flags.DEFINE_string(name, default, meta["help"], flag_values=flag_values)


def config_from_flags(flag_values: flags.FlagValues = flags.FLAGS, **overrides) -> TrainConfig:
    """The `TrainConfig` the parsed `flag_values` describe (`overrides` replace fields)."""
    hints = typing.get_type_hints(TrainConfig)
    values = {}
    for field in dataclasses.fields(TrainConfig):
        value = flag_values[field.name].value
        if _base_type(hints[field.name]) is tuple:
            try:
                value = tuple(float(v) for v in value)
            except ValueError:
                raise flags.IllegalFlagValueError(
                    f"--{field.name}={','.join(value)}: give numbers separated by commas."
                ) from None
        values[field.name] = value
    return TrainConfig(**{**values, **overrides})


def config_from_flagfile(path: str) -> TrainConfig:
    """The `TrainConfig` a flagfile (a run's flags.txt) gives; ValueError naming the file if it
    holds a flag the trainer does not know or a value it refuses."""
    values = flags.FlagValues()
    define_flags(values)
    try:
        values(["flags.txt", f"--flagfile={path}"])
        return config_from_flags(values)
    except flags.Error as err:
        raise ValueError(f"{path} is not a flags.txt of this trainer: {err}") from None


def flags_text(config: TrainConfig) -> str:
    """`config` as a flagfile (a run's flags.txt): one ``--name=value`` line per set field,
    booleans as ``--name``/``--noname``; ``--flagfile=`` of it gives the same config back."""
    lines = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value is None:
            continue
        if isinstance(value, bool):
            lines.append(f"--{'' if value else 'no'}{field.name}")
        elif isinstance(value, tuple):
            lines.append(f"--{field.name}={','.join(_number(v) for v in value)}")
        else:
            lines.append(f"--{field.name}={value}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    """``32000`` for 32000.0 (as the flagfiles write boundaries), else the float."""
    return str(int(value)) if float(value).is_integer() else str(value)
