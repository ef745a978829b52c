"""An app's one typed config and its absl flags, made from each other.

An app declares a frozen dataclass whose fields are made with `field` (default, help, allowed
values, bounds); `define_flags` makes one flag per field, `config_from_flags` reads the parsed
flags back into the dataclass, and `flags_text` writes a config as a flagfile that gives the
same config back. Field names are flag names, so nothing is copied or renamed in between.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from absl import flags


def field(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    choices: tuple | None = None,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
) -> Any:
    """A config field and what its flag needs: help text, allowed values (for a tuple field:
    of each item), bounds."""
    metadata = {"help": help, "choices": choices, "lower_bound": lower_bound,
                "upper_bound": upper_bound}
    return dataclasses.field(default=default, metadata=metadata)


def _base_type(annotation) -> type:
    """`int` for ``int | None``, `tuple` for ``tuple[float, ...]``."""
    if isinstance(annotation, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) or annotation


def _item_type(annotation) -> type:
    """`float` for ``tuple[float, ...]``."""
    return typing.get_args(annotation)[0]


def define_flags(config_class: type, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines one flag per field of `config_class` in `flag_values`: its default, help,
    allowed values and bounds come from the field."""
    hints = typing.get_type_hints(config_class)
    for item in dataclasses.fields(config_class):
        meta, name = item.metadata, item.name
        default = None if item.default is dataclasses.MISSING else item.default
        kind = _base_type(hints[name])
        bounds = {k: meta[k] for k in ("lower_bound", "upper_bound") if meta[k] is not None}
        if kind is tuple:
            flags.DEFINE_list(name, None if default is None else [str(v) for v in default],
                              meta["help"], flag_values=flag_values)
            if meta["choices"]:
                _check_items(name, meta["choices"], flag_values)
        elif meta["choices"]:
            flags.DEFINE_enum(name, default, list(meta["choices"]), meta["help"],
                              flag_values=flag_values)
        elif kind is bool:
            flags.DEFINE_bool(name, default, meta["help"], flag_values=flag_values)
        elif kind is int:
            flags.DEFINE_integer(name, default, meta["help"], flag_values=flag_values, **bounds)
        elif kind is float:
            flags.DEFINE_float(name, default, meta["help"], flag_values=flag_values, **bounds)
        else:
            flags.DEFINE_string(name, default, meta["help"], flag_values=flag_values)


def _check_items(name: str, choices: tuple, flag_values: flags.FlagValues) -> None:
    """A list flag whose items must be among `choices`, refused when parsed."""
    flags.register_validator(
        name, lambda value: value is None or all(v in choices for v in value),
        f"--{name} takes a comma-separated list of {', '.join(choices)}",
        flag_values=flag_values)


def show_in_short_help(names, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Lists the flags `names` under ``--helpshort`` of the program running, whether it was
    started as a script, a module or a console script (absl lists the key flags of the main
    module, named by ``sys.argv[0]``)."""
    import sys

    for name in names:
        flag_values.register_key_flag_for_module(sys.argv[0], flag_values[name])


def _tuple_value(name: str, value: list[str], item_type: type, choices) -> tuple:
    """A list flag's strings as a typed tuple; IllegalFlagValueError saying what to give."""
    if item_type is str:
        bad = [v for v in value if choices and v not in choices]
        if bad:
            raise flags.IllegalFlagValueError(
                f"--{name}={','.join(value)}: {', '.join(bad)} not among {', '.join(choices)}.")
        return tuple(value)
    try:
        return tuple(item_type(v) for v in value)
    except ValueError:
        what = "whole numbers" if item_type is int else "numbers"
        raise flags.IllegalFlagValueError(
            f"--{name}={','.join(value)}: give {what} separated by commas.") from None


def config_from_flags(config_class: type, flag_values: flags.FlagValues = flags.FLAGS,
                      **overrides):
    """The `config_class` instance the parsed `flag_values` describe (`overrides` replace
    fields)."""
    hints = typing.get_type_hints(config_class)
    values = {}
    for item in dataclasses.fields(config_class):
        value = flag_values[item.name].value
        if _base_type(hints[item.name]) is tuple and value is not None:
            value = _tuple_value(item.name, value, _item_type(hints[item.name]),
                                 item.metadata["choices"])
        values[item.name] = value
    return config_class(**{**values, **overrides})


def config_from_flagfile(config_class: type, path: str, app_name: str):
    """The `config_class` instance a flagfile gives; ValueError naming the file if it holds a
    flag `app_name` does not know or a value it refuses."""
    values = flags.FlagValues()
    define_flags(config_class, values)
    try:
        values([app_name, f"--flagfile={path}"])
        return config_from_flags(config_class, values)
    except flags.Error as err:
        raise ValueError(f"{path} is not a flagfile of the {app_name}: {err}") from None


def flags_text(config) -> str:
    """`config` as a flagfile: one ``--name=value`` line per set field, booleans as
    ``--name``/``--noname``; ``--flagfile=`` of it gives the same config back."""
    lines = []
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if value is None:
            continue
        if isinstance(value, bool):
            lines.append(f"--{'' if value else 'no'}{item.name}")
        elif isinstance(value, tuple):
            lines.append(f"--{item.name}={','.join(_number(v) for v in value)}")
        else:
            lines.append(f"--{item.name}={value}")
    return "\n".join(lines) + "\n"


def _number(value) -> str:
    """``32000`` for 32000.0 (as the flagfiles write boundaries), else the value."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
