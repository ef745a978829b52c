"""keras_resnet/common/results.py: a command's report is printed and written as one text, with
the command and machine that made it on its first line."""

import os
import sys

import pytest

from keras_resnet.common.results import Report, machine

pytestmark = pytest.mark.backend_independent


def test_the_file_holds_what_was_printed_after_its_provenance(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench/x.py", "--rounds=2"])
    report = Report()
    report("| a | b |")
    report("ratio 1.000x")
    out = tmp_path / "sub" / "x.txt"
    report.save(str(out))
    printed = capsys.readouterr().out
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# python bench/x.py --rounds=2  (") and machine() in lines[0]
    monkeypatch.setattr(os, "getloadavg", lambda: (3.5, 1.0, 0.5))
    assert "load 3.50 at start)" in Report().lines[0]  # a busy machine says so
    assert lines[1:] == ["| a | b |", "ratio 1.000x"]
    assert printed.startswith("| a | b |\nratio 1.000x\n") and f"wrote {out}" in printed


def test_cpu_features_are_read_from_this_machine():
    from keras_resnet.common.results import CPU_FEATURES, cpu_features

    found = cpu_features()
    assert set(found) <= set(CPU_FEATURES)
    if os.path.isfile("/proc/cpuinfo") and "avx2" in open("/proc/cpuinfo").read():
        assert "avx2" in found


def test_no_path_writes_nothing(tmp_path):
    report = Report()
    report("x")
    report.save(None)
    assert list(tmp_path.iterdir()) == []


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
