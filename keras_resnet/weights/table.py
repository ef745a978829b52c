"""The weights table: every published file worth loading, as data.

Each `PretrainedWeights` row says, for one architecture and tag (and top / no top), where the
file is (https URL, or ``package:`` for files shipped in ``keras_resnet/weights/files/``), its
hash, its format, its license, and what the weights expect: input size, preprocessing,
classes, labels. `keras_resnet.weights.download` fetches a row's file and `load` reads it with
the reader of its format:

- ``keras_applications_h5``: keras.applications' ResNet files (`keras_applications`);
- ``torchvision_pth``: torchvision's checkpoints, read without torch (`torch_checkpoint`):
  IMAGENET1K_V1 for ResNet-18/34 (tag ``imagenet``) and IMAGENET1K_V2 for ResNet-50/101/152
  (tag ``imagenet_torchvision``: torchvision's new recipe, 80.9-82.3% top-1, v1.5 layout);
- ``keras_weights_h5``: our own ``.weights.h5`` files (`keras_h5`).
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse

KERAS_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
TORCHVISION = "https://download.pytorch.org/models/"
#: where the ``package:`` files live (inside the installed package).
PACKAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")


@dataclasses.dataclass(frozen=True)
class PretrainedWeights:
    """One published weights file and what it expects."""

    model: str
    tag: str
    include_top: bool
    url: str
    #: sha256 (64 hex digits), md5 (32, keras.applications' own), or a sha256 prefix
    #: (torchvision's file names carry the first 8 digits).
    file_hash: str
    source_format: str
    license: str
    input_size: int
    #: a key of keras_resnet.preprocessing.PREPROCESSING
    preprocessing: str
    classes: int
    labels: str
    #: The accuracy the weights were published (or measured here) with, and how they were made.
    accuracy: str = ""
    recipe: str = ""
    #: ImageNet (or CIFAR-10) top-1 in percent, for ranking a model's tags; None: unknown.
    top1: float | None = None
    #: The file's size as published (MiB, to 3 decimals), checked where no full hash is.
    size_mib: float | None = None
    #: The bottleneck layout the weights were trained in ("1x1": v1, "3x3": v1.5), if any.
    bottleneck_stride: str | None = None
    #: How the published accuracy was measured on the input, e.g. "resize 232, crop 224".
    eval_transform: str = ""

    @property
    def filename(self) -> str:
        return os.path.basename(urllib.parse.urlparse(self.url).path)


_KERAS_MD5 = {  # keras.applications' resnet.py / resnet_v2.py WEIGHTS_HASHES (top, no top)
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
#: ImageNet top-1 as published (keras.applications' table; torchvision's IMAGENET1K_V1 docs).
_PUBLISHED_TOP1 = {"resnet50": 74.9, "resnet101": 76.4, "resnet152": 76.6,
                   "resnet50v2": 76.0, "resnet101v2": 77.2, "resnet152v2": 78.0,
                   "resnet18": 69.758, "resnet34": 73.314}
#: torchvision's IMAGENET1K_V1 files: name, size as torchvision publishes it (MiB).
_TORCHVISION_FILES = {"resnet18": ("resnet18-f37072fd.pth", 44.661),
                      "resnet34": ("resnet34-b627a593.pth", 83.275)}
#: torchvision's IMAGENET1K_V2 files (its "new training recipe", v1.5 layout): name, top-1,
#: size (MiB), as torchvision's weights enums publish them. Tag "imagenet_torchvision": no
#: "v2" in it, so that it cannot be read as the pre-activation ResNet50V2.
_TORCHVISION_V2_FILES = {"resnet50": ("resnet50-11ad3fa6.pth", 80.858, 97.79),
                         "resnet101": ("resnet101-cd907fc2.pth", 81.886, 170.53),
                         "resnet152": ("resnet152-f82ba261.pth", 82.284, 230.474)}
#: What the hash column checks on torchvision's files: no full sha256 is published.
TORCHVISION_HASH_NOTE = ("torchvision publishes no full sha256: the first 8 hex digits (its "
                         "file name's) and the size it states are checked")
#: CIFAR-10 weights trained by this project, shipped in keras_resnet/weights/files/
#: (packed by training/package_weights.py): sha256, val top-1 on the 5k split, recipe.
_CIFAR10_FILES = {
    "resnet20": ("890bb214ffe2f9fb6b4afb718e799ad990ead521f30c70eaa9b6919e322f4cf9", "91.00%",
                 "training/configs/cifar10_resnet20_ensemble_distill.flags: 180 epochs, batch "
                 "64, Nesterov, label smoothing 0.1, weight decay 5e-4, cosine, Cutout 8, "
                 "TrivialAugment, distilled from an ensemble of three CIFAR-10 ResNets "
                 "(under the paper's 91.25%)"),
    "resnet56": ("ff396525a13847173a86d0cc8d2742d3bf9b8510bd56c2b9fe40a94675da5387", "90.82%",
                 "training/configs/cifar10_resnet56_long_cutout.flags: 180 epochs, batch 64, "
                 "Nesterov, label smoothing 0.1, weight decay 5e-4, cosine, Cutout 8 "
                 "(under the paper's 93.03%)"),
}
_KERAS_LICENSE = ("MIT (keras-applications; v1 ported from the authors' Caffe models, "
                  "v2 trained by the Keras team)")


def _table() -> list[PretrainedWeights]:
    rows = []
    for model, hashes in _KERAS_MD5.items():
        v2 = model.endswith("v2")
        for include_top, file_hash in zip((True, False), hashes, strict=True):
            suffix = "" if include_top else "_notop"
            rows.append(PretrainedWeights(
                model, "imagenet", include_top,
                f"{KERAS_APPLICATIONS}{model}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                file_hash, "keras_applications_h5", _KERAS_LICENSE, 224,
                "tf" if v2 else "caffe", 1000, "imagenet",
                f"ImageNet top-1 {_PUBLISHED_TOP1[model]}% (keras.applications)",
                top1=_PUBLISHED_TOP1[model], bottleneck_stride=None if v2 else "1x1",
                eval_transform="resize 256, center crop 224"))
    torchvision = [(model, "imagenet", name, _PUBLISHED_TOP1[model], size, "IMAGENET1K_V1",
                    None, "resize 256, center crop 224")
                   for model, (name, size) in _TORCHVISION_FILES.items()]
    torchvision += [(model, "imagenet_torchvision", name, top1, size, "IMAGENET1K_V2", "3x3",
                     "resize 232 (bilinear), center crop 224")
                    for model, (name, top1, size) in _TORCHVISION_V2_FILES.items()]
    for model, tag, filename, top1, size, version, stride, transform in torchvision:
        prefix = filename.rsplit("-", 1)[1].split(".")[0]
        for include_top in (True, False):  # one file: the no-top model skips its fc
            rows.append(PretrainedWeights(
                model, tag, include_top, TORCHVISION + filename, prefix, "torchvision_pth",
                f"BSD-3-Clause (torchvision, {version})", 224, "torch", 1000, "imagenet",
                f"ImageNet top-1 {top1}% (torchvision {version})", top1=top1, size_mib=size,
                bottleneck_stride=stride, eval_transform=transform))
    for model, (file_hash, accuracy, recipe) in _CIFAR10_FILES.items():
        for include_top in (True, False):  # one file with the top; no top copies by name
            rows.append(PretrainedWeights(
                model, "cifar10", include_top, f"package:cifar10_{model}.weights.h5",
                file_hash, "keras_weights_h5", "Apache-2.0 (keras-resnet)", 32, "cifar10", 10,
                "cifar10", f"CIFAR-10 val {accuracy} (5k held out; ours)", recipe,
                top1=float(accuracy.rstrip("%")), eval_transform="32x32 as is"))
    return rows


#: (model, tag, include_top) -> row.
PRETRAINED: dict[tuple[str, str, bool], PretrainedWeights] = {
    (row.model, row.tag, row.include_top): row for row in _table()}


def register(row: PretrainedWeights) -> None:
    """Adds (or replaces) a row of the table."""
    PRETRAINED[(row.model, row.tag, row.include_top)] = row


def best_tag(model: str) -> str | None:
    """The tag of `model` with the highest published top-1 (on its own dataset), or None."""
    rows = [row for (m, _, top), row in PRETRAINED.items() if m == model and top
            and row.top1 is not None and row.labels == "imagenet"]
    return max(rows, key=lambda row: row.top1).tag if rows else None


def tags(model: str) -> list[str]:
    """The tags published for `model` (e.g. ``["imagenet"]``)."""
    return sorted({t for m, t, _ in PRETRAINED if m == model})


def find(model: str, tag: str, include_top: bool) -> PretrainedWeights:
    """The row for `model` and `tag`; ValueError listing what exists otherwise."""
    row = PRETRAINED.get((model, tag, include_top))
    if row is None:
        available = sorted({m for m, t, _ in PRETRAINED if t == tag})
        tags = sorted({t for m, t, _ in PRETRAINED if m == model})
        raise ValueError(
            f"No pretrained {tag!r} weights for {model}"
            f"{'' if include_top else ' without its top'}. "
            f"{model} has: {tags or 'none'}; {tag!r} weights exist for: "
            f"{', '.join(available) or 'no model'}. Pass weights=None, or a "
            "'.weights.h5' file path.")
    return row


