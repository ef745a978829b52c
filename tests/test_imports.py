"""Imports run one way, read from the source (function-level imports included):

- keras_resnet's model library climbs floors: specs -> blocks -> builder -> registry ->
  weights -> models -> the package's front; a module imports only modules on lower floors.
- Above it sit the apps' libraries, package by package: `common` (what several apps share),
  then `data`, then `train` and `export`, which never import each other.
- No module graph has a circle.
- The apps' scripts (training/, export/, bench/) import keras_resnet, never each other.
"""

import ast
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The model library's floors, bottom first.
FLOORS = [
    {"specs", "layers", "paper"},
    {"preprocessing", "flops", "blocks"},
    {"builder"},
    {"registry", "features"},
    {"weights.table"},
    {"weights.download", "weights.keras_h5", "weights.torch_checkpoint"},
    {"weights.keras_applications", "weights.keras_hub"},
    {"weights.load"},
    {"weights"},
    {"models"},
    {"summary", ""},
]
FLOOR = {name: level for level, names in enumerate(FLOORS) for name in names}
#: The apps' libraries above the model library: a package imports its own modules and those
#: of lower layers only; packages on one layer do not import each other.
APP_LAYERS = {"common": 1, "data": 2, "train": 3, "export": 3}
APPS = ("training", "export", "bench")


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


MODULES = _modules()


def _imported(path: str) -> set[str]:
    """Every absolute module name `path` imports anywhere in it (`from a import b` gives a.b
    when that is a module of keras_resnet, else a)."""
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                inside = sub.removeprefix("keras_resnet.").removeprefix("keras_resnet")
                names.add(sub if sub.startswith("keras_resnet") and inside in MODULES
                          else node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def _ours(path: str) -> set[str]:
    """The keras_resnet modules `path` imports (relative names)."""
    found = set()
    for name in _imported(path):
        if name == "keras_resnet":
            found.add("")
        elif name.startswith("keras_resnet."):
            found.add(name[len("keras_resnet."):])
    return found


def _package(module: str) -> str:
    """"train" for train.loop, "core" for the model library."""
    head = module.split(".")[0]
    return head if head in APP_LAYERS else "core"


def _layer(module: str) -> int:
    return APP_LAYERS.get(_package(module), 0)


def test_every_model_library_module_has_a_floor():
    core = sorted(m for m in MODULES if _package(m) == "core")
    assert core == sorted(FLOOR)


@pytest.mark.parametrize("module", sorted(FLOOR))
def test_model_library_imports_only_go_down(module):
    upward = sorted(name for name in _ours(MODULES[module])
                    if name != module and (name not in FLOOR or FLOOR[name] >= FLOOR[module]))
    assert not upward, f"keras_resnet.{module} imports {upward} from its floor or above"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _package(m) != "core"))
def test_app_libraries_import_their_own_package_or_lower_layers(module):
    package = _package(module)
    wrong = sorted(name for name in _ours(MODULES[module])
                   if _package(name) != package and _layer(name) >= _layer(module))
    assert not wrong, f"keras_resnet.{module} imports {wrong} from its layer or above"


def _find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of `graph` (module -> modules it imports) as a path, or None."""
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, trail + [nxt])):
                return found
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_no_import_circle():
    # The package front ("") imports the model library; every module is below it.
    graph = {m: {n for n in _ours(path) if n in MODULES and n not in (m, "")}
             for m, path in MODULES.items()}
    circle = _find_circle(graph)
    assert circle is None, f"import circle: {' -> '.join(circle)}"


def test_the_circle_check_finds_one():
    assert _find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def _app_files() -> list[str]:
    return sorted(os.path.relpath(os.path.join(folder, f), ROOT)
                  for app in APPS for folder, _, files in os.walk(os.path.join(ROOT, app))
                  for f in files if f.endswith(".py"))


@pytest.mark.parametrize("path", _app_files())
def test_apps_do_not_import_each_other(path):
    own = path.split(os.sep)[0]
    others = sorted(name for name in _imported(os.path.join(ROOT, path))
                    if name.split(".")[0] in APPS and name.split(".")[0] != own)
    assert not others, f"{path} imports {others} from another app"


def test_the_checks_see_an_upward_import(tmp_path):
    """The reader finds a function-level import of an app library from the model library."""
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from keras_resnet.train import loop\n")
    assert _ours(str(path)) == {"train.loop"}


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
