"""keras_resnet/common/config_flags.py: an app's typed config and its absl flags are made from
each other, and a config written as a flagfile reads back the same."""

import dataclasses
import sys

import pytest
from absl import flags

from keras_resnet.common import config_flags
from keras_resnet.common.config_flags import field

pytestmark = pytest.mark.backend_independent


@dataclasses.dataclass(frozen=True)
class Toy:
    name: str = field(help="A required string.")
    size: int = field(8, help="An int with bounds.", lower_bound=1, upper_bound=64)
    rate: float = field(0.5, help="A float.")
    fast: bool = field(False, help="A switch.")
    mode: str = field("a", help="A choice.", choices=("a", "b"))
    sizes: tuple[int, ...] = field((1, 2), help="Whole numbers.")
    kinds: tuple[str, ...] = field(("x",), help="Items from a list.", choices=("x", "y"))
    path: str | None = field(None, help="Optional.")


def parse(*argv):
    values = flags.FlagValues()
    config_flags.define_flags(Toy, values)
    values(["toy", *argv])
    return config_flags.config_from_flags(Toy, values)


def test_defaults_types_and_overrides():
    toy = parse("--name=n", "--sizes=3,4", "--kinds=y,x", "--fast")
    assert toy == Toy(name="n", size=8, rate=0.5, fast=True, mode="a", sizes=(3, 4),
                      kinds=("y", "x"), path=None)


def test_bounds_choices_and_item_types_are_checked():
    with pytest.raises(flags.IllegalFlagValueError):
        parse("--name=n", "--size=65")
    with pytest.raises(flags.IllegalFlagValueError):
        parse("--name=n", "--mode=c")
    with pytest.raises(flags.IllegalFlagValueError, match="--sizes=1,two: give whole numbers"):
        parse("--name=n", "--sizes=1,two")
    with pytest.raises(flags.IllegalFlagValueError, match="--kinds takes a comma-separated"):
        parse("--name=n", "--kinds=x,z")


def test_a_config_written_as_a_flagfile_reads_back_the_same(tmp_path):
    toy = parse("--name=n", "--rate=0.25", "--mode=b", "--sizes=5", "--path=p")
    path = tmp_path / "flags.txt"
    path.write_text(config_flags.flags_text(toy))
    assert config_flags.config_from_flagfile(Toy, str(path), "toy") == toy
    assert "--nofast" in path.read_text() and "--sizes=5" in path.read_text()


def test_an_unknown_flag_in_a_flagfile_names_the_file(tmp_path):
    path = tmp_path / "flags.txt"
    path.write_text("--name=n\n--colour=red\n")
    with pytest.raises(ValueError, match=f"{path} is not a flagfile of the toy"):
        config_flags.config_from_flagfile(Toy, str(path), "toy")


def test_short_help_lists_the_flags_for_the_main_program(monkeypatch):
    values = flags.FlagValues()
    config_flags.define_flags(Toy, values)
    monkeypatch.setattr(sys, "argv", ["/some/where/prog.py"])
    config_flags.show_in_short_help(["name", "size"], values)
    assert [f.name for f in values.get_key_flags_for_module("/some/where/prog.py")] == [
        "name", "size"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
