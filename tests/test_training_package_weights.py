"""training/package_weights.py: a run's best model becomes a weights file that loads."""

import hashlib
import sys

import numpy as np
import pytest

import keras_resnet
from keras_resnet.train.checkpoints import save_model
from training.package_weights import package

pytestmark = pytest.mark.tf_backend


def fake_run(model_dir):
    model = keras_resnet.get_model("resnet20", input_shape=(12, 12, 3), classes=3,
                                   classifier_activation=None)
    save_model(model, str(model_dir / "model_best.keras"))
    (model_dir / "history.csv").write_text(
        "epoch,accuracy,val_accuracy\n0,0.5,0.61\n1,0.6,0.74\n2,0.7,0.72\n")
    return model


def test_weights_file_loads_into_a_fresh_model(tmp_path):
    model = fake_run(tmp_path)
    out = tmp_path / "pkg" / "resnet20.weights.h5"
    facts = package(str(tmp_path), str(out))
    assert facts["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert (facts["model"], facts["best_epoch"], facts["val_accuracy"]) == ("resnet20", 2, 0.74)
    fresh = keras_resnet.get_model("resnet20", input_shape=(12, 12, 3), classes=3,
                                   classifier_activation=None)
    fresh.load_weights(str(out))
    x = np.random.default_rng(0).normal(size=(2, 12, 12, 3)).astype("float32")
    np.testing.assert_allclose(fresh(x), model(x), atol=1e-6)
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary left


def test_bad_input_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="no .*model_best.keras"):
        package(str(tmp_path), str(tmp_path / "w.weights.h5"))
    fake_run(tmp_path)
    with pytest.raises(ValueError, match="must end in .weights.h5"):
        package(str(tmp_path), str(tmp_path / "w.h5"))
    (tmp_path / "history.csv").write_text("epoch,accuracy\n")
    with pytest.raises(ValueError, match="no val_accuracy"):
        package(str(tmp_path), str(tmp_path / "w.weights.h5"))
    assert not (tmp_path / "w.weights.h5").exists() and not (tmp_path / "w.h5").exists()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
