"""Mutated files of every kind a user hands over end in a result or a documented error, never
an unexpected exception, a crash or a hang (bench/fuzz_readers.py, a few dozen cases per
reader here; `python bench/fuzz_readers.py --cases=1000` runs the long version)."""

import sys

import pytest

from bench import fuzz_readers

pytestmark = pytest.mark.tf_backend  # the .tflite seed is converted by TensorFlow


@pytest.mark.parametrize("reader", fuzz_readers.READERS)
def test_mutated_files_end_in_a_result_or_a_documented_error(reader):
    result = fuzz_readers.fuzz(reader, cases=30, seed=1, case_seconds=60)
    assert result["findings"] == []
    assert result["ok"] + result["documented"] == 30
    assert result["crashes"] == result["hangs"] == result["unexpected"] == 0


def test_mutations_change_the_file_and_are_seeded():
    import random

    data = bytes(range(256)) * 4
    a = [fuzz_readers.mutate(data, random.Random(3)) for _ in range(20)]
    b = [fuzz_readers.mutate(data, random.Random(3)) for _ in range(20)]
    assert a == b and any(m != data for m in a)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
