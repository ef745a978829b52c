"""Reading absl flagfiles (a run's flags.txt, the shipped configs) as plain data, for code that
needs a run's settings without defining its flags."""

from __future__ import annotations

import os


def parse_flags(text: str) -> dict[str, str]:
    """``--name=value`` lines of a flagfile as {name: value}; comments, blank lines and
    valueless switches (``--cache``, ``--nojit_compile``) are left out; a later line wins."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("--") and "=" in line:
            name, value = line[2:].split("=", 1)
            values[name] = value
    return values


def read_flagfile(path: str) -> dict[str, str]:
    """`parse_flags` of the file at `path`; {} when there is none."""
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            return parse_flags(f.read())
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a text flagfile: {err}") from None
