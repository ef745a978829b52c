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


def save_figure(figure, path: str) -> str:
    """Writes `figure` to `path` (PNG) and closes it."""
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    pyplot().close(figure)
    print(f"wrote {path}")
    return path


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def save_text(text: str, path: str) -> str:
    write_text(path, text)
    print(f"wrote {path}")
    return path


def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{100 * fraction:.2f}"


def ensure_dir(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path
