"""Reading PyTorch checkpoints (``torch.save``'s zip format) without importing torch, and
porting torchvision's ResNet state dicts to keras_resnet layers.

A ``.pth`` file is a zip archive holding ``data.pkl`` and one raw file per tensor storage.
Unpickling it normally may run any code the file names; `read_state_dict` uses an unpickler
that admits only the globals a state dict of tensors needs (an OrderedDict, torch's tensor
rebuild functions and storage types) and refuses everything else, so a malicious file fails
with `pickle.UnpicklingError` instead of executing. Every tensor is checked against its
storage before it is read: a storage whose byte count is not its element count, or a view
(offset, size, stride) that reaches past its storage, fails with `ValueError`, never a read of
memory outside the file's bytes.
"""

from __future__ import annotations

import collections
import pickle
import struct
import zipfile
import zlib

import numpy as np

#: torch storage class -> numpy dtype (little-endian, as torch writes them).
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": None,
}


class _Storage:
    """A storage type named in the pickle (a marker; holds only its dtype)."""

    def __init__(self, name: str):
        self.name = name


def _counts(value, what: str) -> tuple[int, ...]:
    """`value` as a tuple of non-negative ints; ValueError otherwise."""
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise ValueError(f"a tensor's {what} must be non-negative integers, not {value!r}")
    return tuple(value)


def _rebuild_tensor(storage, offset, size, stride, *unused):
    """The tensor viewing `storage` at `offset` with `size` and `stride` (elements), copied;
    ValueError unless the whole view lies inside the storage."""
    if not isinstance(storage, np.ndarray):
        raise ValueError(f"a tensor's storage must be a stored array, not {type(storage)}")
    (offset,), size, stride = _counts((offset,), "offset"), _counts(size, "size"), _counts(
        stride, "stride")
    if len(size) != len(stride):
        raise ValueError(f"a tensor has {len(size)} dimensions but {len(stride)} strides")
    if 0 in size:
        return np.zeros(size, storage.dtype)
    last = offset + sum((n - 1) * step for n, step in zip(size, stride, strict=True))
    if last >= len(storage):
        raise ValueError(f"a tensor of size {size}, stride {stride} at offset {offset} reaches "
                         f"element {last} of a storage of {len(storage)}: the file is damaged "
                         "or crafted")
    if not size:
        return storage[offset:offset + 1].reshape(()).copy()
    byte_strides = tuple(step * storage.itemsize for step in stride)
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=byte_strides,
                                           writeable=False)
    return np.array(view)  # a copy: contiguous, independent of the archive buffer


def _rebuild_parameter(data, requires_grad, backward_hooks, *unused):
    return data


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a state dict of tensors, refusing any other global."""

    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def __init__(self, file, storages: dict[str, bytes], byteorder: str = "little"):
        super().__init__(file)
        self._storages = storages
        self._order = "<" if byteorder == "little" else ">"

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _Storage(name)
        raise pickle.UnpicklingError(
            f"refusing to load global '{module}.{name}': a weights file may only hold tensors "
            "(this file could run code when unpickled)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _Storage)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage, key, _location, numel = pid
        dtype = STORAGE_DTYPES[storage.name]
        if dtype is None:
            raise pickle.UnpicklingError(f"{storage.name} tensors are not supported")
        data = self._storages.get(str(key))
        if data is None:
            raise ValueError(f"storage {key!r} is named in data.pkl but not in the archive")
        dtype = np.dtype(dtype).newbyteorder(self._order)
        if not isinstance(numel, int) or len(data) != numel * dtype.itemsize:
            raise ValueError(f"storage {key!r} holds {len(data)} bytes, not the {numel!r} "
                             f"elements of {dtype.itemsize} bytes data.pkl says")
        return np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="))


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """The tensors of the torch zip checkpoint `path`, as numpy arrays, by name. A file that
    is not such a checkpoint, or whose tensors do not fit their storages, raises ValueError;
    one that names any other global raises `pickle.UnpicklingError`."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a torch zip checkpoint (torch.save's format since "
                         "PyTorch 1.6); legacy checkpoints are not supported.")
    try:
        return _read_zip(path)
    except (pickle.UnpicklingError, ValueError):
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, IndexError, TypeError,
            AttributeError, UnicodeDecodeError, OverflowError, struct.error, RecursionError,
            NotImplementedError, OSError) as err:  # a damaged archive or pickle
        raise ValueError(f"{path!r} is not a readable torch checkpoint: "
                         f"{type(err).__name__}: {err}") from None


def _read_zip(path: str) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise ValueError(f"{path!r} holds {len(pickles)} data.pkl records, expected one.")
        prefix = pickles[0][: -len("data.pkl")]
        storages = {n[len(prefix) + len("data/"):]: archive.read(n) for n in names
                    if n.startswith(prefix + "data/")}
        order_file = prefix + "byteorder"
        byteorder = archive.read(order_file).decode().strip() if order_file in names else "little"
        if byteorder not in ("little", "big"):
            raise ValueError(f"{path!r}: unknown byte order {byteorder!r} in {order_file}")
        with archive.open(pickles[0]) as f:
            state = RestrictedUnpickler(f, storages, byteorder).load()
    if not isinstance(state, dict):
        raise ValueError(f"{path!r} holds a {type(state).__name__}, not a state dict.")
    return {k: v for k, v in state.items() if isinstance(v, np.ndarray)}


def _torchvision_name(ours: str) -> str:
    """torchvision's parameter prefix of our layer `ours` (``conv3_block1_0_bn`` ->
    ``layer2.0.downsample.1``)."""
    if ours in ("conv1_conv", "conv1_bn"):
        return "conv1" if ours.endswith("conv") else "bn1"
    if ours == "predictions":
        return "fc"
    stage, block, index, kind = ours.split("_")
    layer = f"layer{int(stage[4:]) - 1}.{int(block[5:]) - 1}"
    if index == "0":
        return f"{layer}.downsample.{0 if kind == 'conv' else 1}"
    return f"{layer}.{kind}{index}"


def port_torchvision_resnet(state: dict[str, np.ndarray], model) -> None:
    """Copies a torchvision ResNet state dict into `model` (our v1.5-compatible layout):
    conv kernels OIHW -> HWIO, the classifier (out, in) -> (in, out)."""
    import keras

    used = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = _torchvision_name(layer.name)
        if isinstance(layer, keras.layers.BatchNormalization):
            keys = [f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var")]
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            keys = [f"{prefix}.weight"] + ([f"{prefix}.bias"] if len(layer.weights) > 1 else [])
        else:
            raise ValueError(f"no torchvision counterpart for layer {layer.name!r}")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"the checkpoint lacks {missing} for layer {layer.name!r}")
        values = [state[k] for k in keys]
        if isinstance(layer, keras.layers.Conv2D):
            values[0] = values[0].transpose(2, 3, 1, 0)  # OIHW -> HWIO
        elif isinstance(layer, keras.layers.Dense):
            values[0] = values[0].T  # (out, in) -> (in, out)
        layer.set_weights(values)
        used.update(keys)
    has_top = any(layer.name == "predictions" for layer in model.layers)
    left = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked")
                  and (has_top or not k.startswith("fc.")))
    if left:
        raise ValueError(f"checkpoint tensors left unused: {left[:5]}")
