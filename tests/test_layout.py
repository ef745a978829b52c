"""Every module has a test file named after it: keras_resnet/P/M.py -> tests/test_P_M.py,
keras_resnet/M.py -> tests/test_M.py, training/M.py -> tests/test_training_M.py. A module that
is tested through another module's file is listed below with that file and why."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.backend_independent

#: module -> (the test file that covers it, why it has none of its own)
COVERED_BY = {
    "keras_resnet/blocks.py": ("test_builder.py", "blocks are built and checked through the "
                               "builder, which is their only user"),
    "keras_resnet/models.py": ("test_builder.py", "the public builders are one line each over "
                               "the builder and the weights"),
    "keras_resnet/paper.py": ("test_flops.py", "published numbers, compared where they apply"),
    "keras_resnet/common/entry.py": ("test_export_run.py", "the start of the commands, run as "
                                     "subprocesses there and in test_train_run.py"),
    "keras_resnet/data/augment_layers.py": ("test_data_numpy_loader.py",
                                            "the numpy path's device-side augmentation"),
    "keras_resnet/export/flatbuffer.py": ("test_export_metadata.py", "every metadata write "
                                          "parses and packs a model"),
    "keras_resnet/export/feature_maps.py": ("test_export_run.py", "a backbone exported end "
                                            "to end"),
    "keras_resnet/export/converter.py": ("test_export_run.py", "every variant end to end"),
    "keras_resnet/export/verify.py": ("test_export_run.py", "the report of every export"),
    "keras_resnet/export/report.py": ("test_export_run.py", "report.json and report.md"),
    "keras_resnet/export/pipeline.py": ("test_export_run.py", "the export steps end to end"),
    "keras_resnet/export/predict.py": ("test_export_run.py", "run without TensorFlow on exports"),
    "keras_resnet/export/mediapipe_client.py": ("test_export_run.py", "MediaPipe on every "
                                                "variant of the exports there"),
    "keras_resnet/train/config.py": ("test_train_flags.py", "the config and its flags together"),
    "keras_resnet/train/distribute.py": ("test_train_run.py", "strategies need processes"),
    "keras_resnet/train/distributed_loop.py": ("test_train_run.py",
                                               "two worker processes on 127.0.0.1"),
    "keras_resnet/weights/download.py": ("test_weights_load.py", "files served from 127.0.0.1"),
    "keras_resnet/weights/table.py": ("test_weights_load.py", "every row described and loaded"),
    "keras_resnet/weights/torch_checkpoint.py": ("test_weights_load.py",
                                                 "torchvision files made and served locally"),
    "training/train.py": ("test_train_run.py", "the thin script of keras_resnet/train/run.py"),
}


def _modules() -> list[str]:
    found = []
    for base in ("keras_resnet", "training"):
        for folder, dirs, files in os.walk(os.path.join(ROOT, base)):
            dirs[:] = [d for d in dirs if d != "experiments"]  # tests/test_experiments.py
            found += [os.path.relpath(os.path.join(folder, f), ROOT) for f in files
                      if f.endswith(".py") and f != "__init__.py"]
    return sorted(found)


def _test_file_of(module: str) -> str:
    parts = module[:-3].split(os.sep)
    if parts[0] == "keras_resnet":
        parts = parts[1:]
    return "test_" + "_".join(parts) + ".py"


@pytest.mark.parametrize("module", _modules())
def test_every_module_has_its_test_file(module):
    own = _test_file_of(module)
    if module in COVERED_BY:
        other, _ = COVERED_BY[module]
        assert not os.path.exists(os.path.join(ROOT, "tests", own)), (
            f"{module} has {own} now: take it out of COVERED_BY")
        assert os.path.exists(os.path.join(ROOT, "tests", other))
    else:
        assert os.path.exists(os.path.join(ROOT, "tests", own)), f"{module} has no tests/{own}"


def test_the_exemptions_name_real_modules():
    assert set(COVERED_BY) <= set(_modules())


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
