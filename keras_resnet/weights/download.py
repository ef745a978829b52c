"""Getting a weights file: the package's own, or a download into the Keras cache, hash-checked.

Files are fetched with `keras.utils.get_file` into ``$KERAS_HOME/models/keras_resnet`` (default
``~/.keras``); on any failure nothing of the file is left in the cache.
"""

from __future__ import annotations

import hashlib
import os
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


def fetch(row: PretrainedWeights) -> str:
    """The local path of `row`'s file: shipped with the package, or downloaded into the Keras
    cache and hash-checked. On failure, nothing of it is left in the cache."""
    if row.url.startswith("package:"):
        path = os.path.join(PACKAGE_DIR, row.url[len("package:"):])
        if not os.path.isfile(path) or sha256(path) != row.file_hash:
            raise ValueError(f"the packaged weights file {path!r} is missing or does not match "
                             "its hash; reinstall keras_resnet.")
        return path
    _check_origin(row.url)
    target = _cache_path(row)
    os.makedirs(os.path.dirname(target), exist_ok=True)  # else get_file falls back to /tmp
    full_hash = row.file_hash if len(row.file_hash) in (32, 64) else None
    try:
        path = keras.utils.get_file(row.filename, origin=row.url, file_hash=full_hash,
                                    cache_dir=_keras_home(), cache_subdir=CACHE_SUBDIR)
        if full_hash is None and not sha256(path).startswith(row.file_hash):
            raise ValueError(f"sha256 does not start with {row.file_hash}")
        sync(path)
        if row.size_mib is not None and not size_matches(os.path.getsize(path), row.size_mib):
            raise ValueError(f"the file has {os.path.getsize(path):,} bytes "
                             f"({os.path.getsize(path) / 2**20:.3f} MiB); its publisher states "
                             f"{row.size_mib} MiB")
    except Exception as err:  # noqa: BLE001 (any failure: network, hash, disk)
        for leftover in (target, target + ".part", target + ".tmp"):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise ValueError(
            f"could not get the {row.tag} weights of {row.model} from {row.url} into "
            f"{target}: {type(err).__name__}: {err}. Check the network (or place a verified "
            "copy of the file at that path).") from None
    return path


