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


def test_the_loss_legend_names_what_the_run_adds_to_cross_entropy(tmp_path, monkeypatch):
    assert run_curves.loss_legend({}, "train") == "train"
    plain = {"label_smoothing": "0.0", "weight_decay": "0.0005", "teacher": ""}
    assert run_curves.loss_legend(plain, "validation") == "validation, with\nweight decay"
    distilled = {"teacher": "runs/t/model_best.keras", "label_smoothing": "0.1",
                 "weight_decay": "0.0005"}
    assert run_curves.loss_legend(distilled, "train") == (
        "train, with\ndistillation, label smoothing and weight decay")
    assert run_curves.loss_legend(distilled, "validation") == (
        "validation, with\nlabel smoothing and weight decay")
    pytest.importorskip("matplotlib", reason="the experiments draw with matplotlib ([dev])")
    (tmp_path / "history.csv").write_text(HISTORY)
    (tmp_path / "flags.txt").write_text("--model=resnet20\n--teacher=runs/t/model_best.keras\n")
    drawn = []
    monkeypatch.setattr(run_curves.figures, "publish",
                        lambda output_dir, name, fig, text: drawn.append(fig))
    run_curves.write(str(tmp_path), str(tmp_path))
    labels = [line.get_label() for line in drawn[0].axes[1].lines]
    assert labels == ["train, with\ndistillation", "validation"]


def test_versus_tables_the_epochs_both_runs_finished():
    ours = [{"epoch": e, "accuracy": 0.5 + e / 100, "val_accuracy": 0.4 + e / 100}
            for e in range(25)]
    theirs = [{"epoch": e, "accuracy": 0.6, "val_accuracy": 0.45} for e in range(22)]
    table = run_curves.versus(ours, theirs)
    assert [row[0] for row in table] == [10, 20, 22]  # every 10th and the last common one
    assert table[0][1:] == ["59.00%", "60.00%", "49.00%", "45.00%", "+4.00"]
    assert table[-1][5] == "+16.00"
    assert run_curves.versus(ours, []) == []


def test_the_figure_draws_the_baseline_beside_the_run(tmp_path):
    pytest.importorskip("matplotlib", reason="the experiments draw with matplotlib ([dev])")
    (tmp_path / "history.csv").write_text(HISTORY)
    rows = run_curves.read_history(str(tmp_path / "history.csv"))
    fig = run_curves.draw(rows, "t", None, baseline=rows[:2], baseline_name="first")
    acc, _ = fig.axes
    labels = [line.get_label() for line in acc.lines]
    assert labels[2:] == ["train, first", "validation, first"]
    assert list(acc.lines[3].get_ydata()) == [0.45, 0.62]


def test_write_compares_with_a_baseline_and_refuses_one_without_history(tmp_path):
    pytest.importorskip("matplotlib", reason="the experiments draw with matplotlib ([dev])")
    for run in ("run", "first"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "history.csv").write_text(HISTORY)
        (tmp_path / run / "flags.txt").write_text("--model=resnet20\n--epochs=180\n")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="--baseline: no history at"):
        run_curves.write(str(tmp_path / "run"), str(out), baseline_run=str(tmp_path / "none"))
    assert not out.exists()  # refused before anything was written
    text = run_curves.write(str(tmp_path / "run"), str(out), target=0.91,
                            baseline_run=str(tmp_path / "first"))
    assert "| 3 of 180 |" in text and "Epoch by epoch against `first`" in text
    assert "| 3 | 70.00% | 70.00% | 58.00% | 58.00% | +0.00 |" in text
    assert (out / "curves.png").stat().st_size > 0 and (out / "curves.md").read_text() == text


def test_the_stretch_table_gives_wall_time_steps_and_seconds_per_epoch():
    rows = [{"started": "2026-12-03T05:55:10+00:00", "stopped": "2026-12-03T07:45:10+00:00",
             "first_step": 28120, "last_step": 42180, "steps_per_epoch": 703,
             "machine": "AMD EPYC 7B13, 2 CPUs"},
            {"started": "2026-12-04T01:00:00+00:00", "stopped": "2026-12-04T01:30:00+00:00",
             "first_step": 42180, "last_step": 42180 + 351, "steps_per_epoch": 703,
             "machine": "AMD EPYC 7B13, 16 CPUs; 1 x NVIDIA H200", "open": True}]
    assert run_curves.stretch_table(rows) == [
        [1, "AMD EPYC 7B13, 2 CPUs", "2026-12-03 05:55", "2026-12-03 07:45", "110",
         "28,120 to 42,180", "41 to 60", "330"],
        [2, "AMD EPYC 7B13, 16 CPUs; 1 x NVIDIA H200", "2026-12-04 01:00", "2026-12-04 01:30",
         "30", "42,180 to 42,531", "61 to 61", "3605"]]
    text = run_curves.stretch_text(rows)
    assert "In all: 2.3 h over 2 stretch(es)." in text
    assert "mean val" not in text  # no history given: no accuracy columns
    assert "Steps before 28,120 ran before the trainer kept a stretch record." in text
    assert run_curves.stretch_text([]) == ""


def test_each_stretch_gives_the_val_accuracy_of_the_epochs_it_finished_beside_the_baseline():
    spe = 10
    rows = [{"started": "2026-12-03T05:00:00+00:00", "stopped": "2026-12-03T06:00:00+00:00",
             "first_step": 0, "last_step": 25, "steps_per_epoch": spe, "machine": "m"},
            {"started": "2026-12-03T07:00:00+00:00", "stopped": "2026-12-03T08:00:00+00:00",
             "first_step": 25, "last_step": 40, "steps_per_epoch": spe, "machine": "m"},
            {"started": "2026-12-03T09:00:00+00:00", "stopped": "2026-12-03T09:10:00+00:00",
             "first_step": 40, "last_step": 45, "steps_per_epoch": spe, "machine": "m"}]
    history = [{"epoch": e, "accuracy": 0.5, "val_accuracy": v}
               for e, v in enumerate([0.50, 0.60, 0.70, 0.80])]
    baseline = [{"epoch": e, "accuracy": 0.5, "val_accuracy": 0.40 + e / 10} for e in range(3)]
    table = run_curves.stretch_table(rows, history, baseline)
    # Stretch 1 ended epochs 1-2 (steps 10, 20), stretch 2 epochs 3-4 (30, 40; the mid-epoch
    # resume at step 25 belongs to epoch 3), stretch 3 none; the baseline lacks epoch 4.
    assert [line[8:] for line in table] == [["60.00%", "55.00%", "45.00%"],
                                            ["80.00%", "75.00%", "-"], ["-", "-", "-"]]
    assert [len(line) for line in run_curves.stretch_table(rows, history)] == [10, 10, 10]
    text = run_curves.stretch_text(rows, history, baseline, "resnet20")
    assert "| mean val over its epochs | mean val, resnet20, same epochs |" in text
    assert "| 1 | m | 2026-12-03 05:00 | 2026-12-03 06:00 | 60 | 0 to 25 | 1 to 3 | 1440 |" \
           " 60.00% | 55.00% | 45.00% |" in text


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
