"""One writer per folder: a training run's model_dir is written by one process at a time.

Two trainers on one model_dir (a second `train.py` started while the first still runs, or a
`carry_run.py --unpack` into a live run) would interleave checkpoints, rotate away each
other's files and delete each other's half-written temporaries. `hold` takes an exclusive
advisory lock on ``FOLDER/.lock`` (``flock``), which the operating system drops when the
holder ends, however it ends (``kill -9`` included), so a stale lock never blocks a resume.
The file records who holds it (pid, host, start, what), so that the refusal can say which
process to wait for or stop. The lock file itself is left in place: removing it could let
two processes lock two different files of the same name.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

__all__ = ["LOCK_FILE", "FolderBusyError", "hold"]

LOCK_FILE = ".lock"


class FolderBusyError(RuntimeError):
    """Another process holds the folder."""


def _holder(path: str) -> str:
    """Who holds the lock file at `path`, as its record says (or why that is not known)."""
    try:
        with open(path) as f:
            who = json.load(f)
        return (f"pid {who['pid']} on {who['host']}, {who['what']} since {who['since']}")
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not yet said who it is"


@contextlib.contextmanager
def hold(folder: str, what: str) -> Iterator[None]:
    """Holds `folder` (created if missing) for this process while the block runs; raises
    `FolderBusyError` at once, naming the holder, if another process holds it. `what` says
    what this process does there ("training", "unpacking a run"), for that message."""
    os.makedirs(folder, exist_ok=True)
    if fcntl is None:
        print(f"note: {folder} is not locked against a second writer (this platform has no "
              "flock); run one process on it at a time")
        yield
        return
    path = os.path.join(folder, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusyError(
                f"{folder} is in use by another process ({_holder(path)}); wait for it to "
                "end, or stop it (kill PID: its checkpoints are written atomically), or use "
                "another folder.") from None
        record = {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        yield
    finally:
        os.close(fd)  # drops the lock
