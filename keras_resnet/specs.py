"""The architecture table: the one place that says how deep and how wide each ResNet is.

Every builder, the registry, the FLOPs counter and the summary table read these specs; nothing
else in the package hard-codes a depth, a block type or a width.

Sources: He et al. 2015 ("Deep Residual Learning", Table 1 for ImageNet, Sec. 4.2 for CIFAR-10)
and He et al. 2016 ("Identity Mappings in Deep Residual Networks") for the pre-activation models.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

BlockType = Literal["basic", "bottleneck", "preact_bottleneck"]
Family = Literal["imagenet", "preact", "cifar"]

#: ImageNet models of the paper's Table 1: depth -> (block type, blocks per stage conv2..conv5).
IMAGENET_DEPTHS: dict[int, tuple[BlockType, tuple[int, ...]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
#: Pre-activation (v2) models, as keras.applications ships them.
PREACT_DEPTHS: dict[int, tuple[int, ...]] = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
#: CIFAR-10 models of the paper's Sec. 4.2: depth 6n+2.
CIFAR_DEPTHS: tuple[int, ...] = (20, 32, 44, 56, 110, 1202)

IMAGENET_WIDTHS = (64, 128, 256, 512)
CIFAR_WIDTHS = (16, 32, 64)
BOTTLENECK_EXPANSION = 4


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """One stage: `blocks` residual blocks of `filters` bottleneck/basic width.

    `stride` is the stage's downsampling factor (1 or 2); `name` is the keras.applications prefix
    of its layers (``conv2`` … ``conv5``).
    """

    name: str
    filters: int
    blocks: int
    stride: int


StrideAt = Literal["first", "last"]


@dataclasses.dataclass(frozen=True)
class ArchSpec:
    """A whole network: stem, stages and the defaults a user of that family expects."""

    depth: int
    family: Family
    block: BlockType
    stages: tuple[StageSpec, ...]
    stem: Literal["imagenet", "cifar"]
    default_shortcut: Literal["A", "B"]
    default_input_size: int
    default_classes: int
    #: Which block of a stage downsamples: the first (v1, the paper) or the last (keras' V2 layout).
    stride_at: StrideAt = "first"

    @property
    def total_stride(self) -> int:
        """How much the network downsamples its input, stem included."""
        stride = 4 if self.stem == "imagenet" else 1
        for stage in self.stages:
            stride *= stage.stride
        return stride

    @property
    def output_channels(self) -> int:
        """Channels of the last stage's output (the features the head sees)."""
        expansion = 1 if self.block == "basic" else BOTTLENECK_EXPANSION
        return self.stages[-1].filters * expansion


def _stages(widths: tuple[int, ...], blocks: tuple[int, ...],
            strides: tuple[int, ...]) -> tuple[StageSpec, ...]:
    return tuple(
        StageSpec(f"conv{2 + i}", w, n, s)
        for i, (w, n, s) in enumerate(zip(widths, blocks, strides, strict=True))
    )


def imagenet_spec(depth: int) -> ArchSpec:
    """The spec of ResNet-`depth` for ImageNet (18, 34, 50, 101 or 152)."""
    if depth not in IMAGENET_DEPTHS:
        raise ValueError(
            f"There is no ImageNet ResNet of depth {depth}; the paper defines "
            f"{sorted(IMAGENET_DEPTHS)}."
        )
    block, blocks = IMAGENET_DEPTHS[depth]
    return ArchSpec(depth, "imagenet", block, _stages(IMAGENET_WIDTHS, blocks, (1, 2, 2, 2)),
                    "imagenet", "B", 224, 1000)


def preact_spec(depth: int) -> ArchSpec:
    """The spec of the pre-activation ResNet-`depth`V2 (50, 101 or 152)."""
    if depth not in PREACT_DEPTHS:
        raise ValueError(
            f"There is no pre-activation ResNet of depth {depth}; "
            f"available: {sorted(PREACT_DEPTHS)}."
        )
    # keras.applications' V2 downsamples in the last block of conv2..conv4 (not conv3..5's first).
    stages = _stages(IMAGENET_WIDTHS, PREACT_DEPTHS[depth], (2, 2, 2, 1))
    return ArchSpec(depth, "preact", "preact_bottleneck", stages, "imagenet", "B", 224, 1000,
                    stride_at="last")


def cifar_spec(depth: int) -> ArchSpec:
    """The spec of the CIFAR ResNet of `depth` = 6n+2 layers (three stages of n basic blocks)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            "A CIFAR ResNet has 6n+2 layers (20, 32, 44, 56, 110, 1202, ...); "
            f"got depth={depth!r}. "
            "Pick a depth with (depth - 2) divisible by 6 and n >= 1."
        )
    n = (depth - 2) // 6
    return ArchSpec(depth, "cifar", "basic", _stages(CIFAR_WIDTHS, (n, n, n), (1, 2, 2)),
                    "cifar", "A", 32, 10)


FAMILIES: dict[str, object] = {"imagenet": imagenet_spec, "preact": preact_spec,
                               "cifar": cifar_spec}


def spec_for(family: str, depth: int) -> ArchSpec:
    """The spec of `family` ("imagenet", "preact" or "cifar") at `depth`."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}; got {family!r}.")
    return FAMILIES[family](depth)


def arch_name(spec: ArchSpec, residual: bool = True) -> str:
    """The registry name of `spec` (``resnet50``, ``resnet50v2``, ``plainnet20``): what the
    weights table is keyed by."""
    return (f"{'resnet' if residual else 'plainnet'}{spec.depth}"
            f"{'v2' if spec.family == 'preact' else ''}")


def architectures() -> list[tuple[ArchSpec, bool]]:
    """Every architecture of the table as (spec, residual): each ImageNet depth as a ResNet and
    a plain net, each pre-activation depth, each CIFAR depth as a ResNet and a plain net."""
    found = []
    for depth in IMAGENET_DEPTHS:
        found += [(imagenet_spec(depth), True), (imagenet_spec(depth), False)]
    found += [(preact_spec(depth), True) for depth in PREACT_DEPTHS]
    for depth in CIFAR_DEPTHS:
        found += [(cifar_spec(depth), True), (cifar_spec(depth), False)]
    return found
