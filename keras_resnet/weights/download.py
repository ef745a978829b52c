"""Getting a weights file: the package's own, or a download into the Keras cache, hash-checked.

Files are fetched with `keras.utils.get_file` into ``$KERAS_HOME/models/keras_resnet`` (default
``~/.keras``); on any failure nothing of the file is left in the cache.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
import urllib.parse

import keras

from keras_resnet.weights.table import PACKAGE_DIR, PretrainedWeights


def _check_origin(url: str) -> None:
    parsed = urllib.parse.urlparse(url)
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
        raise ValueError(f"refusing to download weights from {url!r}: only https (or a "
                         "loopback http server) is allowed.")


def sha256(path: str) -> str:
    """The sha256 hex digest of a file (the hash the table's rows carry)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sync(path: str) -> None:
    """Flushes the file (or every file of the folder) at `path` to the disk, then the folder
    that holds it, so that a rename onto it survives a power loss, not only a killed process."""
    paths = [path] if os.path.isfile(path) else [
        os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
    for name in paths:
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


CACHE_SUBDIR = os.path.join("models", "keras_resnet")


def size_matches(size: int, size_mib: float) -> bool:
    """Whether `size` bytes rounds to `size_mib` MiB at 3 decimals (the publisher's figure)."""
    return abs(size / 2**20 - size_mib) <= 0.0005 + 1e-9


def _keras_home() -> str:
    """Keras' cache root, as Keras picks it: $KERAS_HOME, else ~/.keras."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _cache_path(row: PretrainedWeights) -> str:
    return os.path.join(_keras_home(), CACHE_SUBDIR, row.filename)


def _problem(path: str, row: PretrainedWeights) -> str | None:
    """Why the file at `path` is not `row`'s (hash, hash prefix, published size), or None."""
    if len(row.file_hash) == 32:  # keras.applications publishes md5
        digest = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        found = digest.hexdigest()
    else:
        found = sha256(path)
    if not found.startswith(row.file_hash):
        return f"its hash is {found[:16]}..., the table's {row.file_hash[:16]}..."
    size = os.path.getsize(path)
    if row.size_mib is not None and not size_matches(size, row.size_mib):
        return (f"the file has {size:,} bytes ({size / 2**20:.3f} MiB); its publisher states "
                f"{row.size_mib} MiB")
    return None


def fetch(row: PretrainedWeights) -> str:
    """The local path of `row`'s file: shipped with the package, or downloaded into the Keras
    cache and checked (hash, published size). The download goes to a name of this process's
    own and is renamed into place once checked, so processes fetching the same file at once
    end with one good file; on failure nothing of it is left in the cache."""
    if row.url.startswith("package:"):
        path = os.path.join(PACKAGE_DIR, row.url[len("package:"):])
        if not os.path.isfile(path) or sha256(path) != row.file_hash:
            raise ValueError(f"the packaged weights file {path!r} is missing or does not match "
                             "its hash; reinstall keras_resnet.")
        return path
    _check_origin(row.url)
    target = _cache_path(row)
    folder = os.path.dirname(target)
    if os.path.isfile(target) and _problem(target, row) is None:
        return target
    try:
        os.makedirs(folder, exist_ok=True)  # else get_file falls back to /tmp
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".tmp-probe-")
        probe.close()
    except OSError as err:
        raise ValueError(f"the weights cache {folder} cannot be written ({err}); set KERAS_HOME "
                         "to a writable folder, or place a verified copy of "
                         f"{row.filename} there.") from None
    part = f".tmp-{os.getpid()}-{secrets.token_hex(4)}-{row.filename}"
    try:
        path = keras.utils.get_file(part, origin=row.url, cache_dir=_keras_home(),
                                    cache_subdir=CACHE_SUBDIR)
        if problem := _problem(path, row):
            raise ValueError(problem)
        sync(path)
        os.replace(path, target)  # another process's good copy, if any, is replaced by one
        sync(target)
    except Exception as err:  # noqa: BLE001 (any failure: network, hash, disk)
        for leftover in os.listdir(folder):
            if leftover.startswith(part):
                os.remove(os.path.join(folder, leftover))
        raise ValueError(
            f"could not get the {row.tag} weights of {row.model} from {row.url} into "
            f"{target}: {type(err).__name__}: {err}. Check the network (or place a verified "
            "copy of the file at that path).") from None
    return target
