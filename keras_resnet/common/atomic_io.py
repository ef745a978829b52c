"""Writing files so that a reader never sees half of one: a temporary file beside the target,
flushed to the disk and renamed onto it only once complete, then the folder flushed, so that a
power loss leaves the old file or the new one. Checkpoints, exports and packaged weights go
through here. A write that fails (a full disk) removes its temporary file and leaves the
previous file as it was."""

from __future__ import annotations

import contextlib
import os
import tempfile

from keras_resnet.weights.download import sha256, sync

__all__ = ["atomic_path", "file_digest", "remove_stale_temporaries", "sync", "write_text"]


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = ""):
    """Yields a temporary path beside `path`; renames it onto `path` if the block succeeds,
    removes it otherwise."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        sync(tmp)
        os.replace(tmp, path)
        sync(path)  # the folder's entry: the rename itself
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def remove_stale_temporaries(folder: str) -> list[str]:
    """Deletes temporary files a killed writer left in `folder`; returns their names."""
    if not os.path.isdir(folder):
        return []
    stale = [f for f in os.listdir(folder) if f.startswith(".tmp-")]
    for name in stale:
        os.remove(os.path.join(folder, name))
    return stale


def write_text(path: str, text: str) -> None:
    """Writes `text` to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)


def file_digest(path: str) -> tuple[int, str]:
    """(size in bytes, sha256 hex) of the file at `path`."""
    return os.path.getsize(path), sha256(path)
