"""Writing an experiment's outputs: matplotlib figures as PNG (headless) and markdown tables,
each file written atomically so that an interrupted experiment leaves no half-written file."""

from __future__ import annotations

import os

from keras_resnet.common.atomic_io import atomic_path, write_text


def define_output_flags(name: str) -> None:
    """--figures (the folder) and --name (the files' base name) of an experiment's outputs:
    ``--figures=results/experiments --name=degradation_4000`` writes a kept variant in place."""
    from absl import flags

    flags.DEFINE_string("figures", "runs/experiments/figures",
                        "Folder of the PNG and the table (results/experiments: the committed "
                        "ones).")
    flags.DEFINE_string("name", name, "Base name of the PNG and the table.")


def pyplot():
    """matplotlib's pyplot on the headless Agg backend, or a clear error."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("the experiments draw with matplotlib: pip install matplotlib "
                         "(or pip install -e '.[experiments]')") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def publish(folder: str, name: str, figure, text: str) -> None:
    """Writes `figure` as ``folder/name.png`` (then closes it) and the markdown `text` as
    ``folder/name.md``, each atomically, and prints the text."""
    png, md = os.path.join(folder, f"{name}.png"), os.path.join(folder, f"{name}.md")
    with atomic_path(png, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    pyplot().close(figure)
    write_text(md, text)
    print(f"wrote {png} and {md}\n\n{text}")


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
