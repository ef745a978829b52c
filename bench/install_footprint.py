"""What each install brings: the core package against each extra of setup.cfg, as the
distributions installed here that it pulls in (its requirements, transitively) and their size
on disk, side by side:

    python bench/install_footprint.py --output=results/bench/install_footprint.txt

Sizes are those of this environment's installed files (RECORD), so they are what a
``pip install`` of the same versions on this platform puts on disk.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re

from absl import app, flags
from packaging.requirements import Requirement
from setuptools.config.setupcfg import read_configuration

from keras_resnet.common.results import Report

_OUTPUT = flags.DEFINE_string("output", None, "Also write the table to this file.")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions `requirements` pull in, transitively (extras followed,
    environment markers evaluated for this machine)."""
    found: dict[str, metadata.Distribution] = {}
    followed: set[tuple[str, str]] = set()  # (distribution, extra) whose requirements are in
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": extra}):
            continue
        key = _key(req.name)
        try:
            found[key] = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{req.name} is not installed here: install the extras first "
                             "(pip install -e '.[dev]')") from None
        for sub in ("", *req.extras):
            if (key, sub) not in followed:
                followed.add((key, sub))
                todo += [(Requirement(r), sub) for r in found[key].requires or []]
    return found


def size(dist: metadata.Distribution) -> int:
    return sum(f.size or 0 for f in dist.files or [])


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    options = read_configuration(os.path.join(ROOT, "setup.cfg"))["options"]
    core = closure(options["install_requires"])
    core_mb = sum(map(size, core.values())) / 1e6
    report = Report()
    report("| install | distributions | on disk | added to the core |")
    report("|---|---:|---:|---|")
    report(f"| core (`pip install keras-resnet`) | {len(core)} | {core_mb:,.0f} MB | — |")
    for extra, requirements in options["extras_require"].items():
        full = closure(options["install_requires"] + requirements)
        added = sorted(set(full) - set(core))
        added_mb = sum(size(full[k]) for k in added) / 1e6
        names = ", ".join(added) if len(added) <= 12 else ", ".join(added[:12]) + ", ..."
        report(f"| `[{extra}]` | {len(full)} | {core_mb + added_mb:,.0f} MB | "
               f"+{len(added)} ({added_mb:,.0f} MB): {names} |")
    extras = options["extras_require"]
    both = closure(options["install_requires"] + extras["train"] + extras["export"])
    report(f"| core + `[train]` + `[export]` (the core before the extras) | {len(both)} | "
           f"{sum(map(size, both.values())) / 1e6:,.0f} MB | +{len(set(both) - set(core))} |")
    report.save(_OUTPUT.value)
    return 0


if __name__ == "__main__":
    app.run(main)
