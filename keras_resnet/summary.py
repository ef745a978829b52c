"""Prints the markdown table of every registered model: depth, parameters, multiply-adds.

    keras-resnet-summary                   # all models (the README's model table)
    keras-resnet-summary 'resnet*'         # a glob over the registry
    keras-resnet-summary resnet50 --layers # also Keras' layer-by-layer summary

(``python -m keras_resnet.summary`` is the same command.)
"""

from __future__ import annotations

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
    """The model's tags with their accuracy, the best ImageNet one marked."""
    from keras_resnet.weights.table import PRETRAINED, best_tag

    rows = [row for (model, _, top), row in sorted(PRETRAINED.items()) if model == name and top]
    best = best_tag(name) if len({row.tag for row in rows}) > 1 else None
    return "; ".join(f"`{row.tag}`: {row.accuracy}" + (" (best)" if row.tag == best else "")
                     for row in rows) or "—"


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


def main(argv: list[str]) -> int:
    """absl main: ``argv[1]`` (optional) is the glob; ``--layers`` prints Keras' summaries."""
    from absl import app, flags

    if len(argv) > 2:
        raise app.UsageError(f"give at most one glob; got {argv[1:]}")
    pattern = argv[1] if len(argv) > 1 else "*"
    if not list_models(pattern):
        raise app.UsageError(f"no registered model matches {pattern!r}; choose from: "
                             f"{', '.join(list_models())}")
    print(markdown_table(summary_rows(pattern, layers=flags.FLAGS.layers)))
    return 0


def run() -> None:
    """The command (``keras-resnet-summary``, ``python -m keras_resnet.summary``)."""
    from absl import app, flags

    flags.DEFINE_bool("layers", False, "Also print Keras' layer-by-layer summary of each model.")
    app.run(main)


if __name__ == "__main__":
    run()
