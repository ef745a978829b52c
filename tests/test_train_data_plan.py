"""keras_resnet/train/data_plan.py: a run's config checked against the data before anything
is written."""

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


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
