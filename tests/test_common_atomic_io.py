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


def _write_export(folder, tag: str, files: int = 4) -> None:
    """A stand-in export: `files` files and a subfolder, each naming `tag`."""
    os.makedirs(os.path.join(folder, "saved_model"), exist_ok=True)
    for i in range(files):
        with open(os.path.join(folder, f"f{i}.txt"), "w") as f:
            f.write(tag)
    with open(os.path.join(folder, "saved_model", "model.pb"), "w") as f:
        f.write(tag)


def _state(folder) -> dict[str, str] | None:
    if not os.path.isdir(folder):
        return None
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = open(path).read()
    return found


@pytest.mark.parametrize("swap", ["exchange", "rename aside"])
def test_atomic_folder_replaces_a_folder_whole_or_not_at_all(tmp_path, monkeypatch, swap):
    if swap == "rename aside":  # as on a file system without RENAME_EXCHANGE
        monkeypatch.setattr(atomic_io, "_exchange", lambda a, b: False)
    target = tmp_path / "export"
    with atomic_io.atomic_folder(str(target)) as folder:
        assert os.listdir(folder) == [] and not target.exists()
        _write_export(folder, "old")
    old = _state(target)
    assert set(old.values()) == {"old"} and len(old) == 5
    with pytest.raises(RuntimeError), atomic_io.atomic_folder(str(target)) as folder:
        _write_export(folder, "new", files=2)
        raise RuntimeError("interrupted")
    assert _state(target) == old and os.listdir(tmp_path) == ["export"]
    with atomic_io.atomic_folder(str(target)) as folder:
        _write_export(folder, "new", files=2)
    assert _state(target) == {"f0.txt": "new", "f1.txt": "new", "saved_model/model.pb": "new"}
    assert os.listdir(tmp_path) == ["export"]  # the previous folder is gone
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o777 & ~umask


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked writers (POSIX only)")
@pytest.mark.parametrize("swap", ["exchange", "rename aside"])
def test_a_writer_killed_anywhere_leaves_the_old_folder_or_the_new_one(tmp_path, monkeypatch,
                                                                       swap):
    """24 writers are SIGKILLed at random moments of a slowed-down write and swap; each time
    the folder is exactly the previous one or exactly the new one, and the next writer puts
    back or removes whatever the killed one left beside it."""
    import random
    import signal
    import time

    if swap == "rename aside":
        monkeypatch.setattr(atomic_io, "_exchange", lambda a, b: False)
    real_rename, real_rmtree = os.rename, atomic_io.shutil.rmtree

    def slow(call):
        def wrapped(*args, **kwargs):
            time.sleep(0.01)
            return call(*args, **kwargs)
        return wrapped

    target = str(tmp_path / "export")
    with atomic_io.atomic_folder(target) as folder:
        _write_export(folder, "v0")
    rng = random.Random(0)
    states, version = [_state(target)], 0
    for attempt in range(1, 25):
        pid = os.fork()
        if pid == 0:  # the writer: slow steps, so that a kill lands inside the swap too
            try:
                monkeypatch.setattr(os, "rename", slow(real_rename))
                monkeypatch.setattr(atomic_io.shutil, "rmtree", slow(real_rmtree))
                with atomic_io.atomic_folder(target) as folder:
                    for i in range(4):
                        time.sleep(0.01)
                        _write_export(folder, f"v{attempt}", files=i + 1)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 0.12))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with atomic_io.atomic_folder(str(tmp_path / "other")):  # no effect on `target`
            pass
        state = _state(target)
        assert state in (states[-1], _expected(f"v{attempt}")) or (
            swap == "rename aside" and state is None), (attempt, state)
        if state is None:  # killed between the two renames: the next writer puts it back
            with pytest.raises(RuntimeError), atomic_io.atomic_folder(target):
                raise RuntimeError("only recover")
            state = _state(target)
            assert state == states[-1]
        version += state != states[-1]
        states.append(state)
    with atomic_io.atomic_folder(target) as folder:
        _write_export(folder, "last")
    assert sorted(os.listdir(tmp_path)) == ["export", "other"]  # killed writers' folders gone
    assert 0 < version < 24  # some kills landed before the swap and some after


def _expected(tag: str) -> dict[str, str]:
    return {**{f"f{i}.txt": tag for i in range(4)}, "saved_model/model.pb": tag}
