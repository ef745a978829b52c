"""Pretrained weights without the internet: files in the hosted formats are made here, served
from 127.0.0.1, downloaded into a temporary Keras cache, hash-checked and converted."""

import collections
import dataclasses
import hashlib
import importlib.util
import os
import pickle
import sys
import types
import zipfile

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.weights import table
from keras_resnet.weights.torch_checkpoint import _torchvision_name, read_state_dict


def md5(path) -> str:
    return hashlib.md5(open(path, "rb").read()).hexdigest()  # noqa: S324 (keras' own hashes)


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def serve_row(monkeypatch, model, include_top, url, file_hash, tag="imagenet", **changes):
    row = dataclasses.replace(table.PRETRAINED[(model, tag, include_top)], url=url,
                              file_hash=file_hash, **changes)
    monkeypatch.setitem(table.PRETRAINED, (model, tag, include_top), row)
    return row


def keras_applications_file(path, builder, **kwargs):
    """A keras.applications model with random weights (and random conv biases and BatchNorm
    statistics) saved in the legacy h5 layout keras.applications hosts."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    source = builder(weights=None, **kwargs)
    rng = np.random.default_rng(0)
    for layer in source.layers:
        values = layer.get_weights()
        if isinstance(layer, keras.layers.BatchNormalization):
            values[2] = rng.normal(0, 0.1, values[2].shape)
            values[3] = rng.uniform(0.5, 1.5, values[3].shape)
        elif isinstance(layer, keras.layers.Conv2D) and layer.use_bias:
            values[1] = rng.normal(0, 0.1, values[1].shape)
        layer.set_weights(values)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    return source


@pytest.mark.slow  # builds keras.applications models and 90 MB files; the TensorFlow pass runs it
@pytest.mark.parametrize("model,builder", [("resnet50", "ResNet50"),
                                           ("resnet50v2", "ResNet50V2")])
def test_keras_applications_weights_download_convert_and_cache(server, monkeypatch, rng,
                                                               model, builder):
    folder, base = server
    path = folder / f"{model}_notop.h5"
    source = keras_applications_file(path, getattr(keras.applications, builder),
                                     include_top=False, input_shape=(64, 64, 3), pooling="avg")
    serve_row(monkeypatch, model, False, base + path.name, md5(path))
    ours = keras_resnet.get_model(model, weights="imagenet", include_top=False,
                                  input_shape=(64, 64, 3), pooling="avg")
    x = rng.normal(size=(2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), source.predict(x, verbose=0),
                               atol=1e-4)
    cached = os.path.join(os.environ["KERAS_HOME"], "models", "keras_resnet", path.name)
    assert os.path.isfile(cached)
    path.unlink()  # the server no longer has it: the cache serves the second load
    again = keras_resnet.get_model(model, weights="imagenet", include_top=False,
                                   input_shape=(64, 64, 3), pooling="avg")
    np.testing.assert_array_equal(again.predict(x, verbose=0), ours.predict(x, verbose=0))


@pytest.mark.parametrize("damage", ["wrong hash", "truncated", "no server"])
def test_a_bad_download_fails_clearly_and_leaves_no_file(server, monkeypatch, damage):
    folder, base = server
    path = folder / "resnet50_notop.h5"
    path.write_bytes(os.urandom(4096))
    good_hash = md5(path)
    if damage == "wrong hash":
        good_hash = "0" * 32
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    url = base + path.name if damage != "no server" else "http://127.0.0.1:9/none.h5"
    serve_row(monkeypatch, "resnet50", False, url, good_hash)
    with pytest.raises(ValueError) as err:
        keras_resnet.ResNet50(weights="imagenet", include_top=False)
    cache = os.path.join(os.environ["KERAS_HOME"], "models", "keras_resnet")
    assert url in str(err.value) and cache in str(err.value)
    assert not os.path.exists(cache) or not os.listdir(cache)


def _fetch_in_a_process(row_args: tuple, keras_home: str) -> str:
    import dataclasses as dc  # noqa: F401 (run in a child process)

    os.environ["KERAS_HOME"] = keras_home
    from keras_resnet.weights.download import fetch

    return fetch(table.PretrainedWeights(*row_args))


def test_processes_fetching_one_file_at_once_end_with_one_good_file(server, monkeypatch):
    import concurrent.futures
    import multiprocessing

    folder, base = server
    path = folder / "resnet50_notop.h5"
    path.write_bytes(os.urandom(3 << 20))
    row = serve_row(monkeypatch, "resnet50", False, base + path.name, md5(path))
    args = tuple(getattr(row, f.name) for f in dataclasses.fields(row))
    home = os.environ["KERAS_HOME"]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(4, mp_context=context) as pool:
        got = list(pool.map(_fetch_in_a_process, [args] * 4, [home] * 4))
    cache = os.path.join(home, "models", "keras_resnet")
    assert set(got) == {os.path.join(cache, path.name)}
    assert os.listdir(cache) == [path.name] and md5(got[0]) == md5(path)


def test_a_full_disk_mid_download_is_a_clear_error_and_keeps_the_cache(server, monkeypatch):
    """The disk fills up while the file is written (a writer that fails with ENOSPC after
    1 MiB, as urlretrieve's file would on a full disk): a clear error that names it, nothing
    of the new file left, and the cache's complete files untouched."""
    import errno
    import urllib.request

    folder, base = server
    path = folder / "resnet50_notop.h5"
    path.write_bytes(os.urandom(3 << 20))
    serve_row(monkeypatch, "resnet50", False, base + path.name, md5(path))
    cache = os.path.join(os.environ["KERAS_HOME"], "models", "keras_resnet")
    os.makedirs(cache)
    kept = os.urandom(5000)
    with open(os.path.join(cache, "resnet18-f37072fd.pth"), "wb") as f:
        f.write(kept)

    class FullDisk:
        def __init__(self, file):
            self.file, self.written = file, 0

        def write(self, data):
            if self.written + len(data) > 1 << 20:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.written += len(data)
            return self.file.write(data)

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(urllib.request, "open",
                        lambda name, mode="r", *a, **k: FullDisk(open(name, mode, *a, **k)),
                        raising=False)
    with pytest.raises(ValueError, match="No space left on device") as err:
        keras_resnet.ResNet50(weights="imagenet", include_top=False)
    assert base + path.name in str(err.value) and cache in str(err.value)
    assert os.listdir(cache) == ["resnet18-f37072fd.pth"]
    assert open(os.path.join(cache, "resnet18-f37072fd.pth"), "rb").read() == kept


def test_an_unwritable_cache_is_a_clear_error(server, monkeypatch, tmp_path):
    folder, base = server
    (folder / "w.h5").write_bytes(b"x")
    serve_row(monkeypatch, "resnet50", False, base + "w.h5", md5(folder / "w.h5"))
    blocker = tmp_path / "file_not_folder"
    blocker.write_text("")
    monkeypatch.setenv("KERAS_HOME", str(blocker))  # makedirs fails below a file
    with pytest.raises(ValueError, match="the weights cache .* cannot be written .*KERAS_HOME"):
        keras_resnet.ResNet50(weights="imagenet", include_top=False)


def test_only_https_or_loopback_downloads(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    serve_row(monkeypatch, "resnet50", False, "http://example.com/w.h5", "0" * 32)
    with pytest.raises(ValueError, match="only https"):
        keras_resnet.ResNet50(weights="imagenet", include_top=False)


def test_unknown_model_tag_and_class_count_are_refused():
    with pytest.raises(ValueError, match="No pretrained 'imagenet' weights for resnet20"):
        keras_resnet.ResNet20(weights="imagenet")
    with pytest.raises(ValueError, match="1000-class top; got classes=10"):
        keras_resnet.ResNet50(weights="imagenet", classes=10)


def test_the_table_describes_every_row():
    for (model, tag, top), row in table.PRETRAINED.items():
        assert (row.model, row.tag, row.include_top) == (model, tag, top)
        assert row.url.startswith(("https://", "package:")), row.url
        assert len(row.file_hash) in (8, 32, 64) and row.license and row.classes > 0
        assert row.preprocessing in keras_resnet.preprocessing.PREPROCESSING, row.preprocessing
        keras_resnet.registry.get_entry(model)  # a registered architecture


# --- CIFAR-10 weights trained by this project, shipped inside the package --------------------

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..",
                      "shared", "data", "cifar10", "train")
SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "training", "sample_data", "cifar10")


