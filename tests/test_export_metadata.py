"""keras_resnet/export/metadata.py: the standard TFLite metadata written into an export, read
back, and the model still computing exactly what it did."""

import io
import sys
import zipfile

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.export import converter, metadata, serving
from keras_resnet.export.predict import LiteRTClassifier

pytestmark = pytest.mark.tf_backend  # the TFLite converter


@pytest.fixture(scope="module")
def flatbuffer(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = keras_resnet.ResNet20(classes=3, classifier_activation=None)
    folder = tmp_path_factory.mktemp("saved")
    serving.write_saved_model(model, str(folder / "saved_model"), "logits")
    return converter.convert(str(folder / "saved_model"), "float32")


def test_the_metadata_goes_in_and_the_model_computes_the_same(flatbuffer, rng):
    meta = metadata.metadata_buffer(name="resnet20", description="test", version="0.1.0",
                                    input_size=(32, 32), mean=[1.0, 2.0, 3.0],
                                    std=[4.0, 5.0, 6.0], class_count=3)
    assert meta[4:8] == b"M001"  # the metadata schema's file identifier
    labels = ["cat", "dog", "emu"]
    populated = metadata.populate(flatbuffer, meta, labels)
    found = metadata.read(populated)
    assert found["labels"] == labels and found["metadata_bytes"] == len(meta)
    assert metadata.read(flatbuffer) == {}
    with zipfile.ZipFile(io.BytesIO(populated)) as archive:
        assert archive.namelist() == ["labels.txt"]
    x = rng.normal(size=(4, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(LiteRTClassifier(populated).scores(x),
                                  LiteRTClassifier(flatbuffer).scores(x))
    again = metadata.populate(populated, meta, labels)  # replaces the entry, not adds one
    from ai_edge_litert import schema_py_generated as schema

    tree = schema.Model.GetRootAs(again, 0)
    names = [tree.Metadata(i).Name().decode() for i in range(tree.MetadataLength())]
    assert names.count(metadata.METADATA_NAME) == 1


def test_one_model_and_labels_give_the_same_bytes_at_any_time(flatbuffer, monkeypatch):
    """The label file's zip entry carries a fixed date, not the clock's, so an export repeats
    byte for byte."""
    import time

    meta = b"M001" * 4
    first = metadata.populate(flatbuffer, meta, ["a", "b", "c"])
    monkeypatch.setattr(time, "time", lambda: 2.0e9)  # 2033: another zip date and time
    assert metadata.populate(flatbuffer, meta, ["a", "b", "c"]) == first
    assert metadata.populate(flatbuffer, meta, ["a", "b", "d"]) != first


def test_buffers_stay_16_byte_aligned(flatbuffer):
    from ai_edge_litert import schema_py_generated as schema

    populated = metadata.populate(flatbuffer, b"M001" * 4, ["a", "b", "c"])
    tree = schema.Model.GetRootAs(populated, 0)
    for i in range(tree.BuffersLength()):
        buffer = tree.Buffers(i)
        if buffer.DataLength():
            offset = buffer._tab.Vector(buffer._tab.Offset(4))
            assert offset % 16 == 0, i


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
