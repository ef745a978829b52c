"""Input normalization per dataset: the one place that says what pixels a model expects.

Images are RGB, values 0..255; a model trained with ``dataset`` expects
``(pixel - mean) / std`` per channel with the constants below (in 0..255 units).
"""

from __future__ import annotations

import numpy as np

#: dataset -> (per-channel mean, per-channel std), RGB, in 0..255 units.
NORMALIZATION: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # CIFAR-10 training-set statistics.
    "cifar10": ((125.307, 122.950, 113.865), (62.993, 62.089, 66.705)),
    # CIFAR-100 training-set statistics.
    "cifar100": ((129.304, 124.070, 112.434), (68.170, 65.392, 70.418)),
    # ImageNet statistics (torchvision's 0.485/0.456/0.406, 0.229/0.224/0.225, times 255).
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
}


def normalization_for(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) float32 arrays of the statistics `name` (a key of NORMALIZATION)."""
    if name not in NORMALIZATION:
        raise ValueError(f"No normalization statistics named {name!r}; "
                         f"choose from {sorted(NORMALIZATION)}.")
    mean, std = NORMALIZATION[name]
    return np.asarray(mean, np.float32), np.asarray(std, np.float32)


def normalization_name(setting: str, dataset: str) -> str:
    """The statistics a run uses: `setting` itself, or for "auto" the dataset's own (a TFDS
    name such as "cifar10") when known, else ImageNet's."""
    if setting != "auto":
        return setting
    name = dataset.split(":", 1)[0].split("/")[0]
    return name if name in NORMALIZATION else "imagenet"
