"""Flagfiles read as data: values, switches left out, the last line winning, no file."""

import sys

import pytest

from keras_resnet.common.flagfile import parse_flags, read_flagfile

pytestmark = pytest.mark.backend_independent  # plain text parsing


def test_values_are_kept_and_switches_and_comments_left_out():
    text = "# a comment\n--model=resnet20\n--cache\n--nojit_compile\n--lr_boundaries=\n" \
           "--dataset=folder:a=b\n--model=resnet56\n"
    assert parse_flags(text) == {"model": "resnet56", "lr_boundaries": "",
                                 "dataset": "folder:a=b"}


def test_missing_file_reads_as_no_flags(tmp_path):
    assert read_flagfile(str(tmp_path / "flags.txt")) == {}
    (tmp_path / "flags.txt").write_text("--epochs=30\n")
    assert read_flagfile(str(tmp_path / "flags.txt")) == {"epochs": "30"}


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
