"""The paper's experiments (training/experiments/): each command's --quick mode end to end,
writing its PNG and markdown table (marked `long`: minutes each, out of CI's passes, run with
``python -m pytest -m long``); and the pieces they are built from."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_resnet
from training.experiments import cifar_runs, runner
from training.experiments.gradient_norms import conv_gradient_norms, ratio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def experiment(name: str, *args: str) -> str:
    """Runs ``python -m training.experiments.NAME`` on TensorFlow; returns its output."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    result = subprocess.run([sys.executable, "-m", f"training.experiments.{name}", *args],
                            capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def assert_png(path) -> None:
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC, path


@pytest.mark.tf_backend
@pytest.mark.long
def test_degradation_then_cifar_table_share_their_runs(tmp_path):
    runs, figures = str(tmp_path / "runs"), str(tmp_path / "figures")
    out = experiment("degradation", "--quick", "--depths=20", f"--out={runs}",
                     f"--figures={figures}")
    assert_png(os.path.join(figures, "degradation.png"))
    text = open(os.path.join(figures, "degradation.md")).read()
    for row in ("| plain-20 | 269,722 |", "| ResNet-20 | 269,722 |"):
        assert row in text
    assert "quick mode" in text and "training error rises with depth in 0 of 0" in text
    assert sorted(os.listdir(runs)) == ["plain20", "plain20.log", "resnet20", "resnet20.log"]
    run = runner.train("resnet20", runner.config("cifar10_resnet20"), [], runs)  # read back
    steps, accuracy = run.training_curve("accuracy")
    # 42, the first epoch's end, closes a 2-step window: merged into the one before.
    assert steps == [10, 20, 30, 42, 50, 60]
    assert all(0 <= a <= 1 for a in accuracy)

    out = experiment("cifar_table", "--quick", "--depths=20", f"--out={runs}",
                     f"--figures={figures}")
    assert "[resnet20] finished earlier" in out  # the ResNet run was not trained again
    assert_png(os.path.join(figures, "cifar_table.png"))
    table = open(os.path.join(figures, "cifar_table.md")).read()
    assert "| ResNet-20 | 0.27M | 0.27M |" in table and "| 8.75 |" in table

    # One family alone: its panel from the runs already there.
    out = experiment("degradation", "--quick", "--depths=20", "--kinds=resnet",
                     "--error_max=95", f"--out={runs}", f"--figures={tmp_path / 'resnet_only'}")
    assert "[resnet20] finished earlier" in out and "plain20" not in out
    text = (tmp_path / "resnet_only" / "degradation.md").read_text()
    assert "# Degradation: ResNet on CIFAR-10" in text and "| ResNet-20 |" in text
    assert "plain" not in text
    assert "error axis stops at 95%" in text


def test_degradation_rejects_an_unknown_family(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "training.experiments.degradation", "--quick", "--kinds=resnet,vgg",
         f"--out={tmp_path / 'runs'}", f"--figures={tmp_path / 'figures'}"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode != 0
    assert "--kinds=resnet,vgg" in result.stderr and "plain, resnet" in result.stderr
    assert not os.listdir(tmp_path)  # nothing trained, nothing written


@pytest.mark.tf_backend
@pytest.mark.long
def test_lr_schedules_quick(tmp_path):
    experiment("lr_schedules", "--quick", f"--out={tmp_path / 'runs'}",
               f"--figures={tmp_path}")
    assert_png(tmp_path / "lr_schedules.png")
    text = (tmp_path / "lr_schedules.md").read_text()
    assert "| cosine |" in text and "| step |" in text and "epochs 2 and 3" in text
    steps = runner.read_history(str(tmp_path / "runs" / "step" / "history.csv"))
    assert [int(row["epoch"]) for row in steps] == [0, 1, 2, 3]


@pytest.mark.tf_backend
@pytest.mark.long
def test_finetune_budget_quick(tmp_path):
    """The five-class split, the pretraining run, and a pretrained and a scratch run per budget,
    each from the same held-out images; the table and figure come out."""
    out = experiment("finetune_budget", "--quick", f"--out={tmp_path / 'runs'}",
                     f"--figures={tmp_path / 'figures'}")
    assert_png(tmp_path / "figures" / "finetune_budget.png")
    text = (tmp_path / "figures" / "finetune_budget.md").read_text()
    assert "| 10 | 10 |" in text and "first five classes" in text
    task = tmp_path / "runs" / "data" / "task_10"
    assert sorted(os.listdir(task / "train")) == ["dog", "frog", "horse", "ship", "truck"]
    for c in os.listdir(task / "train"):  # 10 images, each listed so that an epoch holds
        files = os.listdir(task / "train" / c)  # 100 batches of 32: 64 links apiece
        assert len({os.path.realpath(task / "train" / c / f) for f in files}) == 10
        assert len(files) == 640
    log = (tmp_path / "runs" / "finetune_10.log").read_text()
    assert "the head starts fresh" in log and "wrote" in out


@pytest.mark.long
def test_gradient_flow_and_arch_table_quick(tmp_path):
    experiment("gradient_flow", "--quick", f"--figures={tmp_path}")
    assert_png(tmp_path / "gradient_flow.png")
    rows = [line for line in (tmp_path / "gradient_flow.md").read_text().splitlines()
            if line.startswith(("| plain-20", "| ResNet-20"))]
    assert len(rows) == 2
    for row in rows:
        ratios = [float(cell) for cell in row.split("|")[2:6]]
        assert all(np.isfinite(r) and r > 0 for r in ratios), row
    experiment("arch_table", "--quick", f"--figures={tmp_path}")
    assert_png(tmp_path / "arch_table.png")
    text = (tmp_path / "arch_table.md").read_text()
    assert "| resnet18 | 18 | 11,689,512 | 11,689,512 | 1.81 | 1.81 | 1.8 |" in text
    assert "| resnet50 | 50 | 25,557,032 | 25,557,032 | 3.86 | 4.09 | 3.8 |" in text


def test_conv_gradient_norms_on_this_backend():
    """One positive, finite norm per convolution, in the model's order, with its kernel size."""
    keras.utils.set_random_seed(0)
    model = keras_resnet.get_model("resnet20", input_shape=(16, 16, 3), classes=10,
                                   classifier_activation=None)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(4, 16, 16, 3)).astype("float32")
    labels = rng.integers(0, 10, 4)
    norms = conv_gradient_norms(model, images, labels)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [name for name, _, _ in norms] == [layer.name for layer in convs]
    assert all(n > 0 and np.isfinite(n) for _, n, _ in norms)
    assert norms[0][2] == 3 * 3 * 3 * 16 and norms[-1][2] == 3 * 3 * 64 * 64
    assert ratio(norms, per_weight=True) == pytest.approx(ratio(norms) * np.sqrt(
        norms[-1][2] / norms[0][2]))


