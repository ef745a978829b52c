"""keras_resnet/train/data_plan.py: a run's config checked against the data before anything
is written."""

import dataclasses
import sys

import pytest
import tensorflow_datasets as tfds

from keras_resnet.train import data_plan
from keras_resnet.train.config import TrainConfig

pytestmark = pytest.mark.tf_backend


def test_classes_must_match_the_dataset(tmp_path):
    cfg = TrainConfig(model="resnet20", dataset="cifar10", model_dir=str(tmp_path),
                      val_split="test", classes=100)
    with tfds.testing.mock_data(num_examples=20), pytest.raises(ValueError, match="has 10"):
        data_plan.prepare(cfg)


@pytest.mark.parametrize("change,message", [
    ({"classes": 5}, "--classes=5 but"),
    ({"model": "resnet21"}, "Did you mean"),
    ({"batch_size": 100}, "fewer than one global batch"),
])
def test_a_config_the_folder_or_registry_refuses_fails_before_writing(image_folder, tmp_path,
                                                                      change, message):
    """train.py's checks before it writes anything (its command runs end to end for other
    refusals in test_train_run)."""
    cfg = TrainConfig(**{"model": "resnet20", "dataset": f"folder:{image_folder}",
                         "model_dir": str(tmp_path / "run"), "image_size": 12, "batch_size": 9,
                         "val_fraction": 0.25, **change})
    with pytest.raises(ValueError, match=message):
        data_plan.prepare(cfg)
    assert not (tmp_path / "run").exists()


def _spoil(folder) -> list[str]:
    """Three bad files among the good ones: empty, truncated, not an image."""
    cat = sorted((folder / "cat").iterdir())
    (folder / "cat" / "empty.jpg").write_bytes(b"")
    (folder / "dog" / "cut.png").write_bytes(cat[0].read_bytes()[:60])
    (folder / "emu" / "notes.jpg").write_text("not an image")
    return ["empty.jpg", "cut.png", "notes.jpg"]


@pytest.mark.parametrize("pipeline", ["tf.data", "numpy"])
def test_bad_images_are_refused_by_name_or_skipped_with_a_count(image_folder, tmp_path,
                                                                pipeline, capsys):
    """A 0-byte, a truncated and a non-image file: --bad_images=refuse names all three before
    anything is written; skip trains a full epoch without them, on either input path."""
    names = _spoil(image_folder)
    cfg = TrainConfig(model="resnet20", dataset=f"folder:{image_folder}",
                      model_dir=str(tmp_path / "run"), image_size=12, batch_size=6,
                      val_fraction=0.25, epochs=1, verbose=0, seed=0, input_pipeline=pipeline)
    with pytest.raises(ValueError, match="3 image.s. of folder:.* do not decode") as err:
        data_plan.prepare(cfg)
    assert all(name in str(err.value) for name in names)
    assert "--bad_images=skip" in str(err.value)
    assert not (tmp_path / "run").exists()
    from keras_resnet.train import loop

    plan = data_plan.prepare(dataclasses.replace(cfg, bad_images="skip"))
    assert "training without 3 image(s) that do not decode" in capsys.readouterr().out
    assert plan.train_examples + plan.val_examples == 36  # every good image, no bad one
    metrics = loop.fit(plan)
    assert metrics["steps"] == plan.steps_per_epoch and metrics["val_accuracy"] is not None


def test_an_image_over_the_pixel_limit_is_named(tmp_path, monkeypatch):
    from PIL import Image

    from keras_resnet.data import numpy_loader
    from keras_resnet.data.image_folder import read_image_folder

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 30)).save(tmp_path / name / f"{i}.png")
    monkeypatch.setattr(numpy_loader, "MAX_PIXELS", 1000)  # 40x30 = 1,200 pixels
    bad = numpy_loader.unreadable(read_image_folder(str(tmp_path), 0.3)["train"])
    assert len(bad) == 4 and bad[0][1] == "40x30 pixels, more than 1,000"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
