"""Prints the markdown table of every registered model: depth, parameters, multiply-adds.

    python -m keras_resnet.summary                   # all models (the README's model table)
    python -m keras_resnet.summary 'resnet*'         # a glob over the registry
    python -m keras_resnet.summary resnet50 --layers # also Keras' layer-by-layer summary
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import keras

from keras_resnet.flops import count_depth, count_flops, count_trainable_params
from keras_resnet.models import get_model
from keras_resnet.registry import get_entry, list_models


def _human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def _published(name: str) -> str:
    from keras_resnet.weights.table import PRETRAINED

    rows = [row for (model, _, top), row in sorted(PRETRAINED.items()) if model == name and top]
    return "; ".join(f"`{row.tag}`: {row.accuracy}" for row in rows) or "—"


def summary_rows(pattern: str = "*", layers: bool = False,
                 build: Callable[[str], keras.Model] = get_model) -> list[dict]:
    """One dict per registered model matching `pattern`, built by `build(name)` at its default
    input size; `layers` also prints each model's Keras summary."""
    rows = []
    for name in list_models(pattern):
        entry = get_entry(name)
        model = build(name)
        if layers:
            model.summary()
        size = entry.spec.default_input_size
        rows.append({
            "model": name, "description": entry.description, "depth": count_depth(model),
            "input": f"{size}x{size}", "params": count_trainable_params(model),
            "macs": count_flops(model), "weights": _published(name),
        })
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The rows as a GitHub markdown table."""
    lines = ["| model | kind | depth | input | params | multiply-adds | pretrained weights |",
             "|---|---|---:|---|---:|---:|---|"]
    lines += [f"| `{r['model']}` | {r['description']} | {r['depth']} | {r['input']} | "
              f"{r['params']:,} ({_human(r['params'])}) | {_human(r['macs'])} | "
              f"{r['weights']} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keras_resnet.summary",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("pattern", nargs="?", default="*",
                        help="glob over the registered names (default: all)")
    parser.add_argument("--layers", action="store_true",
                        help="print Keras' layer-by-layer summary of each model too")
    args = parser.parse_args(argv)
    if not list_models(args.pattern):
        parser.error(f"no registered model matches {args.pattern!r}; "
                     f"choose from: {', '.join(list_models())}")
    rows = summary_rows(args.pattern, layers=args.layers)
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
