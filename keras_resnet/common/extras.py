"""The optional dependencies of the apps (setup.cfg's extras), checked before an app starts
so that a missing one is named with the install command that brings it."""

from __future__ import annotations

import importlib.util

#: extra -> the modules it brings that the app imports.
EXTRAS = {
    "train": ("PIL",),
    "tfds": ("tensorflow_datasets",),
    "export": ("ai_edge_litert", "PIL"),
    "qat": ("tensorflow_model_optimization", "tf_keras"),
}
#: the setup.cfg extra that installs each group.
INSTALLED_BY = {"train": "train", "tfds": "train", "export": "export", "qat": "export"}


def missing(group: str) -> list[str]:
    """The modules of `group` this environment cannot import."""
    return [m for m in EXTRAS[group] if importlib.util.find_spec(m) is None]


def require(group: str, what: str) -> None:
    """ImportError saying which modules `what` lacks and how to install them."""
    if absent := missing(group):
        extra = INSTALLED_BY[group]
        raise ImportError(f"{what} needs {', '.join(absent)}, which is not installed: "
                          f"pip install 'keras-resnet[{extra}]' (in a checkout: "
                          f"pip install -e '.[{extra}]').")
