"""Plots of what training and evaluation write as JSON: training curves of run folders, and the accuracy of
models under each attack (with the accuracy-vs-eps sweep of the gradient-masking checks).

    python -m drrdn_tf.plot runs/demo_drrdn runs/demo_madry --output=curves.png       # training curves
    python -m drrdn_tf.plot evaluation_a.json evaluation_b.json --output=attacks.png  # evaluation results

`python -m drrdn_tf.train` also draws `history.png` in its run folder after every epoch, and
`python -m drrdn_tf.evaluate` a PNG next to its JSON, when matplotlib is installed.

matplotlib is optional (`pip install drrdn_tf[plot]`, or `pip install matplotlib`): without it these functions
raise PlotUnavailable, which says so. Figures are made with matplotlib's object API (no pyplot state, no
display needed): `*_figure` return a `matplotlib.figure.Figure` (shown inline in a notebook), `plot_*` write
a PNG.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Mapping, Optional, Sequence

from drrdn_tf.files import write_atomically

#: history keys that are not training losses
NOT_LOSSES = {"epoch", "seconds", "train_eps", "acc", "adv_acc", "dom_acc"}


class PlotUnavailable(ImportError):
    """matplotlib is not installed."""


class PlotInputError(ValueError):
    """A file or folder is not a training history or an evaluation result."""


def new_figure(**kwargs):
    """A `matplotlib.figure.Figure(**kwargs)` (not registered with pyplot), or PlotUnavailable."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailable("plots need matplotlib: pip install matplotlib (or pip install drrdn_tf[plot])") \
            from None
    return Figure(**kwargs)


