"""Writing files so that a reader never sees half of one: a temporary file beside the target,
renamed onto it only once complete. Checkpoints, exports and packaged weights go through here."""

from __future__ import annotations

import contextlib
import os
import tempfile

from keras_resnet.weights.download import sha256

__all__ = ["atomic_path", "file_digest", "remove_stale_temporaries", "write_text"]


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
        os.replace(tmp, path)
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