def cifar_images(root, per_class, last):
    """(pixels, labels) of `per_class` images per class: the last ones of each class folder
    (the val split of 45k/5k) or the first ones."""
    from PIL import Image

    pixels, labels = [], []
    for label, name in enumerate(keras_resnet.preprocessing.CIFAR10_LABELS):
        files = sorted(os.listdir(os.path.join(root, name)))
        for f in (files[-per_class:] if last else files[:per_class]):
            pixels.append(np.asarray(Image.open(os.path.join(root, name, f)).convert("RGB")))
            labels.append(label)
    return np.stack(pixels).astype("float32"), np.array(labels)


CIFAR10_MODELS = sorted({m for m, tag, _ in table.PRETRAINED if tag == "cifar10"})


@pytest.mark.parametrize("name", CIFAR10_MODELS)
def test_cifar10_weights_load_offline_and_classify(name, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # nothing is downloaded
    row = table.find(name, "cifar10", True)
    assert row.url.startswith("package:") and row.preprocessing == "cifar10"
    model = keras_resnet.get_model(name, weights="cifar10")
    if os.path.isdir(SHARED):  # the held-out val images the weights never trained on
        pixels, labels = cifar_images(SHARED, 100, last=True)
    elif os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the CIFAR-10 folder {SHARED} is missing")
    else:  # the embedded sample: training images, a weaker but still failable check
        pixels, labels = cifar_images(SAMPLE, 30, last=False)
    probs = model.predict(keras_resnet.preprocess_input(pixels, row.preprocessing), verbose=0)
    assert (probs.argmax(1) == labels).mean() >= 0.8  # random weights: ~0.1
    top = keras_resnet.decode_predictions(probs[:1], labels="cifar10", top=1)[0][0]
    assert top[1] == keras_resnet.preprocessing.CIFAR10_LABELS[top[0]]
    assert not os.listdir(tmp_path)
    headless = keras_resnet.get_model(name, weights="cifar10", include_top=False,
                                      pooling="avg")
    last_conv = [layer.name for layer in model.layers if layer.name.endswith("_conv")][-1]
    np.testing.assert_array_equal(headless.get_layer(last_conv).get_weights()[0],
                                  model.get_layer(last_conv).get_weights()[0])


def test_include_preprocessing_takes_raw_pixels(tmp_path, rng):
    """True bakes in the pretrained weights' own normalization; a named mode (here caffe's
    BGR mean subtraction) any other; either model saves and loads in safe mode."""
    pixels = rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    plain = keras_resnet.ResNet20(weights="cifar10")
    raw = keras_resnet.ResNet20(weights="cifar10", include_preprocessing=True)
    expected = plain.predict(keras_resnet.preprocess_input(pixels, "cifar10"), verbose=0)
    np.testing.assert_allclose(raw.predict(pixels, verbose=0), expected, atol=1e-5)
    assert [layer.name for layer in raw.layers] == ["image", "normalize", "resnet20"]

    caffe = keras_resnet.ResNet18(input_shape=(32, 32, 3), include_preprocessing="caffe")
    inner = caffe.get_layer("resnet18")
    expected = inner.predict(keras_resnet.preprocess_input(pixels, "caffe"), verbose=0)
    np.testing.assert_allclose(caffe.predict(pixels, verbose=0), expected, atol=1e-5)
    path = tmp_path / "caffe.keras"
    caffe.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(pixels, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize("value,message", [(True, "not a published tag"),
                                           ("imagenet", "choose True")])
def test_include_preprocessing_needs_a_known_normalization(value, message):
    with pytest.raises(ValueError, match=message):
        keras_resnet.ResNet20(include_preprocessing=value)


def test_a_damaged_packaged_file_is_refused(monkeypatch):
    row = table.find("resnet20", "cifar10", True)
    monkeypatch.setitem(table.PRETRAINED, ("resnet20", "cifar10", True),
                        dataclasses.replace(row, file_hash="0" * 64))
    with pytest.raises(ValueError, match="does not match its hash; reinstall"):
        keras_resnet.ResNet20(weights="cifar10")


# --- torchvision checkpoints, read without torch --------------------------------------------

def torch_state_dict_of(model) -> dict[str, np.ndarray]:
    """Our model's weights under torchvision's names and layouts (OIHW kernels)."""
    state = collections.OrderedDict()
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = _torchvision_name(layer.name)
        values = layer.get_weights()
        if isinstance(layer, keras.layers.BatchNormalization):
            for key, value in zip(("weight", "bias", "running_mean", "running_var"), values,
                                  strict=True):
                state[f"{prefix}.{key}"] = value
            state[f"{prefix}.num_batches_tracked"] = np.array(7, np.int64)
        elif isinstance(layer, keras.layers.Conv2D):
            state[f"{prefix}.weight"] = values[0].transpose(3, 2, 0, 1)
        else:
            state[f"{prefix}.weight"], state[f"{prefix}.bias"] = values[0].T, values[1]
    return state


def write_torch_zip(path, state: dict[str, np.ndarray], payload=None, views=None,
                    numels=None, byteorder: str = "little") -> None:
    """torch.save's zip layout, written without torch: fake ``torch`` modules only give the
    pickler the global names a real checkpoint holds. `payload` replaces the state dict;
    `views` ({name: (offset, size, stride)}) and `numels` ({name: n}) replace what the pickle
    says of a tensor, as a damaged or crafted file would; `byteorder` is the storages'."""
    views, numels = views or {}, numels or {}
    fake_torch, fake_utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    fake_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    storage_types = {}
    for name in ("FloatStorage", "LongStorage"):
        storage_types[name] = type(name, (), {"__module__": "torch"})
        setattr(fake_torch, name, storage_types[name])

    class Storage:
        def __init__(self, key, kind, numel):
            self.key, self.kind, self.numel = key, kind, numel

    class Tensor:
        def __init__(self, key, name, array):
            self.array, self.name = np.ascontiguousarray(array), name
            kind = "LongStorage" if array.dtype == np.int64 else "FloatStorage"
            self.storage = Storage(key, kind, numels.get(name, self.array.size))

        def __reduce__(self):
            stride = tuple(s // self.array.itemsize for s in self.array.strides)
            offset, size, stride = views.get(self.name, (0, self.array.shape, stride))
            return (_rebuild_tensor_v2, (self.storage, offset, size, stride, False,
                                         collections.OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", storage_types[obj.kind], obj.key, "cpu", obj.numel)
            return None

    tensors = {k: Tensor(str(i), k, v) for i, (k, v) in enumerate(state.items())}
    saved = {m: sys.modules.get(m) for m in ("torch", "torch._utils")}
    sys.modules.update({"torch": fake_torch, "torch._utils": fake_utils})
    try:
        import io

        buffer = io.BytesIO()
        Pickler(buffer, protocol=2).dump(
            payload if payload is not None else collections.OrderedDict(tensors))
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/byteorder", byteorder)
        archive.writestr("archive/version", "3\n")
        for tensor in tensors.values():
            order = "<" if byteorder == "little" else ">"
            data = tensor.array.astype(tensor.array.dtype.newbyteorder(order)).tobytes()
            archive.writestr(f"archive/data/{tensor.storage.key}", data)


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None,
                    reason="the fake torch modules would shadow the real torch")
def test_torchvision_checkpoint_downloads_and_converts(server, monkeypatch, rng):
    folder, base = server
    source = keras_resnet.ResNet18(input_shape=(64, 64, 3), classifier_activation=None)
    state = torch_state_dict_of(source)
    path = folder / "resnet18-00000000.pth"
    write_torch_zip(path, state)
    read = read_state_dict(str(path))
    assert read.keys() == state.keys()
    np.testing.assert_array_equal(read["layer2.0.downsample.0.weight"],
                                  state["layer2.0.downsample.0.weight"])
    serve_row(monkeypatch, "resnet18", True, base + path.name, sha256(path)[:8],
              size_mib=None)  # a file of other weights than torchvision's published one
    ours = keras_resnet.ResNet18(weights="imagenet", input_shape=(64, 64, 3),
                                 classifier_activation=None)
    x = rng.normal(size=(2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), source.predict(x, verbose=0),
                               atol=1e-5)
    serve_row(monkeypatch, "resnet18", False, base + path.name, sha256(path)[:8],
              size_mib=None)
    keras_resnet.ResNet18(weights="imagenet", include_top=False)  # same file, fc skipped


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None,
                    reason="the fake torch modules would shadow the real torch")
def test_torchvision_v2_weights_load_in_the_v15_layout_with_size_and_hash_checked(
        server, monkeypatch, rng):
    """weights="imagenet_torchvision" (IMAGENET1K_V2) builds the stride-in-3x3 layout by
    itself, refuses the paper's v1 layout naming the argument, and checks the file's hash
    prefix and its published size."""
    folder, base = server
    keras.utils.set_random_seed(0)
    source = keras_resnet.ResNet50(input_shape=(64, 64, 3), classifier_activation=None,
                                   bottleneck_stride="3x3")
    for layer in source.layers:  # BatchNorm statistics of trained weights, not the identity
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma, beta, rng.normal(0, 0.1, mean.shape),
                               rng.uniform(0.5, 1.5, var.shape)])
    path = folder / "resnet50-00000000.pth"
    write_torch_zip(path, torch_state_dict_of(source))
    size_mib = round(path.stat().st_size / 2**20, 3)
    serve_row(monkeypatch, "resnet50", True, base + path.name, sha256(path)[:8],
              tag="imagenet_torchvision", size_mib=size_mib)
    ours = keras_resnet.ResNet50(weights="imagenet_torchvision", input_shape=(64, 64, 3),
                                 classifier_activation=None)
    assert keras_resnet.build_args(ours)["bottleneck_stride"] == "3x3"
    x = rng.normal(size=(2, 64, 64, 3)).astype("float32")
    want = source.predict(x, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), want,
                               atol=1e-4 * max(1.0, np.abs(want).max()))
    with pytest.raises(ValueError, match=r"stride in the 3x3 conv \(v1.5, torchvision's layout\)"
                                         r".*set bottleneck_stride='3x3'"):
        keras_resnet.ResNet50(weights="imagenet_torchvision", bottleneck_stride="1x1")
    with pytest.raises(ValueError, match=r"trained with the stride in the 1x1 conv"):
        keras_resnet.ResNet50(weights="imagenet", bottleneck_stride="3x3")
    os.remove(os.path.join(os.environ["KERAS_HOME"], "models", "keras_resnet", path.name))
    serve_row(monkeypatch, "resnet50", True, base + path.name, sha256(path)[:8],
              tag="imagenet_torchvision", size_mib=size_mib + 0.01)
    with pytest.raises(ValueError, match=r"its publisher states .* MiB"):
        keras_resnet.ResNet50(weights="imagenet_torchvision", input_shape=(64, 64, 3))


