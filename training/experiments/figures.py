"""Writing an experiment's outputs: matplotlib figures as PNG (headless) and markdown tables,
each file written atomically so that an interrupted experiment leaves no half-written file."""

from __future__ import annotations

import os

from training.checkpoints import atomic_path, write_text


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
