"""Image folders, the layout users bring their own data in: one subfolder per class.

Either ``ROOT/<class>/*.jpg`` (a validation split is held out: the last `val_fraction` of each
class's files by name, so the split is the same on every machine), or split subfolders
``ROOT/train/<class>/...``, ``ROOT/val/<class>/...``. Listing needs neither TensorFlow nor JAX.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
SPLIT_DIRS = ("train", "val", "validation", "test")


@dataclasses.dataclass(frozen=True)
class FolderSplit:
    """The files of one split, their integer labels, and the class names (label order)."""

    paths: tuple[str, ...]
    labels: np.ndarray
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.paths)

    def without(self, paths: set[str]) -> FolderSplit:
        """This split less the files in `paths`."""
        keep = [i for i, path in enumerate(self.paths) if path not in paths]
        return FolderSplit(tuple(self.paths[i] for i in keep), self.labels[keep],
                           self.class_names)

    def sample(self, count: int, seed: int = 0) -> FolderSplit:
        """`count` files drawn without replacement by `seed`, in their original order (every
        class represented, not the first classes); the split itself if it has no more."""
        if count >= len(self):
            return self
        chosen = np.sort(np.random.default_rng(seed).choice(len(self), count, replace=False))
        return FolderSplit(tuple(self.paths[i] for i in chosen), self.labels[chosen],
                           self.class_names)


def _class_dirs(root: str) -> list[str]:
    return sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))


def _images(folder: str) -> list[str]:
    return sorted(e.name for e in os.scandir(folder)
                  if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS))


def _list(root: str, class_names: list[str]) -> dict[str, list[str]]:
    files = {c: _images(os.path.join(root, c)) for c in class_names}
    empty = [c for c, f in files.items() if not f]
    if empty:
        raise ValueError(f"class folder(s) {empty} under {root!r} hold no images "
                         f"({', '.join(IMAGE_EXTENSIONS)}).")
    return files


def _two_or_more(root: str, classes: tuple[str, ...]) -> None:
    if len(classes) < 2:
        raise ValueError(f"image folder {root!r} has one class ({classes[0]!r}); a classifier "
                         "needs two or more class subfolders.")


def _split(root: str, files: dict[str, list[str]], classes: tuple[str, ...]) -> FolderSplit:
    paths, labels = [], []
    for label, name in enumerate(classes):
        chosen = files.get(name, [])
        paths += [os.path.join(root, name, f) for f in chosen]
        labels += [label] * len(chosen)
    return FolderSplit(tuple(paths), np.asarray(labels, np.int32), classes)


def read_image_folder(root: str, val_fraction: float = 0.1) -> dict[str, FolderSplit]:
    """The splits of the image folder `root`: ``{"train": ..., "val": ...}`` (and ``"test"``
    where the folder has one). Raises ValueError for a missing, empty or inconsistent folder."""
    if not os.path.isdir(root):
        raise ValueError(f"image folder {root!r} does not exist.")
    top = _class_dirs(root)
    if not top:
        raise ValueError(f"image folder {root!r} has no class subfolders; expected "
                         "ROOT/<class>/<image> or ROOT/train/<class>/<image>.")
    if "train" in top and set(top) <= set(SPLIT_DIRS):
        classes = tuple(_class_dirs(os.path.join(root, "train")))
        if not classes:
            raise ValueError(f"{os.path.join(root, 'train')!r} has no class subfolders.")
        _two_or_more(os.path.join(root, "train"), classes)
        splits = {}
        for split in top:
            split_root = os.path.join(root, split)
            names = _class_dirs(split_root)
            unknown = sorted(set(names) - set(classes))
            if unknown:
                raise ValueError(f"split {split!r} has classes {unknown} that 'train' lacks.")
            key = "val" if split == "validation" else split
            splits[key] = _split(split_root, _list(split_root, names), classes)
        return splits
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1); got {val_fraction}.")
    classes = tuple(top)
    _two_or_more(root, classes)
    files = _list(root, list(classes))
    n_val = {c: max(1, round(len(f) * val_fraction)) for c, f in files.items()}
    short = [c for c, f in files.items() if len(f) <= n_val[c]]
    if short:
        raise ValueError(f"class(es) {short} have too few images to hold out a "
                         f"{val_fraction:.0%} validation split.")
    train = {c: f[: len(f) - n_val[c]] for c, f in files.items()}
    val = {c: f[len(f) - n_val[c]:] for c, f in files.items()}
    return {"train": _split(root, train, classes), "val": _split(root, val, classes)}
