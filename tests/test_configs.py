"""Every shipped flagfile parses, passes the flag validators, and encodes its recipe."""

import glob
import os
import sys

import pytest
from absl import flags

from keras_resnet.train import flags as config_flags

pytestmark = pytest.mark.backend_independent  # flagfiles and validators are plain Python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "training", "configs", "*.flags")))


def load(path: str, *extra: str):
    """The TrainConfig a flagfile gives, parsed by the trainer's own flags (fresh ones)."""
    values = flags.FlagValues()
    config_flags.define_flags(values)
    values(["train.py", f"--flagfile={path}", *extra])
    return config_flags.config_from_flags(values)


@pytest.fixture(autouse=True)
def _in_the_repository(monkeypatch):
    monkeypatch.chdir(ROOT)  # flagfiles name each other relative to the repository


def test_every_recipe_of_the_issue_ships():
    names = {os.path.basename(p) for p in CONFIGS}
    for d in (20, 32, 44, 56, 110, 1202):
        assert f"cifar10_resnet{d}.flags" in names
    for d in (20, 32, 44, 56, 110):
        assert f"cifar10_plain{d}.flags" in names
    for d in (18, 34, 50, 101, 152):
        assert f"imagenet_resnet{d}.flags" in names
    assert {"quickstart.flags", "imagenet_resnet50_large_batch.flags"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_flagfile_parses(path):
    cfg = load(path)
    from keras_resnet.registry import get_entry

    get_entry(cfg.model)
    assert cfg.model_dir.startswith("runs/")


@pytest.mark.parametrize("depth", [20, 56, 110, 1202])
def test_paper_cifar_recipe(depth):
    cfg = load(os.path.join(ROOT, "training", "configs", f"cifar10_resnet{depth}.flags"))
    assert (cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (128, 0.1, 0.9,
                                                                                1e-4)
    assert cfg.train_steps == 64000 and cfg.lr_boundaries == (32000.0, 48000.0)
    assert (cfg.train_split, cfg.val_split) == ("train[:45000]", "train[45000:]")
    if depth >= 110:
        assert (cfg.warmup, cfg.warmup_lr, cfg.warmup_steps) == ("constant", 0.01, 400)
    else:
        assert cfg.warmup_steps == 0


def test_large_batch_variant_scales_lr_and_warms_up():
    cfg = load(os.path.join(ROOT, "training", "configs", "imagenet_resnet50_large_batch.flags"))
    assert cfg.lr / cfg.batch_size == pytest.approx(0.1 / 256)
    assert cfg.warmup_epochs == 5 and cfg.zero_init_residual and cfg.lr_boundaries_unit == "epochs"


def test_command_line_overrides_the_flagfile():
    path = os.path.join(ROOT, "training", "configs", "cifar10_resnet20.flags")
    cfg = load(path, "--dataset=folder:../shared/data/cifar10/train")
    assert cfg.dataset == "folder:../shared/data/cifar10/train"


@pytest.mark.parametrize("name,model,weights,trainable", [
    ("finetune_resnet20_cifar10.flags", "resnet20", "cifar10", "all"),
    ("finetune_resnet50_imagenet.flags", "resnet50", "imagenet", "conv4")])
def test_fine_tuning_recipes_start_from_published_weights(name, model, weights, trainable):
    from keras_resnet.train import finetune

    cfg = load(os.path.join(ROOT, "training", "configs", name), "--dataset=folder:MY_PHOTOS")
    assert (cfg.model, cfg.weights, cfg.trainable) == (model, weights, trainable)
    assert cfg.dataset == "folder:MY_PHOTOS" and cfg.normalization == "auto"
    finetune.check(cfg.model, cfg.weights, cfg.trainable, cfg.head_epochs,
                   cfg.backbone_lr_scale)
    assert cfg.head_epochs < cfg.epochs


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
