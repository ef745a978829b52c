"""Writing files so that a reader never sees half of one: a temporary file beside the target,
flushed to the disk and renamed onto it only once complete, then the folder flushed, so that a
power loss leaves the old file or the new one. Checkpoints, exports and packaged weights go
through here. A write that fails (a full disk) removes its temporary file and leaves the
previous file as it was. A whole folder (an export) is written beside its target and swapped
in with one rename (`atomic_folder`), so that it too is either the old one or the new one."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile

from keras_resnet.weights.download import sha256, sync

__all__ = ["atomic_folder", "atomic_path", "file_digest", "remove_stale_temporaries", "sync",
           "write_text"]


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


@contextlib.contextmanager
def atomic_folder(path: str):
    """Yields an empty folder beside `path` to write into; once the block succeeds, it takes
    `path`'s place in one rename and the previous folder is deleted. If the block fails,
    the new folder is deleted and `path` is left as it was.

    On Linux the swap is one `renameat2(RENAME_EXCHANGE)`: a process killed at any moment
    leaves `path` holding the previous folder or the new, complete one. Where the kernel or
    file system lacks it, the previous folder is first renamed aside; a kill between the two
    renames leaves `path` missing and the previous folder beside it, and the next call to
    `atomic_folder` for `path` puts it back. Leftovers of killed writers are removed then."""
    path = os.path.abspath(path)
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    _recover(parent, name)
    staging = tempfile.mkdtemp(dir=parent, prefix=f"{_folder_prefix(name, 'new')}{os.getpid()}-")
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield staging
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes 0700
        _sync_tree(staging)
        if not os.path.lexists(path):
            os.rename(staging, path)
        elif not _exchange(staging, path):  # staging now holds the previous folder
            aside = tempfile.mkdtemp(dir=parent,
                                     prefix=f"{_folder_prefix(name, 'old')}{os.getpid()}-")
            os.rmdir(aside)  # a free name on the same file system
            os.rename(path, aside)
            os.rename(staging, path)
            shutil.rmtree(aside)
        sync(path)
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging)


def _folder_prefix(name: str, kind: str) -> str:
    return f".tmp-{kind}-{name}-"


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: str, b: str) -> bool:
    """Swaps the folders at `a` and `b` in one step; False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not glibc >= 2.28, or not Linux
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # the file system cannot swap
        return False
    raise OSError(code, f"cannot swap {a} and {b}: {os.strerror(code)}")


def _recover(parent: str, name: str) -> None:
    """Puts back a previous folder a killed swap left aside, and deletes the folders of
    writers that are no longer running."""
    for kind in ("old", "new"):
        prefix = _folder_prefix(name, kind)
        for entry in sorted(os.listdir(parent)):
            if not entry.startswith(prefix) or _alive(entry[len(prefix):].split("-")[0]):
                continue
            leftover = os.path.join(parent, entry)
            if kind == "old" and not os.path.lexists(os.path.join(parent, name)):
                os.rename(leftover, os.path.join(parent, name))
            else:
                shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: str) -> bool:
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _sync_tree(folder: str) -> None:
    """Flushes every file and folder under `folder` (deepest first) to the disk."""
    for root, dirs, files in os.walk(folder, topdown=False):
        for entry in [*files, *dirs, None]:
            fd = os.open(root if entry is None else os.path.join(root, entry), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
