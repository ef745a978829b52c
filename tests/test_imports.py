"""The package's imports run one way: each module of keras_resnet imports only modules on a
lower floor (read from the source, function-level imports included), so there is no circle."""

import ast
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: keras_resnet's floors, bottom first: specs -> blocks -> builder -> registry -> weights ->
#: models (the public constructors) -> tools and the package's front.
FLOORS = [
    {"specs", "layers", "paper"},
    {"preprocessing", "flops", "blocks"},
    {"builder"},
    {"registry"},
    {"weights.table"},
    {"weights.download", "weights.keras_h5", "weights.torch_checkpoint"},
    {"weights.keras_applications"},
    {"weights.load"},
    {"weights"},
    {"models"},
    {"summary", ""},
]
FLOOR = {name: level for level, names in enumerate(FLOORS) for name in names}


def _modules() -> dict[str, str]:
    """keras_resnet module name (relative, "" for the package) -> path."""
    found = {}
    base = os.path.join(ROOT, "keras_resnet")
    for folder, _, files in os.walk(base):
        for file in files:
            if file.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, file), base)[:-3].replace(os.sep, ".")
                found[rel.removesuffix("__init__").rstrip(".")] = os.path.join(folder, file)
    return found


def _imports(path: str) -> set[str]:
    """The keras_resnet modules `path` imports anywhere in it (relative names)."""
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "keras_resnet" or node.module.startswith("keras_resnet.")):
            module = node.module[len("keras_resnet."):] if "." in node.module else ""
            for alias in node.names:  # `from keras_resnet import weights` imports a module
                sub = f"{module}.{alias.name}".lstrip(".")
                names.add(sub if sub in FLOOR else module)
        elif isinstance(node, ast.Import):
            names.update(a.name[len("keras_resnet."):] for a in node.names
                         if a.name.startswith("keras_resnet."))
    return names


def test_every_module_has_a_floor():
    assert sorted(_modules()) == sorted(FLOOR)


@pytest.mark.parametrize("module", sorted(FLOOR))
def test_imports_only_go_down(module):
    upward = sorted(name for name in _imports(_modules()[module])
                    if name != module and FLOOR[name] >= FLOOR[module])
    assert not upward, f"keras_resnet.{module} imports {upward} from its floor or above"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
