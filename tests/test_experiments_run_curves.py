"""training/experiments/run_curves.py: a run's history.csv as a figure and a table."""

import sys

import pytest

from training.experiments import run_curves

pytestmark = pytest.mark.backend_independent

HISTORY = ("epoch,accuracy,img_per_sec,loss,val_accuracy,val_loss\n"
           "0,0.40,390,2.2,0.45,2.0\n1,0.60,380,1.7,0.62,1.6\n2,0.70,300,1.4,0.58,1.5\n")


def test_summary_reads_last_and_best_epochs(tmp_path):
    (tmp_path / "history.csv").write_text(HISTORY)
    rows = run_curves.read_history(str(tmp_path / "history.csv"))
    table = dict(run_curves.summary(rows, planned_epochs=180))
    assert table["epochs done"] == "3 of 180"
    assert table["last val accuracy"] == "58.00% (epoch 3)"
    assert table["best val accuracy"] == "62.00% (epoch 2)"
    assert table["median img/s of an epoch"] == "380"


def test_a_missing_or_empty_history_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no history at"):
        run_curves.read_history(str(tmp_path / "history.csv"))
    (tmp_path / "history.csv").write_text("epoch,accuracy\n")
    with pytest.raises(ValueError, match="no epochs with val_accuracy"):
        run_curves.read_history(str(tmp_path / "history.csv"))


def test_the_figure_has_both_panels_and_the_target_line(tmp_path):
    pytest.importorskip("matplotlib", reason="the experiments draw with matplotlib ([dev])")
    (tmp_path / "history.csv").write_text(HISTORY)
    fig = run_curves.draw(run_curves.read_history(str(tmp_path / "history.csv")), "t", 0.91)
    acc, loss = fig.axes
    assert len(acc.lines) == 3 and acc.lines[2].get_ydata()[0] == 0.91
    assert len(loss.lines) == 2


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
