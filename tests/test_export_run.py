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
    assert report["preprocessing"]["scores"] == "probabilities"  # the default
    assert variants["float32"]["max_abs_diff"] <= 1e-5  # probabilities: logits' diff, shrunk
    assert variants["float32"]["max_abs_diff_float64"] <= 1e-5
    assert 0 < report["eval"]["keras_float32_vs_float64_max_abs_diff"] <= 1e-5
    assert "max_abs_diff_float64" not in variants["int8"]
    for name, entry in variants.items():
        assert "SOFTMAX" in entry["ops"], name
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


def test_predict_takes_the_class_names_from_the_models_metadata(exported, tmp_path):
    import shutil

    for name in ("model_float16.tflite", "preprocessing.json"):
        shutil.copy(exported / name, tmp_path / name)  # no labels.txt beside the model
    image = os.path.join(SAMPLE, "ship", sorted(os.listdir(os.path.join(SAMPLE, "ship")))[0])
    result = run_without_tensorflow(
        PREDICT, ["--model", str(tmp_path / "model_float16.tflite"), "--top", "3", image],
        timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    found = [part.split()[0] for part in result.stdout.splitlines()[0].split(": ", 1)[1]
             .split(", ")]
    assert len(found) == 3 and set(found) <= set(os.listdir(SAMPLE))


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


def test_operator_profile_benchmark_runs_on_an_export_folder(exported):
    bench = os.path.join(ROOT, "bench", "tflite_op_profile.py")
    result = subprocess.run([sys.executable, bench, str(exported), "--runs=2", "--rounds=1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    whole = {line.split()[0]: line.split() for line in lines
             if line.startswith(("float32 ", "int8 "))}
    assert whole["float32"][-1] == "1.00" and int(whole["int8"][1]) >= 10  # operators
    table = lines[lines.index("every operator (execution order):") + 2:]
    assert table[0].split()[1] == "SUB"  # the normalization inside the model comes first
    assert any(row.split()[1] == "CONV_2D" for row in table)


def test_predict_matches_the_keras_model(exported, model_file):
    from keras_resnet.export.predict import LiteRTClassifier, load_image, preprocess

    prep = json.load(open(exported / "preprocessing.json"))
    folder = os.path.join(SAMPLE, "dog")
    pixels = np.stack([load_image(os.path.join(folder, f), (32, 32))
                       for f in sorted(os.listdir(folder))[:8]])
    assert prep["included"]  # the default: the file takes raw pixels
    model = keras.models.load_model(model_file)
    normalized = (pixels - np.asarray(prep["mean"])) / np.asarray(prep["std"])
    tflite = LiteRTClassifier(str(exported / "model_float32.tflite")).scores(
        preprocess(pixels, prep))
    logits = model.predict(normalized.astype("float32"), verbose=0)  # the model has no softmax
    np.testing.assert_allclose(tflite, keras.ops.convert_to_numpy(keras.ops.softmax(logits)),
                               atol=1e-5)
    np.testing.assert_allclose(tflite.sum(axis=1), 1.0, atol=1e-5)


def mediapipe_top1(path, pixels: np.ndarray, labels: list[str],
                   probabilities: bool = False) -> list[str]:
    """MediaPipe Tasks' ImageClassifier (the C++ task of Android and iOS apps) on `path` with
    no options but the file: each image's top class name, after checking that it names all
    the classes (and, with `probabilities`, that its scores are probabilities)."""
    pytest.importorskip("mediapipe", reason="mediapipe is not installed (README, Install)")
    from keras_resnet.export.mediapipe_client import classify

    tops = []
    for categories in classify(path, pixels, max_results=len(labels)):
        assert {name for name, _ in categories} == set(labels)
        if probabilities:
            scores = [score for _, score in categories]
            assert min(scores) >= 0 and abs(sum(scores) - 1) < 1e-3, scores
        tops.append(categories[0][0])
    return tops


def sample_pixels() -> np.ndarray:
    """The first image of each sample class, 32x32 RGB 0..255."""
    from keras_resnet.export.predict import load_image

    paths = [os.path.join(SAMPLE, c, sorted(os.listdir(os.path.join(SAMPLE, c)))[0])
             for c in sorted(os.listdir(SAMPLE))]
    return np.stack([load_image(p, (32, 32)) for p in paths])


def test_mediapipe_takes_the_float_variants_as_they_are(exported):
    """The metadata gives MediaPipe the normalization and the class names: each float file
    loads with no code, and its top-1 is predict.py's on the same pixels. The int8-in files
    (the default --int8_io, for NPU delegates) are refused by MediaPipe, which takes uint8 or
    float32 input only: test_preprocessing_inside_and_uint8_io covers uint8."""
    from keras_resnet.export.predict import LiteRTClassifier, preprocess

    labels = (exported / "labels.txt").read_text().split()
    prep = json.load(open(exported / "preprocessing.json"))
    pixels = sample_pixels()
    for name in ("model_float32.tflite", "model_float16.tflite", "model_dynamic.tflite"):
        tops = mediapipe_top1(exported / name, pixels, labels, probabilities=True)
        ours = LiteRTClassifier(str(exported / name)).scores(preprocess(pixels, prep))
        assert tops == [labels[i] for i in ours.argmax(1)], name
    with pytest.raises(ValueError, match="Requested one of these types: uint8/float32, got "
                                         "INT8"):
        mediapipe_top1(exported / "model_int8.tflite", pixels, labels)


def test_a_variant_slower_than_float32_is_flagged(exported):
    from keras_resnet.export.pipeline import slower_than_float32
    from keras_resnet.export.report import markdown

    def timing(ms):
        return {"median_ms": ms, "p90_ms": ms}

    variants = {"float32": {"latency": {"1_thread": timing(1.0), "2_threads": timing(0.6)}},
                "int8": {"latency": {"1_thread": timing(1.3), "2_threads": timing(0.5)}},
                "float16": {"latency": {"1_thread": timing(1.04)}}}  # within the noise
    assert slower_than_float32(variants) == {"int8": ["1_thread"]}
    report = json.load(open(exported / "report.json"))
    assert "features:" in report["machine"] and "slower_than_float32" in report
    report["slower_than_float32"] = {"int8": ["1_thread"]}
    assert "**Warning: int8 is slower than float32 on this machine** (1_thread)" in markdown(
        report)


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


def _copy(folder, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(folder, out)
    return out


def _contents(folder) -> dict[str, bytes]:
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = open(path, "rb").read()
    return found


def test_preprocessing_inside_uint8_io_and_logits(exported, model_file, tmp_path):
    """--scores=logits: no softmax, and the float32 file's logits within 1e-4 of Keras'.
    Exported over a previous export: that one is replaced whole (none of its files left)."""
    out = _copy(exported, tmp_path)
    result = export(f"--model_file={model_file}", f"--output_dir={out}", *COMMON,
                    "--quantize=float32,int8", "--include_preprocessing", "--int8_io=uint8",
                    "--scores=logits")
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.load(open(out / "report.json"))
    assert sorted(os.listdir(out)) == sorted(report["files"])  # no model_qat.tflite &c. left
    assert "model_float16.tflite" not in report["files"] and os.listdir(tmp_path) == ["out"]
    assert report["preprocessing"]["included"] is True
    assert report["preprocessing"]["scores"] == "logits"
    assert "SOFTMAX" not in report["variants"]["float32"]["ops"]
    assert report["variants"]["int8"]["input_dtype"] == "uint8"
    # uint8 in and out: QUANTIZE operators requantize uint8 <-> int8, integer arithmetic
    assert "QUANTIZE" in report["variants"]["int8"]["ops"]
    assert report["variants"]["int8"]["integer_only_problems"] == []
    assert report["variants"]["float32"]["max_abs_diff"] <= 1e-4
    assert "max \\|Δ logits\\|" in (out / "report.md").read_text()
    from keras_resnet.export.predict import LiteRTClassifier

    classifier = LiteRTClassifier(str(out / "model_int8.tflite"))
    scale, zero_point = classifier.input["quantization"]
    assert abs(scale - 1.0) < 0.05 and abs(zero_point) <= 2  # raw pixels go in unchanged
    # MediaPipe takes the uint8 file as it is; its top-1 is predict.py's on most images
    # (it quantizes the input itself).
    from keras_resnet.export.predict import preprocess

    labels = (out / "labels.txt").read_text().split()
    pixels = sample_pixels()
    tops = mediapipe_top1(out / "model_int8.tflite", pixels, labels)
    prep = json.load(open(out / "preprocessing.json"))
    ours = classifier.scores(preprocess(pixels, prep)).argmax(1)
    agreement = np.mean([t == labels[i] for t, i in zip(tops, ours, strict=True)])
    assert agreement >= 0.8, (tops, [labels[i] for i in ours])


def test_feature_maps_export_with_one_output_per_stage(tmp_path):
    """--features: the backbone's SavedModel and .tflite files output conv2..conv4 by name,
    float32 within 1e-4 of each map's scale from Keras."""
    out = tmp_path / "features"
    result = export("--model=resnet20", "--weights=cifar10", "--features",
                    f"--output_dir={out}", "--quantize=float32,int8", "--random_calibration",
                    "--calibration_samples=8", "--latency_runs=2")
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.load(open(out / "report.json"))
    assert report["outputs"] == {"conv2": [32, 32, 16], "conv3": [16, 16, 32],
                                 "conv4": [8, 8, 64]}
    float32 = report["variants"]["float32"]
    for stage, diff in float32["max_abs_diff"].items():
        assert diff <= 1e-4 * float32["max_abs_keras"][stage], stage
    from ai_edge_litert.interpreter import Interpreter

    for name in ("model_float32.tflite", "model_int8.tflite"):
        runner = Interpreter(model_path=str(out / name)).get_signature_runner()
        assert sorted(runner.get_output_details()) == ["conv2", "conv3", "conv4"], name
    assert "| conv2 | conv3 | conv4 |" in (out / "report.md").read_text()
    refused = export("--model=resnet20", "--features", f"--output_dir={tmp_path / 'qat'}",
                     "--quantize=qat")
    assert refused.returncode != 0 and "--features exports float32" in refused.stderr
    assert not (tmp_path / "qat").exists()  # refused before anything was written


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
    assert result.returncode != 0 and "cannot write beside the output directory" in result.stderr


def test_a_folder_holding_other_files_is_refused_before_anything_is_written(exported,
                                                                            tmp_path):
    """An export replaces its output folder whole: files no export wrote would be lost."""
    out = _copy(exported, tmp_path)
    (out / "notes.txt").write_text("mine")
    result = export("--model=resnet20", f"--output_dir={out}", "--quantize=float32")
    assert result.returncode == 2
    assert "holds notes.txt, which no export there wrote" in result.stderr
    assert "notes.txt" in os.listdir(out) and "model_qat.tflite" in os.listdir(out)
    (tmp_path / "file").write_text("")
    result = export("--model=resnet20", f"--output_dir={tmp_path / 'file'}",
                    "--quantize=float32")
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr


def test_a_full_disk_mid_export_leaves_the_previous_export_intact(exported, model_file,
                                                                  tmp_path, monkeypatch):
    import errno

    from keras_resnet.export import pipeline

    out = _copy(exported, tmp_path)
    before = _contents(out)

    def fill_the_disk(model, path, output_name):  # the first write into the new folder
        os.makedirs(path)
        with open(os.path.join(path, "saved_model.pb"), "wb") as f:
            f.write(b"\0" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline.serving, "write_saved_model", fill_the_disk)
    config = ExportConfig(output_dir=str(out), model_file=model_file, quantize=("float32",))
    with pytest.raises(pipeline.ExportWriteError,
                       match=rf"No space left on device.*Nothing in {out} was replaced"):
        pipeline.run(pipeline.Source.from_config(config), config)
    assert _contents(out) == before
    assert os.listdir(tmp_path) == ["out"]  # the half-written export is gone


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