def test_the_best_tag_is_torchvisions_new_recipe_where_it_exists():
    assert table.best_tag("resnet50") == "imagenet_torchvision"
    assert table.best_tag("resnet18") == "imagenet" and table.best_tag("resnet20") is None
    for model in ("resnet50", "resnet101", "resnet152"):
        row = table.PRETRAINED[(model, "imagenet_torchvision", True)]
        assert row.url.startswith(table.TORCHVISION) and len(row.file_hash) == 8
        assert row.top1 > 80 and row.size_mib > 90 and row.bottleneck_stride == "3x3"
        assert row.eval_transform == "resize 232 (bilinear), center crop 224"


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None,
                    reason="the fake torch modules would shadow the real torch")
def test_a_malicious_checkpoint_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth"
    write_torch_zip(path, {}, payload={"conv1.weight": Exploit()})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        read_state_dict(str(path))
    assert not marker.exists()


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None,
                    reason="the fake torch modules would shadow the real torch")
@pytest.mark.parametrize("views,numels,message", [
    ({"w": (0, (64, 64), (64, 1))}, {}, r"size \(64, 64\), stride \(64, 1\) at offset 0 "
                                        r"reaches element 4095 of a storage of 4"),
    ({"w": (3, (2,), (1,))}, {}, "reaches element 4 of a storage of 4"),
    ({"w": (0, (2, 2), (2,))}, {}, "2 dimensions but 1 strides"),
    ({"w": (0, (2, 2), (-1, 1))}, {}, "stride must be non-negative integers"),
    ({}, {"w": 64}, "holds 16 bytes, not the 64 elements"),
])
def test_a_tensor_outside_its_storage_is_refused(tmp_path, views, numels, message):
    """A view past its storage would read memory beyond the file's bytes (as_strided checks
    nothing): the reader refuses it, and a storage whose size is not what data.pkl says."""
    path = tmp_path / "bad.pth"
    write_torch_zip(path, {"w": np.arange(4, dtype=np.float32)}, views=views, numels=numels)
    with pytest.raises(ValueError, match=message):
        read_state_dict(str(path))


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None,
                    reason="the fake torch modules would shadow the real torch")