def test_history_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,accuracy,val_accuracy\n0,0.1,0.2\n1,0.3,0.3\n1,0.4,0.5\n2,0.6,0.6\n")
    rows = runner.read_history(str(path))
    assert [row["accuracy"] for row in rows] == [0.1, 0.4, 0.6]
    run = runner.Run("r", str(tmp_path), rows, {"steps_per_epoch": 10, "steps": 25})
    assert run.iterations() == [10, 20, 25]


def test_unknown_flagfile_names_the_shipped_ones():
    with pytest.raises(ValueError, match="cifar10_resnet20"):
        runner.config("cifar10_resnet21")


def test_a_shortened_run_compresses_the_schedule_and_checkpoints_often():
    args = cifar_runs.overrides("folder:data", quick=False, train_steps=4000)
    assert "--lr_boundaries=2000,3000" in args and "--warmup_steps=500" in args
    every = [a for a in args if a.startswith("--checkpoint_every_steps=")]
    assert every == [f"--checkpoint_every_steps={cifar_runs.CHECKPOINT_EVERY_STEPS}"]
    quick = cifar_runs.overrides("folder:data", quick=True)
    assert [a for a in quick if a.startswith("--checkpoint_every_steps=")] == [
        "--checkpoint_every_steps=0"]  # a smoke run of seconds: epoch-end checkpoints only


def test_training_curve_merges_an_epochs_short_last_window():
    rows = [(25, 0, 1.0), (50, 0, 0.8), (51, 0, 0.2), (75, 1, 0.6), (100, 1, 0.5)]
    run = runner.Run("r", "d", [], {"steps_per_epoch": 51, "steps": 100},
                     [{"step": s, "epoch": e, "loss": v} for s, e, v in rows])
    steps, loss = run.training_curve("loss")
    assert steps == [25, 51, 75, 100]  # step 51 closed a 1-step window: merged into 26..50
    assert loss == pytest.approx([1.0, (25 * 0.8 + 0.2) / 26, 0.6, 0.5])


def test_a_dead_worker_does_not_leave_its_peer_waiting_for_ever():
    """One worker dies (killed); its peer, waiting as a worker does on a gone peer, is
    stopped after the grace period instead of hanging the run."""
    import signal
    import time

    waiting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    dying = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    start = time.monotonic()
    dying.send_signal(signal.SIGKILL)
    codes = runner.wait_for_workers([waiting, dying], grace=1.0, poll=0.1)
    assert codes == [-signal.SIGTERM, -signal.SIGKILL]
    assert time.monotonic() - start < 30
    ok = [subprocess.Popen([sys.executable, "-c", "pass"]) for _ in range(2)]
    assert runner.wait_for_workers(ok, grace=1.0, poll=0.1) == [0, 0]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
