"""keras_resnet/common/atomic_io.py: a file appears whole under its name or not at all."""

import os
import sys

import pytest

from keras_resnet.common import atomic_io

pytestmark = pytest.mark.backend_independent


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_io.atomic_path(str(target)) as tmp:
        open(tmp, "w").write("half")
        raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []
    atomic_io.write_text(str(target), "whole")
    assert target.read_text() == "whole" and os.listdir(tmp_path) == ["out.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path):
    (tmp_path / ".tmp-abc.weights.h5").write_bytes(b"half")
    (tmp_path / "ckpt-2.weights.h5").write_bytes(b"kept")
    assert atomic_io.remove_stale_temporaries(str(tmp_path)) == [".tmp-abc.weights.h5"]
    assert os.listdir(tmp_path) == ["ckpt-2.weights.h5"]


def test_file_digest_is_size_and_sha256(tmp_path):
    import hashlib

    path = tmp_path / "f.bin"
    path.write_bytes(b"keras-resnet" * 1000)
    assert atomic_io.file_digest(str(path)) == (
        12000, hashlib.sha256(b"keras-resnet" * 1000).hexdigest())


def test_the_file_and_its_folder_reach_the_disk_before_and_after_the_rename(tmp_path,
                                                                            monkeypatch):
    """fsync of the complete temporary file, then of the folder once the rename is done: a
    power loss keeps the old file or the new one, not an empty name."""
    synced = []
    real = os.fsync

    def record(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", record)
    target = tmp_path / "out.txt"
    atomic_io.write_text(str(target), "hello")
    assert target.read_text() == "hello"
    temporaries = [p for p in synced if os.path.basename(p).startswith(".tmp-")]
    assert temporaries and synced.index(temporaries[0]) < synced.index(str(target))
    assert str(tmp_path) in synced[synced.index(str(target)):]  # the folder, after the rename


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
