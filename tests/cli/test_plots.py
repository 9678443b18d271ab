"""drrdn_tf.plots and `python -m drrdn_tf.plot`: figures of training histories and evaluation results (the
committed demo results are the real inputs), and clear errors for bad input or a missing matplotlib."""

import json
import os
import shutil
import sys

import pytest

from conftest import REPO, run_cli
from drrdn_tf import plots
from drrdn_tf.training import callbacks

DEMO = os.path.join(REPO, "results", "demo")
METHODS = ("drrdn", "madry", "trades", "standard")
PNG = b"\x89PNG\r\n\x1a\n"


def _history(n, losses=("loss",), warmup=False):
    return [{"epoch": e, "seconds": 1.0, "train_eps": 0.3 * min(1.0, e / 2) if warmup else 0.3, "acc": 0.5 + e / 100,
             "adv_acc": 0.3, "val_acc": 0.6, "val_pgd_acc": 0.2 + e / 100, **{k: 1.0 / e for k in losses}}
            for e in range(1, n + 1)]


def test_training_figure_draws_every_series():
    fig = plots.training_figure({"a": _history(3, ("ce", "bc", "loss"), warmup=True), "b": _history(4)})
    by_title = {ax.get_title(): ax for ax in fig.axes}
    val_ax, train_ax = by_title["validation accuracy"], by_title["training accuracy (epoch means)"]
    loss_a, loss_b = by_title["a: training losses"], by_title["b: training losses"]
    assert [l.get_label() for l in val_ax.lines] == ["a: natural", "a: PGD", "b: natural", "b: PGD"]
    assert list(val_ax.lines[3].get_ydata()) == pytest.approx([0.21, 0.22, 0.23, 0.24])
    assert [l.get_label() for l in train_ax.lines] == ["a: natural", "a: adversarial", "b: natural", "b: adversarial"]
    assert [l.get_label() for l in loss_a.lines] == ["bc", "ce", "loss"]
    assert [l.get_label() for l in loss_b.lines] == ["loss"]
    eps_axes = [ax for ax in fig.axes if ax.get_ylabel().startswith("training eps")]
    assert len(eps_axes) == 1 and len(eps_axes[0].lines) == 1   # only run a changes its eps


def test_epochs_from_keras_history():
    class History:   # what model.fit returns: .history maps each metric to its per-epoch values
        history = {"loss": [2.0, 1.0], "val_acc": [0.5, 0.7]}
    assert plots.epochs_from_keras(History()) == [{"epoch": 1, "loss": 2.0, "val_acc": 0.5},
                                                  {"epoch": 2, "loss": 1.0, "val_acc": 0.7}]
    with pytest.raises(plots.PlotInputError, match="model.fit"):
        plots.epochs_from_keras({})


def test_evaluation_figure_from_the_demo_results():
    results = {m: plots.load_evaluation(os.path.join(DEMO, m, "paper_mnist1000.json")) for m in METHODS}
    fig = plots.evaluation_figure(results)
    bars, sweep = fig.axes
    assert len(bars.patches) == sum(len(r["accuracy"]) for r in results.values())
    heights = sorted(p.get_height() for p in bars.patches)
    assert heights == pytest.approx(sorted(v for r in results.values() for v in r["accuracy"].values()))
    assert [l.get_label() for l in sweep.lines] == list(METHODS)
    assert [t.get_text() for t in bars.get_xticklabels()][:3] == ["Natural", "FGSM", "PGD40"]


def test_cli_training_and_evaluation(tmp_path):
    runs = [os.path.join(DEMO, m) for m in ("drrdn", "madry")]
    out = run_cli("drrdn_tf.plot", *runs, f"--output={tmp_path / 'c.png'}", timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG
    evals = [os.path.join(DEMO, m, "autoattack_mnist200.json") for m in ("drrdn", "madry")]
    out = run_cli("drrdn_tf.plot", *evals, "--labels=DRRDN,Madry", cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "evaluation.png").read_bytes()[:8] == PNG   # the default name, in the working folder


@pytest.mark.parametrize("args,message", [
    ([], "give one or more"),
    (["no/such/folder"], "does not exist"),
    ([REPO], "without history.json"),
    ([os.path.join(DEMO, "drrdn"), os.path.join(DEMO, "drrdn", "paper_mnist1000.json")], "mixed inputs"),
    ([os.path.join(DEMO, "drrdn", "config.json")], "neither a training history nor an evaluation"),
    ([os.path.join(DEMO, "drrdn"), "--labels=a,b"], "2 labels for 1 inputs"),
])
def test_cli_bad_input_exits_2_with_one_line(args, message, tmp_path):
    out = run_cli("drrdn_tf.plot", *args, cwd=str(tmp_path), timeout=120)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert os.listdir(tmp_path) == []


def test_without_matplotlib(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(plots.PlotUnavailable, match="pip install matplotlib"):
        plots.new_figure()
    # a training run goes on without history.png, and says why once
    monkeypatch.setattr(callbacks, "_plot_failures", set())
    assert callbacks.plot_history(str(tmp_path), _history(2)) is None
    assert callbacks.plot_history(str(tmp_path), _history(3)) is None
    assert capsys.readouterr().out.count("no history.png") == 1
    assert os.listdir(tmp_path) == []


def test_plot_history_writes_the_run_folders_png(tmp_path):
    shutil.copy(os.path.join(DEMO, "drrdn", "history.json"), tmp_path / "history.json")
    epochs = json.loads((tmp_path / "history.json").read_text())["epochs"]
    assert callbacks.plot_history(str(tmp_path), epochs) == str(tmp_path / "history.png")
    assert (tmp_path / "history.png").read_bytes()[:8] == PNG
    assert sorted(os.listdir(tmp_path)) == ["history.json", "history.png"]   # no temporary file left
