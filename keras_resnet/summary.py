"""Prints the markdown table of every registered model: depth, parameters, multiply-adds.

    python -m keras_resnet.summary                 # all models (the README's model table)
    python -m keras_resnet.summary 'resnet*'       # a glob over the registry
"""

from __future__ import annotations

import sys

import keras

from keras_resnet.flops import count_depth, count_flops, count_trainable_params
from keras_resnet.registry import get_entry, get_model, list_models


def _human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def summary_rows(pattern: str = "*") -> list[dict]:
    """One dict per registered model matching `pattern`, built at its default input size."""
    rows = []
    for name in list_models(pattern):
        entry = get_entry(name)
        model = get_model(name)
        size = entry.spec.default_input_size
        rows.append({
            "model": name, "description": entry.description, "depth": count_depth(model),
            "input": f"{size}x{size}", "params": count_trainable_params(model),
            "macs": count_flops(model),
        })
        keras.backend.clear_session()
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The rows as a GitHub markdown table."""
    lines = ["| model | kind | depth | input | params | multiply-adds |",
             "|---|---|---:|---|---:|---:|"]
    lines += [f"| `{r['model']}` | {r['description']} | {r['depth']} | {r['input']} | "
              f"{r['params']:,} ({_human(r['params'])}) | {_human(r['macs'])} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    pattern = argv[1] if len(argv) > 1 else "*"
    rows = summary_rows(pattern)
    if not rows:
        print(f"no registered model matches {pattern!r}; see keras_resnet.list_models()",
              file=sys.stderr)
        return 2
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
