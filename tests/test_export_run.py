"""export/export.py end to end on the embedded sample images: every variant, the report, the
edge-side predict.py without TensorFlow, and bad input failing before anything is written."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from absl import flags
from no_tensorflow import CLEAN, run_without_tensorflow

import keras_resnet
from keras_resnet.common import config_flags
from keras_resnet.export.config import ExportConfig

pytestmark = pytest.mark.tf_backend  # the TFLite converter needs TensorFlow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORT = os.path.join(ROOT, "export", "export.py")
PREDICT = os.path.join(ROOT, "export", "predict.py")
SAMPLE = os.path.join(ROOT, "training", "sample_data", "cifar10")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """An untrained ResNet-20 (logits, 10 classes) with BatchNorm statistics that are not the
    identity, saved as .keras."""
    keras.utils.set_random_seed(0)
    model = keras_resnet.ResNet20(classifier_activation=None)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma, beta + rng.normal(0, 0.1, beta.shape),
                               mean + rng.normal(0, 0.1, mean.shape),
                               var * rng.uniform(0.5, 1.5, var.shape)])
    path = tmp_path_factory.mktemp("model") / "resnet20.keras"
    model.save(path)
    return str(path)


def export(*args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    return subprocess.run([sys.executable, EXPORT, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


COMMON = [f"--dataset=folder:{SAMPLE}", "--normalization=cifar10", "--eval_samples=60",
          "--calibration_samples=40", "--latency_runs=3", "--latency_threads=1"]


@pytest.fixture(scope="module")
def exported(model_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "out"
    result = export(f"--model_file={model_file}", f"--output_dir={out}", *COMMON,
                    "--quantize=float32,float16,dynamic,int8,qat", "--qat_train_samples=96",
                    "--qat_batch_size=32")
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_export_flagfiles_parse():
    """Every shipped export flagfile parses into an `ExportConfig` (flag validators and the
    config's own checks) and writes under runs/export/."""
    folder = os.path.join(ROOT, "export", "configs")
    for name in sorted(os.listdir(folder)):
        values = flags.FlagValues()
        config_flags.define_flags(ExportConfig, values)
        values(["export.py", f"--flagfile={os.path.join(folder, name)}"])
        config = config_flags.config_from_flags(ExportConfig, values)
        assert config.output_dir.startswith("runs/export/"), name
        assert config.quantize, name


def test_every_variant_is_written_and_verified(exported):
    names = set(os.listdir(exported))
    assert {"saved_model", "labels.txt", "preprocessing.json", "report.json", "report.md"} <= names
    assert not [n for n in names if n.startswith(".tmp")]  # no temporaries left behind
    report = json.load(open(exported / "report.json"))
    variants = report["variants"]
    assert list(variants) == ["float32", "float16", "dynamic", "int8", "qat"]
    for name, entry in variants.items():
        assert (exported / f"model_{name}.tflite").stat().st_size == entry["bytes"]
        assert 0.0 <= entry["top1"] <= 1.0 and entry["latency"]["1_thread"]["median_ms"] > 0
    assert variants["float32"]["max_abs_logit_diff"] <= 1e-4
    assert variants["float32"]["max_abs_logit_diff_float64"] <= 1e-4
    assert 0 < report["eval"]["keras_float32_vs_float64_max_abs_logit_diff"] <= 1e-4
    assert "max_abs_logit_diff_float64" not in variants["int8"]
    assert variants["float32"]["agreement"] == 1.0
    base = variants["float32"]["bytes"]
    assert variants["float16"]["bytes"] <= 0.51 * base
    for name in ("dynamic", "int8", "qat"):
        assert variants[name]["bytes"] <= 0.29 * base, name
    for name in ("int8", "qat"):  # full integer: no float fallback, int8 in and out
        assert variants[name]["integer_only_problems"] == [], name
        assert variants[name]["input_dtype"] == "int8"
        assert "DEQUANTIZE" not in variants[name]["ops"]
    assert report["qat"]["twin_max_abs_diff"] <= 1e-5
    assert report["eval"]["images"] == 60
    table = (exported / "report.md").read_text()
    assert "| int8 |" in table and "| qat |" in table
    assert (exported / "labels.txt").read_text().split() == sorted(os.listdir(SAMPLE))


def test_predict_classifies_without_tensorflow(exported):
    images = [os.path.join(SAMPLE, c, sorted(os.listdir(os.path.join(SAMPLE, c)))[0])
              for c in ("cat", "ship")]
    result = run_without_tensorflow(
        PREDICT, ["--model", str(exported / "model_int8.tflite"), "--top", "2", *images],
        timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == CLEAN
    labels = set((exported / "labels.txt").read_text().split())
    for image, line in zip(images, lines[:2], strict=True):
        assert line.startswith(image + ": ")
        found = [part.split()[0] for part in line.split(": ", 1)[1].split(", ")]
        assert len(found) == 2 and set(found) <= labels


def test_latency_benchmark_runs_on_an_export_folder(exported):
    bench = os.path.join(ROOT, "bench", "tflite_latency.py")
    result = subprocess.run([sys.executable, bench, str(exported), "--runs", "2", "--rounds", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split()[0].rsplit("/", 1)[1]: line.split()
            for line in result.stdout.splitlines() if "model_" in line}
    assert len(rows) == 5
    assert rows["model_float32.tflite"][2] == "1.000"  # float32 against itself (size)
    assert rows["model_float32.tflite"][4] == "1.000"  # and latency


def test_predict_matches_the_keras_model(exported, model_file):
    from keras_resnet.export.predict import LiteRTClassifier, load_image, preprocess

    prep = json.load(open(exported / "preprocessing.json"))
    folder = os.path.join(SAMPLE, "dog")
    pixels = np.stack([load_image(os.path.join(folder, f), (32, 32))
                       for f in sorted(os.listdir(folder))[:8]])
    inputs = preprocess(pixels, prep)
    model = keras.models.load_model(model_file)
    tflite = LiteRTClassifier(str(exported / "model_float32.tflite")).logits(inputs)
    np.testing.assert_allclose(tflite, model.predict(inputs, verbose=0), atol=1e-4)


def test_predict_reads_16_bit_photos_as_the_trainer_does(tmp_path, rng):
    """predict.py scales 16-bit grey to 0..255 as TensorFlow's decoder does (Pillow's own
    convert("RGB") clips it at 255)."""
    from PIL import Image

    from keras_resnet.export.predict import load_image

    grey16 = (rng.integers(0, 256, (8, 8)) * 257).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "g.png")
    pixels = load_image(str(tmp_path / "g.png"), (8, 8))
    np.testing.assert_array_equal(pixels[..., 1], np.round(grey16 / 257))


def test_random_networks_get_batchnorm_statistics_from_images(rng):
    from keras_resnet.export.pipeline import set_batchnorm_statistics

    model = keras_resnet.get_model("resnet50", input_shape=(64, 64, 3), classes=10,
                                   classifier_activation=None)
    images = rng.normal(size=(8, 64, 64, 3)).astype("float32")
    before = np.abs(model.predict(images, verbose=0)).max()
    set_batchnorm_statistics(model, images)
    after = np.abs(model.predict(images, verbose=0)).max()
    assert before > 100 and after < 20  # random init explodes; normalized it does not
    bn = model.get_layer("conv5_block3_3_bn")
    assert bn.momentum == 0.9 and not np.allclose(bn.moving_variance.numpy(), 1.0)


def test_preprocessing_inside_and_uint8_io(model_file, tmp_path):
    out = tmp_path / "out"
    result = export(f"--model_file={model_file}", f"--output_dir={out}", *COMMON,
                    "--quantize=float32,int8", "--include_preprocessing", "--int8_io=uint8")
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.load(open(out / "report.json"))
    assert report["preprocessing"]["included"] is True
    assert report["variants"]["int8"]["input_dtype"] == "uint8"
    assert report["variants"]["float32"]["max_abs_logit_diff"] <= 1e-4
    from keras_resnet.export.predict import LiteRTClassifier

    classifier = LiteRTClassifier(str(out / "model_int8.tflite"))
    scale, zero_point = classifier.input["quantization"]
    assert abs(scale - 1.0) < 0.05 and abs(zero_point) <= 2  # raw pixels go in unchanged


@pytest.mark.parametrize("args,message", [
    (["--model_file=/nonexistent.keras"], "no model file"),
    (["--quantize=float32,int4"], "--quantize takes"),
    (["--model=resnet20", "--image_size=32", "--quantize=int8", "--dataset="],
     "need training images"),
])
def test_bad_input_fails_clearly_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    result = export(f"--output_dir={out}", "--latency_runs=1", *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert not out.exists()


def test_corrupt_model_and_unfixed_input_shape(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    result = export(f"--model_file={bad}", f"--output_dir={tmp_path / 'a'}")
    assert result.returncode != 0 and "cannot load" in result.stderr
    free = tmp_path / "free.keras"
    keras_resnet.ResNet20(input_shape=(None, None, 3)).save(free)
    result = export(f"--model_file={free}", f"--output_dir={tmp_path / 'b'}")
    assert result.returncode != 0 and "fixed spatial size" in result.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_empty_calibration_data_and_unwritable_output(model_file, tmp_path):
    empty = tmp_path / "empty"
    for name in ("a", "b"):
        (empty / name).mkdir(parents=True)
    result = export(f"--model_file={model_file}", f"--output_dir={tmp_path / 'out'}",
                    f"--dataset=folder:{empty}", "--quantize=int8")
    assert result.returncode != 0 and "hold no images" in result.stderr
    assert not (tmp_path / "out").exists()
    blocker = tmp_path / "a_file"  # a folder cannot be made inside a file, even by root
    blocker.write_text("")
    result = export(f"--model_file={model_file}", f"--output_dir={blocker / 'out'}",
                    *COMMON, "--quantize=float32")
    assert result.returncode != 0 and "cannot write to the output directory" in result.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
