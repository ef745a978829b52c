"""training/train.py end to end, as a user runs it: subprocesses on a tiny image folder."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import keras_resnet
from training.experiments import runner

pytestmark = pytest.mark.tf_backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "training", "train.py")


def flags(folder, model_dir, **extra):
    base = {"model": "resnet20", "dataset": f"folder:{folder}", "model_dir": model_dir,
            "image_size": 12, "batch_size": 9, "epochs": 2, "val_fraction": 0.25,
            "normalization": "cifar10", "lr": 0.05, "verbose": 2, "seed": 0}
    base.update(extra)
    return [f"--{k}={v}" for k, v in base.items()]


def train(args, timeout=240):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    return subprocess.run([sys.executable, TRAIN, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def test_train_writes_artifacts_resumes_and_evaluates(image_folder, tmp_path):
    model_dir = str(tmp_path / "run")
    result = train(flags(image_folder, model_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "val accuracy" in result.stdout
    for name in ("flags.txt", "history.csv", "metrics.json", "model.keras", "model_best.keras",
                 "labels.txt", "checkpoint.json", "logs"):
        assert os.path.exists(os.path.join(model_dir, name)), name
    metrics = json.load(open(os.path.join(model_dir, "metrics.json")))
    assert metrics["steps"] == 6 and metrics["epochs"] == 2  # 27 images / 9 = 3 steps x 2
    assert 0.0 <= metrics["val_accuracy"] <= 1.0
    assert len(open(os.path.join(model_dir, "history.csv")).read().splitlines()) == 3
    # The saved models load with keras_resnet alone (no trainer classes) and carry no optimizer.
    load = ("import sys, keras, keras_resnet\nfor path in sys.argv[1:]:\n"
            "    m = keras.models.load_model(path)\n"
            "    assert getattr(m, 'optimizer', None) is None, path\n"
            "assert 'training' not in sys.modules")
    loaded = subprocess.run([sys.executable, "-c", load,
                             *(os.path.join(model_dir, n) for n in ("model.keras",
                                                                    "model_best.keras"))],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    # The resolved flags repeat the run: here it is complete, so nothing more is trained.
    again = train([f"--flagfile={model_dir}/flags.txt"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.load(open(os.path.join(model_dir, "metrics.json")))["steps"] == 6
    # Two more epochs continue from step 6, here under OneDeviceStrategy (a resume may change
    # the strategy; restoring must happen in its scope).
    more = train(flags(image_folder, model_dir, epochs=4, distribution="one_device"))
    assert more.returncode == 0, more.stderr[-2000:]
    assert "resuming from step 6" in more.stdout and "OneDeviceStrategy" in more.stdout
    assert json.load(open(os.path.join(model_dir, "metrics.json")))["steps"] == 12
    evaluation = train(flags(image_folder, model_dir, mode="eval", eval_flip=True))
    assert evaluation.returncode == 0, evaluation.stderr[-2000:]
    lines = [line for line in evaluation.stdout.splitlines() if "top-1" in line]
    assert len(lines) == 2 and all("on 9 images" in line for line in lines), evaluation.stdout
    assert "mirror" in lines[1] and "mirror" not in lines[0]
    assert "eval_flip" not in open(os.path.join(model_dir, "flags.txt")).read()


def test_sigkill_mid_run_then_resume(image_folder, tmp_path):
    model_dir = str(tmp_path / "run")
    args = flags(image_folder, model_dir, epochs=12, checkpoint_every_steps=2, batch_size=3)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, TRAIN, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    index = os.path.join(model_dir, "checkpoint.json")
    deadline = time.time() + 180
    step = 0
    while time.time() < deadline and step < 10:
        time.sleep(0.2)
        if os.path.exists(index):
            step = json.load(open(index))["step"]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 10 <= step < 108, "the run was not killed mid-way"
    killed_at = json.load(open(index))["step"]
    resumed = train(args, timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming from step {killed_at}" in resumed.stdout
    metrics = json.load(open(os.path.join(model_dir, "metrics.json")))
    assert metrics["steps"] == 108  # 27 images / 3 = 9 steps x 12 epochs, none lost or extra
    assert not [f for f in os.listdir(model_dir) if f.startswith(".tmp-")]


def test_helpshort_lists_the_runs_flags_and_the_process_flags():
    done = train(["--helpshort"], timeout=120)  # absl prints the help, then exits 1
    for flag in ("batch_size", "lr_schedule", "seed", "nesterov", "mode", "eval_flip"):
        assert f"--{flag}:" in done.stdout or f"--[no]{flag}:" in done.stdout, flag


@pytest.mark.parametrize("extra,message", [
    ({"dataset": "folder:/no/such/folder"}, "does not exist"),
    ({"distribution": "mirrored", "logical_cpus": 2}, "not divisible by the 2 replicas"),
])
def test_bad_input_fails_early_and_writes_nothing(image_folder, tmp_path, extra, message):
    model_dir = tmp_path / "run"
    result = train(flags(image_folder, str(model_dir), **extra))
    assert result.returncode != 0
    assert message in result.stderr
    assert not model_dir.exists()


def test_unknown_flag_and_other_run_in_model_dir(image_folder, tmp_path):
    result = train(flags(image_folder, str(tmp_path / "a"), learning_rate=0.1))
    assert result.returncode != 0 and "learning_rate" in result.stderr
    model_dir = tmp_path / "run"
    model_dir.mkdir()
    (model_dir / "flags.txt").write_text("--model=resnet56\n--dataset=x\n")
    result = train(flags(image_folder, str(model_dir)))
    assert result.returncode != 0 and "holds a run with different model" in result.stderr
    assert (model_dir / "flags.txt").read_text() == "--model=resnet56\n--dataset=x\n"
    # The same run but for one field, here the weight average (it lives in the checkpoints);
    # which fields count is test_train_flags' (seed, lr, label smoothing, ...).
    args = flags(image_folder, str(model_dir))
    (model_dir / "flags.txt").write_text("".join(f"{a}\n" for a in [*args, "--ema_decay=0.99"]))
    result = train(args)
    assert result.returncode != 0, result.stderr[-1000:]
    assert "different ema_decay (ema_decay=0.99)" in result.stderr, result.stderr[-1000:]
    (model_dir / "flags.txt").write_text("--model=resnet20\n--unknown_flag=3\n")
    result = train(args)
    assert result.returncode != 0 and "is not a flagfile of the trainer" in result.stderr


def test_a_model_dir_another_trainer_is_writing_is_refused(image_folder, tmp_path,
                                                            hold_in_another_process):
    model_dir = tmp_path / "run"
    holder = hold_in_another_process(model_dir)  # as a trainer still running there does
    result = train(flags(image_folder, str(model_dir)))
    assert result.returncode != 0
    assert f"in use by another process (pid {holder.pid}" in result.stderr, result.stderr[-1000:]
    assert os.listdir(model_dir) == [".lock"]  # nothing of this run written


def test_non_finite_loss_stops_with_a_clear_error(image_folder, tmp_path):
    result = train(flags(image_folder, str(tmp_path / "run"), lr=1e30, weight_decay=0))
    assert result.returncode == 3
    assert "loss is" in result.stderr and "stopping" in result.stderr


def test_mirrored_over_two_logical_cpus(image_folder, tmp_path):
    model_dir = str(tmp_path / "run")
    result = train(flags(image_folder, model_dir, distribution="mirrored", logical_cpus=2,
                         batch_size=8))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "global batch 8 = 2 replica(s) x 4" in result.stdout


def test_distillation_trains_mirrored_and_its_student_evaluates_without_the_teacher(
        image_folder, tmp_path):
    # An untrained teacher with logits will do: the trainer's handling of it is under test.
    teacher = str(tmp_path / "teacher.keras")
    keras_resnet.ResNet20(input_shape=(12, 12, 3), classes=3,
                          classifier_activation=None).save(teacher)
    model_dir = str(tmp_path / "student")
    args = flags(image_folder, model_dir, epochs=1, distribution="mirrored", logical_cpus=2,
                 batch_size=8, teacher=teacher)
    result = train(args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "distilling from --teacher=" in result.stdout
    assert "global batch 8 = 2 replica(s) x 4" in result.stdout
    assert f"--teacher={teacher}" in open(os.path.join(model_dir, "flags.txt")).read()
    os.rename(teacher, teacher + ".moved")  # the saved student needs no teacher to evaluate
    evaluation = train([*args, "--mode=eval"])
    assert evaluation.returncode == 0, evaluation.stderr[-2000:]
    assert "top-1" in evaluation.stdout and "on 9 images" in evaluation.stdout


def test_a_killed_worker_stops_its_peer_with_a_clear_error_and_the_run_resumes(
        image_folder, tmp_path):
    """Two worker processes on 127.0.0.1 train under MultiWorkerMirroredStrategy (TF_CONFIG)
    through the trainer's own distributed loop (Keras 3's fit() fails there, keras#20585).
    Worker 1 is SIGKILLed mid-run: worker 0 stops by itself within --peer_timeout_s (exit
    status 5, an error that says to restart). The same command on both workers, launched as the
    experiments launch them (runner.train with workers=2), then resumes from the last
    checkpoint and finishes the run in step: both report the same metrics, and the chief
    writes model_dir."""
    model_dir = tmp_path / "run"
    args = [sys.executable, TRAIN, *flags(image_folder, str(model_dir), batch_size=8,
                                          epochs=4, distribution="multi_worker",
                                          checkpoint_every_steps=1), "--peer_timeout_s=20"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    cluster = [f"127.0.0.1:{runner._free_port()}" for _ in range(2)]
    procs, logs = [], [tmp_path / f"worker{i}.log" for i in range(2)]
    for index, path in enumerate(logs):
        config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
        with open(path, "w") as log:
            procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                          env={**env, "TF_CONFIG": json.dumps(config)}))
    index_file, deadline = model_dir / "checkpoint.json", time.monotonic() + 300
    while not (index_file.exists() and json.loads(index_file.read_text())["step"] >= 4):
        assert all(p.poll() is None for p in procs), [p.read_text()[-2000:] for p in logs]
        assert time.monotonic() < deadline, logs[0].read_text()[-2000:]
        time.sleep(0.2)
    procs[1].send_signal(signal.SIGKILL)
    started = time.monotonic()
    codes = runner.wait_for_workers(procs, grace=180)
    out = logs[0].read_text()
    assert codes == [5, -signal.SIGKILL], out[-3000:]
    assert "another worker of this multi-worker run stopped answering" in out
    assert "Restart every worker with the same command" in out
    assert time.monotonic() - started < 180
    step = json.loads(index_file.read_text())["step"]
    assert 4 <= step < 12  # 27 images / global batch 8 = 3 steps x 4 epochs
    flagfile = tmp_path / "run.flags"
    flagfile.write_text("\n".join(a for a in args[2:] if a != "--peer_timeout_s=20") + "\n")
    again = runner.train("run", str(flagfile), [], str(tmp_path), backend="tensorflow",
                         workers=2)
    finals = []
    for index in range(2):
        out = (tmp_path / f"run-worker{index}.log").read_text()
        assert f"resuming from step {step}" in out
        assert "global batch 8 = 2 replica(s) x 4" in out and "Epoch 4/4" in out
        finals.append([line for line in out.splitlines() if "val accuracy" in line][-1])
    assert finals[0] == finals[1]  # same weights on both workers -> same val accuracy line
    assert again.metrics["steps"] == 12  # 27 images / global batch 8 = 3 steps x 4 epochs
    assert len(again.history) == 4
    assert {"model.keras", "model_best.keras", "checkpoint.json"} <= set(
        os.listdir(again.model_dir))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
