"""keras_resnet/train/callbacks.py: best-epoch bookkeeping, throughput and the per-step log."""

import sys

import pytest

from keras_resnet.train import callbacks
from keras_resnet.train.callbacks import best_epoch


def test_best_epoch_reads_the_history(tmp_path):
    path = tmp_path / "history.csv"
    assert best_epoch(str(path)) is None
    path.write_text("epoch,accuracy,val_accuracy\n0,0.3,0.5\n1,0.4,0.7\n2,0.5,0.7\n3,0.6,0.6\n")
    assert best_epoch(str(path)) == (1, 0.7)  # the first of equals: the epoch model_best holds


def test_throughput_counts_steps_not_calls(monkeypatch):
    """With steps_per_execution = 4 Keras reports batches 3 and 7: 8 batches, not 2."""
    clock = iter([0.0, 1.0, 2.0, 2.0])
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: next(clock))
    throughput = callbacks.Throughput(global_batch_size=32)
    throughput.on_epoch_begin(0)
    logs = {}
    throughput.on_train_batch_end(3, logs)
    assert logs["img/s"] == pytest.approx(4 * 32 / 1.0)
    throughput.on_train_batch_end(7, logs)
    assert logs["img/s"] == pytest.approx(8 * 32 / 2.0)
    throughput.on_epoch_end(0, logs)
    assert logs["img_per_sec"] == pytest.approx(128.0)


def _drive(log: callbacks.StepLog, losses, first_step=0, calls=None, monkeypatch=None):
    """Feeds `log` one epoch whose step i has loss losses[i] (accuracy = loss / 10), reporting
    Keras-style running means at the 0-based batches in `calls` (default: every batch)."""
    monkeypatch.setattr(callbacks, "optimizer_step", lambda model: first_step)
    log.set_params({"steps": len(losses)})
    log.on_epoch_begin(0)
    for batch in calls or range(len(losses)):
        mean = sum(losses[:batch + 1]) / (batch + 1)
        log.on_train_batch_end(batch, {"loss": mean, "accuracy": mean / 10})


def _rows(path):
    with open(path) as f:
        return [line.strip().split(",") for line in f][1:]


@pytest.mark.parametrize("calls", [None, [3, 7, 9]])  # every step, or steps_per_execution=4
def test_step_log_writes_exact_window_means(tmp_path, monkeypatch, calls):
    path = str(tmp_path / "steps.csv")
    losses = [float(i) for i in range(1, 11)]
    _drive(callbacks.StepLog(path, every=4, steps_per_epoch=10), losses, calls=calls,
           monkeypatch=monkeypatch)
    rows = _rows(path)
    assert [int(r[0]) for r in rows] == [4, 8, 10]  # two windows and the epoch's tail
    assert [float(r[2]) for r in rows] == pytest.approx([2.5, 6.5, 9.5])
    assert [float(r[3]) for r in rows] == pytest.approx([0.25, 0.65, 0.95])


def test_step_log_resumes_mid_epoch_without_duplicate_rows(tmp_path, monkeypatch):
    path = tmp_path / "steps.csv"
    path.write_text("step,epoch,loss,accuracy\n4,0,1,0.1\n8,0,2,0.2\n12,1,3,0.3\n")
    log = callbacks.StepLog(str(path), every=4, steps_per_epoch=10, resumed_step=6)
    assert [r[0] for r in _rows(path)] == ["4"]  # rows past the resumed step are gone
    _drive(log, [5.0, 7.0, 9.0, 11.0], first_step=6, monkeypatch=monkeypatch)
    rows = _rows(path)
    assert [int(r[0]) for r in rows] == [4, 8, 10]
    assert [float(r[2]) for r in rows[1:]] == pytest.approx([6.0, 10.0])  # steps 7-8, 9-10
    assert [int(r[1]) for r in rows] == [0, 0, 0]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
