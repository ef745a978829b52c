"""keras_resnet/train/model.py: the compiled model a run fits."""

import sys

import pytest

from keras_resnet.train import data_plan
from keras_resnet.train.config import TrainConfig
from keras_resnet.train.model import build_model

pytestmark = pytest.mark.tf_backend


def test_weight_decay_is_l2_on_the_chosen_variables(image_folder, tmp_path):
    base = dict(model="resnet20", dataset=f"folder:{image_folder}", model_dir=str(tmp_path),
                image_size=12, batch_size=9, val_fraction=0.25, normalization="cifar10")
    with_bn = build_model(data_plan.prepare(TrainConfig(**base)))
    kernels_only = build_model(data_plan.prepare(
        TrainConfig(**base, decay_bn_and_bias=False)))
    n_kernels = sum(1 for w in kernels_only.trainable_weights if "kernel" in w.path)
    assert len(kernels_only.losses) == n_kernels
    assert len(with_bn.losses) == len(with_bn.trainable_weights) > n_kernels


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
