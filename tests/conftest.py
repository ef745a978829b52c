"""Shared test setup: TensorFlow backend unless KERAS_BACKEND says otherwise, quiet logs,
TensorFlow's oneDNN kernels decided up front (as the entry points ask for them, and so that
their subprocesses need not start again to get them), and a fresh Keras session per test
(layer name counters and memory)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: Test files by how long they take, longest first (`pytest --durations=0`, TensorFlow pass).
#: Under `-n 2 --dist loadfile` the workers take files in this order, then the rest in
#: collection order: the longest must not start last and keep one worker busy while the other
#: idles. A stale list costs time, never a test.
LONGEST_FIRST = (
    "test_train_run.py", "test_export_run.py", "test_builder.py", "test_weights_load.py",
    "test_train_loop.py", "test_fuzz_readers.py", "test_train_finetune.py",
    "test_train_run_jax.py", "test_train_distillation.py", "test_common_cpu_kernels.py",
    "test_weights_keras_applications.py", "test_export_qat.py", "test_training_carry_run.py",
)
#: Files that read the session's built models (`default_model`): one worker runs them all, so
#: that the largest models (ResNet-1202) are built once.
SHARING_BUILT_MODELS = ("test_builder.py", "test_flops.py", "test_summary.py")


def _file_rank(item) -> int:
    name = item.path.name
    if name in SHARING_BUILT_MODELS:
        name = SHARING_BUILT_MODELS[0]
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(optionalhook=True)  # the hook is pytest-xdist's; without it, unused
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` with the files of SHARING_BUILT_MODELS as one unit and the units in
    collection order (see `pytest_collection_modifyitems`), not xdist's most-tests-first."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "built models" if path.rsplit("/", 1)[-1] in SHARING_BUILT_MODELS else path

    config.option.loadscopereorder = False
    return Scheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Orders the files longest first (LONGEST_FIRST; a stable sort keeps each file's own
    order). Under a backend other than TensorFlow, two kinds of test are skipped, because the
    TensorFlow pass of the suite runs them: tf_backend ones exercise the tf.distribute trainer
    or the TFLite converter, which need TensorFlow; backend_independent ones test code whose
    result does not depend on the Keras backend (spec tables, flag parsing, tf.data, counts)."""
    items.sort(key=_file_rank)
    if keras.backend.backend() == "tensorflow":
        return
    reasons = {
        "tf_backend": "needs KERAS_BACKEND=tensorflow; the TensorFlow pass runs this test",
        "backend_independent": "its result does not depend on the Keras backend; the "
                               "TensorFlow pass runs this test",
    }
    for item in items:
        for mark, reason in reasons.items():
            if mark in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
                break


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    """A fresh Keras session (layer name counters) and no TensorFlow global seed left by an
    earlier test of the same worker: a test's random draws must not depend on which file ran
    before it. Without Keras' forced garbage collection (`free_memory=False`): a full
    collection of a heap holding TensorFlow or JAX takes a quarter of a second to seconds, and
    per test that was a sixth of the suite's time; Python's own collector still runs."""
    keras.backend.clear_session(free_memory=False)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.compat.v1.set_random_seed(None)


@pytest.fixture(scope="session")
def default_model():
    """`default_model(name)`: the registered model with default arguments, built once per test
    session (the largest take seconds to build; several test files read the same ones)."""
    import functools

    import keras_resnet

    return functools.lru_cache(maxsize=None)(keras_resnet.get_model)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def image_folder(tmp_path):
    """A tiny image folder: 3 classes x 12 random 12x12 PNGs (enough for a 2-epoch run)."""
    from PIL import Image

    root = tmp_path / "images"
    rng = np.random.default_rng(1)
    for c, name in enumerate(["cat", "dog", "emu"]):
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 80, (12, 12, 3)) + 80 * c
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(folder, base URL): an HTTP server on 127.0.0.1 serving `folder`; KERAS_HOME is a
    fresh temporary cache."""
    import functools
    import http.server
    import threading

    folder = tmp_path / "served"
    folder.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def hold_in_another_process():
    """`hold_in_another_process(folder)`: a live process holding `folder`'s lock
    (`keras_resnet.common.folder_lock`) as a running trainer does; returns its Popen, which
    the test may kill; any still running at the end is killed."""
    import subprocess
    import sys

    held = []

    def start(folder) -> subprocess.Popen:
        code = ("import sys, time\nfrom keras_resnet.common.folder_lock import hold\n"
                "with hold(sys.argv[1], 'training'):\n    print('held', flush=True)\n"
                "    time.sleep(120)\n")
        proc = subprocess.Popen([sys.executable, "-c", code, str(folder)],
                                stdout=subprocess.PIPE, text=True)
        held.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in held:
        proc.kill()
        proc.wait()