def test_views_inside_the_storage_and_big_endian_files_read_right(tmp_path):
    values = np.arange(12, dtype=np.float32)
    path = tmp_path / "ok.pth"
    write_torch_zip(path, {"w": values}, views={"w": (2, (2, 3), (1, 2))}, byteorder="big")
    read = read_state_dict(str(path))["w"]
    np.testing.assert_array_equal(read, values[2:][np.arange(2)[:, None] + 2 * np.arange(3)])
    assert read.dtype == np.float32 and read.dtype.isnative


#: Run apart from TensorFlow: importing torch (its triton) after TensorFlow has loaded can crash
#: the process. Writes torchvision's random network (BatchNorm statistics as trained weights
#: have them, not the identity of init) as a .pth, and its logits on the given input.
TORCH_REFERENCE = """
import sys
import numpy as np
import torch, torchvision
name, pth, x_path, out = sys.argv[1:]
torch.manual_seed(0)
reference = getattr(torchvision.models, name)().eval()
with torch.no_grad():
    for module in reference.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.uniform_(0.5, 1.5)
            module.bias.uniform_(-0.2, 0.2)
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    torch.save(reference.state_dict(), pth)  # torch's zip format, as torchvision hosts it
    x = np.load(x_path)
    np.save(out, reference(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy())
print(torch.__version__, torchvision.__version__)
"""


