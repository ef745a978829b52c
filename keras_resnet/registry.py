"""The model registry: every named variant, `list_models()`, `get_entry(name)` and `build`."""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch

import keras

from keras_resnet.builder import build_network
from keras_resnet.specs import ArchSpec, arch_name, architectures


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A registered variant: its architecture and whether it has shortcuts."""

    name: str
    spec: ArchSpec
    residual: bool = True

    @property
    def description(self) -> str:
        kind = {"imagenet": "ImageNet", "preact": "ImageNet (v2)", "cifar": "CIFAR"}
        block = {"basic": "basic", "bottleneck": "bottleneck",
                 "preact_bottleneck": "pre-activation bottleneck"}[self.spec.block]
        net = "ResNet" if self.residual else "plain net"
        return f"{net}, {kind[self.spec.family]}, {block} blocks"


def _entries() -> dict[str, ModelEntry]:
    entries = [ModelEntry(arch_name(spec, residual), spec, residual=residual)
               for spec, residual in architectures()]
    return {entry.name: entry for entry in entries}


REGISTRY: dict[str, ModelEntry] = _entries()


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching the glob `pattern` (e.g. ``"plainnet*"``), sorted by
    family then depth."""
    order = {"imagenet": 0, "preact": 1, "cifar": 2}
    names = [n for n in REGISTRY if fnmatch.fnmatch(n, pattern.lower())]
    return sorted(names, key=lambda n: (order[REGISTRY[n].spec.family], not REGISTRY[n].residual,
                                        REGISTRY[n].spec.depth))


def get_entry(name: str) -> ModelEntry:
    """The registry entry of `name` (case-insensitive); ValueError with suggestions if unknown."""
    key = name.lower().replace("-", "").replace("_", "") if isinstance(name, str) else name
    if key not in REGISTRY:
        close = difflib.get_close_matches(str(key), list(REGISTRY), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} See keras_resnet.list_models().")
    return REGISTRY[key]


def build(model: str, /, **kwargs) -> keras.Model:
    """The registered `model`'s network, without weights; `kwargs` (``name`` included) go to
    `keras_resnet.builder.build_network`. `keras_resnet.get_model` also loads weights."""
    entry = get_entry(model)
    kwargs.setdefault("name", entry.name)
    return build_network(entry.spec, residual=entry.residual, **kwargs)