def _colors(fig) -> List[str]:
    import matplotlib
    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def epochs_from_keras(history) -> List[dict]:
    """A keras `History` (what `model.fit` returns) or its `.history` dict -> the per-epoch entries these plots
    take ([{"epoch": 1, "loss": ..., "val_acc": ...}, ...])."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise PlotInputError("expected the History that model.fit returns (or its .history dict), with metrics")
    n = max(len(v) for v in logs.values())
    return [{"epoch": e + 1, **{k: float(v[e]) for k, v in logs.items() if e < len(v)}} for e in range(n)]


# --------------------------------------------------------------------------- inputs

def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise PlotInputError(f"{path} does not exist") from None
    except (OSError, ValueError) as e:
        raise PlotInputError(f"{path} is not readable JSON ({e})") from None


def load_history(path: str) -> List[dict]:
    """The per-epoch entries of a run folder (its history.json) or of a history.json file."""
    file = os.path.join(path, "history.json") if os.path.isdir(path) else path
    if os.path.isdir(path) and not os.path.exists(file):
        raise PlotInputError(f"{path} is a folder without history.json: not a run folder of drrdn_tf.train")
    data = _read_json(file)
    epochs = data.get("epochs") if isinstance(data, dict) else None
    if not isinstance(epochs, list) or not all(isinstance(e, dict) and "epoch" in e for e in epochs):
        raise PlotInputError(f"{file} is not a training history (expected {{\"epochs\": [{{\"epoch\": 1, ...}}]}})")
    return epochs


def load_evaluation(path: str) -> dict:
    """An evaluation result JSON of drrdn_tf.evaluate (needs "accuracy" and "columns")."""
    data = _read_json(path)
    if not (isinstance(data, dict) and isinstance(data.get("accuracy"), dict)
            and isinstance(data.get("columns"), list)):
        raise PlotInputError(f"{path} is not an evaluation result of drrdn_tf.evaluate "
                             "(expected \"accuracy\" and \"columns\")")
    return data


def kind_of(path: str) -> str:
    """"training" for a run folder or history JSON, "evaluation" for an evaluation JSON; else PlotInputError."""
    if os.path.isdir(path):
        load_history(path)
        return "training"
    data = _read_json(path)
    if isinstance(data, dict) and "epochs" in data:
        return "training"
    if isinstance(data, dict) and "accuracy" in data and "columns" in data:
        return "evaluation"
    raise PlotInputError(f"{path} is neither a training history nor an evaluation result of drrdn_tf")


# --------------------------------------------------------------------------- figures

def _series(epochs: Sequence[dict], key: str):
    points = [(e["epoch"], e[key]) for e in epochs if isinstance(e.get(key), (int, float))]
    return [p[0] for p in points], [p[1] for p in points]


def training_figure(histories: Mapping[str, Sequence[dict]], title: Optional[str] = None):
    """A figure of one or more runs' per-epoch histories ({label: epochs}). Top row: validation accuracy
    (natural, solid; under the validation PGD, dashed) with the training eps when it changes (a warm-up), and
    training accuracy (natural, solid; on the adversarial batch, dashed), all runs together. Bottom row: one
    panel per run with every loss term it logs. Returns the matplotlib Figure."""
    if not histories:
        raise PlotInputError("no training history to plot")
    n = len(histories)
    fig = new_figure(figsize=(max(12, 4.2 * n), 8.5))
    grid = fig.add_gridspec(2, 2 * n)
    val_ax, train_ax = fig.add_subplot(grid[0, :n]), fig.add_subplot(grid[0, n:])
    colors = _colors(fig)
    eps_ax = None
    for i, (label, epochs) in enumerate(histories.items()):
        c = colors[i % len(colors)]
        for ax, keys in ((val_ax, (("val_acc", "-", "natural"), ("val_pgd_acc", "--", "PGD"))),
                         (train_ax, (("acc", "-", "natural"), ("adv_acc", "--", "adversarial")))):
            for key, style, what in keys:
                x, y = _series(epochs, key)
                if x:
                    ax.plot(x, y, style, color=c, marker=".", label=f"{label}: {what}")
        x, y = _series(epochs, "train_eps")
        if x and len(set(y)) > 1:
            eps_ax = eps_ax or val_ax.twinx()
            eps_ax.step(x, y, where="post", color=c, alpha=0.35, linewidth=1)
        loss_ax = fig.add_subplot(grid[1, 2 * i:2 * i + 2])
        loss_keys = sorted({k for e in epochs for k, v in e.items()
                            if k not in NOT_LOSSES and not k.startswith("val_") and isinstance(v, (int, float))})
        for key in loss_keys:
            loss_ax.plot(*_series(epochs, key), marker=".", label=key)
        loss_ax.set_title(f"{label}: training losses", fontsize=10)
        _finish(loss_ax, "epoch")
    if eps_ax is not None:
        eps_ax.set_ylabel("training eps (thin lines)")
        eps_ax.set_ylim(bottom=0)
    val_ax.set_title("validation accuracy")
    train_ax.set_title("training accuracy (epoch means)")
    for ax in (val_ax, train_ax):
        ax.set_ylim(0, 1)
        _finish(ax, "epoch")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _finish(ax, xlabel: str) -> None:
    ax.set_xlabel(xlabel)
    if xlabel == "epoch":
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if ax.lines or ax.patches:
        ax.legend(fontsize=7)


def evaluation_figure(results: Mapping[str, dict], title: Optional[str] = None):
    """A figure of one or more evaluation results ({label: result JSON}): accuracy under each attack column, as
    grouped bars, and, when the results have it, the accuracy-vs-eps sweep of the gradient-masking checks.
    Returns the matplotlib Figure."""
    if not results:
        raise PlotInputError("no evaluation result to plot")
    columns: List[dict] = []
    for r in results.values():
        for col in r["columns"]:
            if col["key"] not in {c["key"] for c in columns}:
                columns.append(col)
    sweeps = {label: _sweep(r) for label, r in results.items()}
    has_sweep = any(sweeps.values())
    fig = new_figure(figsize=(16 if has_sweep else 11, 4.6))
    axes = fig.subplots(1, 2 if has_sweep else 1, gridspec_kw={"width_ratios": [2.2, 1]} if has_sweep else None,
                        squeeze=False)
    ax = axes[0][0]
    width = 0.8 / len(results)
    for i, (label, r) in enumerate(results.items()):
        xs = [j + (i - (len(results) - 1) / 2) * width for j, col in enumerate(columns) if col["key"] in r["accuracy"]]
        ys = [r["accuracy"][col["key"]] for col in columns if col["key"] in r["accuracy"]]
        ax.bar(xs, ys, width, label=label)
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([c["label"] for c in columns], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.15)   # room for the legend above the bars
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("accuracy")
    first = next(iter(results.values()))
    ax.set_title(f"accuracy under attack (L_{first.get('norm', 'inf').replace('linf', 'inf')}, "
                 f"eps {first.get('eps')}, {first.get('num_examples')} {first.get('dataset')} test images)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=min(len(results), 4))
    if has_sweep:
        ax = axes[0][1]
        for label, sweep in sweeps.items():
            if sweep:
                ax.plot([p["eps"] for p in sweep], [p["accuracy"] for p in sweep], marker="o", label=label)
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.set_title("accuracy vs. eps (PGD sweep of the masking checks)")
        _finish(ax, "eps")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _sweep(result: dict) -> Optional[List[dict]]:
    for check in (result.get("masking") or {}).get("checks", []):
        if check.get("sweep"):
            return check["sweep"]
    return None


def save(fig, path: str) -> str:
    """Writes the figure as a PNG (atomically: a reader never sees half a file)."""
    return write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), suffix=".png")


def plot_training(histories: Mapping[str, Sequence[dict]], path: str, title: Optional[str] = None) -> str:
    """`training_figure` written to `path` (PNG)."""
    return save(training_figure(histories, title), path)


def plot_evaluation(results: Mapping[str, dict], path: str, title: Optional[str] = None) -> str:
    """`evaluation_figure` written to `path` (PNG)."""
    return save(evaluation_figure(results, title), path)


def labels_for(paths: Sequence[str], labels: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """{path: label}: the given labels, or each path's folder/file name (the parent folder's name too when the
    names alone are not unique, e.g. several runs' history.json)."""
    if labels:
        if len(labels) != len(paths):
            raise PlotInputError(f"{len(labels)} labels for {len(paths)} inputs: give one label per input")
        return dict(zip(paths, labels))
    names = [os.path.splitext(os.path.basename(os.path.normpath(p)))[0] for p in paths]
    if len(set(names)) < len(names):
        names = [f"{os.path.basename(os.path.dirname(os.path.abspath(p)))}/{n}" for p, n in zip(paths, names)]
    return dict(zip(paths, names))