@pytest.mark.skipif(importlib.util.find_spec("torch") is None
                    or importlib.util.find_spec("torchvision") is None,
                    reason="torch and torchvision are not installed here (the GPU machine has "
                           "them)")
@pytest.mark.parametrize("name,options", [("resnet18", {}), ("resnet34", {}),
                                          ("resnet50", {"bottleneck_stride": "3x3"}),
                                          ("resnet101", {"bottleneck_stride": "3x3"}),
                                          ("resnet152", {"bottleneck_stride": "3x3"})])
def test_torchvision_forward_pass_matches_where_torch_is_installed(name, options, tmp_path):
    import subprocess

    x = np.random.default_rng(0).normal(size=(2, 224, 224, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    path, out = str(tmp_path / f"{name}.pth"), str(tmp_path / "expected.npy")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    made = subprocess.run([sys.executable, "-c", TORCH_REFERENCE, name, path,
                           str(tmp_path / "x.npy"), out], capture_output=True, text=True,
                          env=env, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    expected = np.load(out)
    from keras_resnet.weights.torch_checkpoint import port_torchvision_resnet

    ours = keras_resnet.get_model(name, classifier_activation=None, **options)
    port_torchvision_resnet(read_state_dict(path), ours)
    got = ours.predict(x, verbose=0)
    assert np.abs(expected).max() > 0.1  # a real signal, not a collapsed output
    np.testing.assert_allclose(got, expected, atol=1e-4 * max(1.0, np.abs(expected).max()))
    assert (got.argmax(-1) == expected.argmax(-1)).all()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
