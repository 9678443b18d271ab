"""The report of paper-scale training runs (issue 12's paper-scale check, then issue 13's budget): one row per
method's run folder with its steadiness after the eps warm-up and its test figures, the per-epoch validation
PGD accuracy side by side, whether every run had the same budget, and the curves.

    python -m drrdn_tf.experiments.paper_scale                       # results/mnist (trained by its train.sh)
    python -m drrdn_tf.experiments.paper_scale --runs=results/fashion_mnist

Reads `<runs>/<method>/{config,history,results}.json` of every method folder there is (training is the
folder's `train.sh`, or `python -m drrdn_tf.train`, which resumes after an interruption) and writes
`<runs>/summary.json`, `<runs>/README.md` and `<runs>/curves.png`. Every figure is computed from those files.
"""

from __future__ import annotations

import os
import statistics
import sys
from typing import Dict, List, Optional

from absl import flags

from drrdn_tf import config as config_lib
from drrdn_tf.cli.common import fail, run_app
from drrdn_tf.experiments import sampling
from drrdn_tf.experiments.reproduce_tables import of_current_models, read_if_exists
from drrdn_tf.experiments.stability_report import train_command
from drrdn_tf.experiments.steadiness import STEADY_POINTS, steadiness

FLAGS = flags.FLAGS

#: Settings that belong to one method (its terms and knobs), not to the budget every method shares.
METHOD_FIELDS = frozenset(("method", "lambda_mi", "lambda_rec", "mine_learning_rate", "trades_beta", "linear_neck")
                          + config_lib.DRRDN_KNOBS)


def run_folders(runs: str) -> Dict[str, str]:
    """{method: folder} for every sub-folder of `runs` holding a run's config.json, in config.METHODS' order."""
    found = {}
    for name in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        folder = os.path.join(runs, name)
        if os.path.exists(os.path.join(folder, "config.json")):
            found[name] = folder
    order = list(config_lib.METHODS)
    return dict(sorted(found.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0])))


def summarize(folder: str) -> Optional[dict]:
    """One row from a run folder: settings, steadiness (steadiness.py) and, once finished, the test figures
    of its results.json (the training attack on the whole test split). None if no epoch has finished."""
    from drrdn_tf.files import read_json, recorded_path
    if not os.path.exists(os.path.join(folder, "history.json")):
        return None
    config = read_json(os.path.join(folder, "config.json"))
    s = config["settings"]
    history = read_json(os.path.join(folder, "history.json"))["epochs"]
    row = {"method": s["method"], "folder": recorded_path(folder), "epochs_planned": s["epochs"],
           "finished": len(history) >= s["epochs"], "settings": s,
           "seconds_per_epoch": statistics.median(e["seconds"] for e in history if "seconds" in e)
           if any("seconds" in e for e in history) else None,
           "val_pgd_by_epoch": [100 * e["val_pgd_acc"] for e in history],
           **steadiness(history, s["eps_warmup_epochs"])}
    if s["method"] == "standard":   # trained on natural images only: its PGD accuracy is meant to fall
        row["steady"] = None
    r = current_results(folder, len(history), s["epochs"])
    if r is not None:
        attack = r["attack"]
        row["test_examples"] = r["num_examples"]
        row["test_natural"] = 100 * r["accuracy"]["natural"]
        row["test_pgd"] = 100 * r["accuracy"][f"pgd{attack['steps']}"]
        row["test_attack"] = f"PGD-{attack['steps']} step {attack['step_size']:g}"
    # python -m drrdn_tf.experiments.reproduce --steps=autoattack; not shown if of an earlier model
    r = read_if_exists(os.path.join(folder, "eval_autoattack.json"))
    if r is not None and of_current_models(r, {s["method"]: len(history)}):
        row["autoattack"] = 100 * r["accuracy"]["autoattack"]
        row["autoattack_examples"] = r["num_examples"]
    return row


def current_results(folder: str, epochs_done: int, epochs_planned: int) -> Optional[dict]:
    """The folder's results.json if it tests the model its history ends with (its `epochs_trained`; a file
    without the field counts only once the run has finished), else None: a run extended from 10 to 20 epochs
    keeps its 10-epoch results.json until it finishes again."""
    from drrdn_tf.files import read_json
    path = os.path.join(folder, "results.json")
    if not os.path.exists(path):
        return None
    r = read_json(path)
    return r if r.get("epochs_trained", epochs_planned) == epochs_done else None


def budget_differences(rows: List[dict]) -> Dict[str, Dict[str, object]]:
    """{setting: {method: value}} for every shared-budget setting (not METHOD_FIELDS, not `epochs`, which a
    run extended in stages changes) that is not the same in every run."""
    keys = sorted({k for r in rows for k in r["settings"]} - METHOD_FIELDS - {"epochs"})
    out = {}
    for key in keys:
        values = {r["method"]: r["settings"].get(key) for r in rows}
        if len({repr(v) for v in values.values()}) > 1:
            out[key] = values
    return out


def _fmt(value, fmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return fmt.format(value)


COLUMNS = [("method", "method", "{}"), ("epochs", "epochs", "{}"), ("val_acc", "val nat", "{:.1f}"),
           ("val_pgd_acc", "val PGD", "{:.1f}"), ("best_val_pgd_acc", "best val PGD", "{:.1f}"),
           ("max_drop", "max drop", "{:.1f}"), ("last_minus_best", "last - best", "{:+.1f}"),
           ("steady", "steady", "{}"), ("test_natural", "test nat", "{:.1f}"), ("test_pgd", "test PGD", "{:.1f}"),
           ("autoattack", "AutoAttack", "{:.1f}"), ("seconds_per_epoch", "s/epoch", "{:.0f}")]


def tables(rows: List[dict]) -> List[str]:
    """The summary table (one line per method) and the per-epoch validation PGD table (one line per epoch)."""
    out = ["| " + " | ".join(t for _, t, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = {**r, "epochs": f"{r['epochs']}/{r['epochs_planned']}",
                 "steady": "–" if r["steady"] is None else r["steady"]}   # – : Standard, not judged
        out.append("| " + " | ".join(_fmt(cells.get(k), f) for k, _, f in COLUMNS) + " |")
    longest = max(len(r["val_pgd_by_epoch"]) for r in rows)
    out += ["", "Validation PGD accuracy (%) per epoch (training eps in brackets while it ramps):", "",
            "| epoch | " + " | ".join(r["method"] for r in rows) + " |", "|---|" + "---|" * len(rows)]
    for i in range(longest):
        warm = rows[0]["settings"]["eps_warmup_epochs"]
        label = f"{i + 1}" + (f" (eps {rows[0]['settings']['eps'] * (i + 1) / warm:.2g})" if i + 1 < warm else "")
        out.append(f"| {label} | " + " | ".join(
            f"{r['val_pgd_by_epoch'][i]:.1f}" if i < len(r["val_pgd_by_epoch"]) else "" for r in rows) + " |")
    return out


def verdict(rows: List[dict]) -> List[str]:
    """Sentences computed from the rows: steadiness of each run, and DRRDN against Madry where both exist."""
    lines = []
    for r in rows:
        if r["steady"] is None:
            lines.append(f"- `{r['method']}`: {r['epochs']} of {r['epochs_planned']} epochs; trained on natural "
                         f"images only, so the steadiness criterion (of validation PGD accuracy) does not apply; "
                         f"validation natural accuracy {r['val_acc']:.1f}%.")
            continue
        lines.append(f"- `{r['method']}`: {r['epochs']} of {r['epochs_planned']} epochs; after the warm-up its "
                     f"validation PGD accuracy fell by at most {r['max_drop']:.1f} points from one epoch to the "
                     f"next, and its last epoch is {abs(r['last_minus_best']):.1f} points below its best: "
                     + ("steady." if r["steady"] else "**not steady**."))
    by = {r["method"]: r for r in rows}
    if "drrdn" in by and "madry" in by:
        d, m = by["drrdn"], by["madry"]
        n = min(d["epochs"], m["epochs"])
        if n:
            gap = d["val_pgd_by_epoch"][n - 1] - m["val_pgd_by_epoch"][n - 1]
            lines.append(f"- At epoch {n} (the last both have finished), DRRDN's validation PGD accuracy is "
                         f"{gap:+.1f} points against Madry's (1,000 held-out images, fixed attack seed).")
        if "test_pgd" in d and "test_pgd" in m and d["test_attack"] == m["test_attack"]:
            n_test = d["test_examples"]
            lines.append(f"- Test ({n_test:,} images, {d['test_attack']}): DRRDN "
                         f"{sampling.gap_words(d['test_pgd'], m['test_pgd'], n_test)} points under attack and "
                         f"{sampling.gap_words(d['test_natural'], m['test_natural'], n_test)} natural against "
                         f"Madry (± two standard errors of the images; DRRDN after {d['epochs']} epochs, Madry "
                         f"after {m['epochs']}): {_tie_words(d['test_pgd'], m['test_pgd'], n_test)} under attack.")
        if "autoattack" in d and "autoattack" in m and d["autoattack_examples"] == m["autoattack_examples"]:
            n_aa = d["autoattack_examples"]
            lines.append(f"- AutoAttack-grade (the `autoattack` preset, the first {n_aa:,} test images): DRRDN "
                         f"{d['autoattack']:.1f}%, Madry {m['autoattack']:.1f}% "
                         f"({sampling.gap_words(d['autoattack'], m['autoattack'], n_aa)} points): "
                         f"{_tie_words(d['autoattack'], m['autoattack'], n_aa)}.")
    return lines


def _tie_words(drrdn: float, madry: float, n: int) -> str:
    return {"below": "**below Madry** beyond sampling noise", "above": "above Madry beyond sampling noise",
            "tie": "within sampling noise of Madry (a tie)"}[sampling.verdict(drrdn, madry, n)]


def budget_sentence(s: dict) -> str:
    """The shared budget of a run's settings (config.json "settings") in words: data, network, threat model,
    training attack, warm-up, optimizer and schedule."""
    warm = (f"the eps ramped linearly over the first {s['eps_warmup_epochs']} epochs"
            if s["eps_warmup_epochs"] else "full eps from the first step")
    decay = ", ".join(str(e) for e in s["lr_decay_epochs"] if e < s["epochs"]) or "none"
    return (f"{s['dataset']}, {s['backbone']}, eps {s['eps']:g}, training attack PGD-{s['pgd_steps']} of step "
            f"{s['step_size']:g} with a random start, {warm}; SGD lr {s['learning_rate']:g} momentum "
            f"{s['momentum']:g} weight decay {s['weight_decay']:g}, batch {s['batch_size']}, {s['epochs']} epochs "
            f"with the learning rate x{s['lr_decay']:g} after epochs {decay}")


def readme(rows: List[dict], runs: str) -> str:
    """<runs>/README.md: the budget (from the runs' config.json), the verdict, tables, curves, commands."""
    from drrdn_tf.files import recorded_path
    s = rows[0]["settings"]
    command = f"python -m drrdn_tf.experiments.paper_scale --runs={recorded_path(runs)}"
    out = [f"# Paper-scale runs (generated by `{command}`)", "",
           f"Budget, read from the runs' `config.json`: {budget_sentence(s)}; the last "
           f"{s['val_examples']:,} training images held out for validation (natural and PGD accuracy after every "
           "epoch, the PGD starts seeded by each batch's content so that a change is the model's). Accuracies "
           f"in %. Steady: after the warm-up, no epoch-to-epoch drop of validation PGD accuracy over "
           f"{STEADY_POINTS:g} points and the last epoch within {STEADY_POINTS:g} points of the best (for the "
           "adversarially trained runs: Standard's PGD accuracy is meant to fall, its row shows –).", ""]
    diffs = budget_differences(rows)
    if diffs:
        out += ["**The runs do not share one budget**: " + "; ".join(
            f"`{k}` " + ", ".join(f"{m} {v}" for m, v in vals.items()) for k, vals in diffs.items()) + ".", ""]
    else:
        out += ["Every run has the same budget (all settings but the method's own terms are equal).", ""]
    out += ["Each `<method>/` is the run folder as `python -m drrdn_tf.train` writes it: `config.json` (every "
            "setting, the data source, library versions), `history.json` and `history.png` (every epoch's "
            "metrics and loss terms); while a run is unfinished, its `checkpoint/` (weights and optimizer states "
            "after the last finished epoch, so that the next session resumes it); once finished, `results.json` "
            "and `savedmodel/` (the inference path, attackable without this package). `model.keras` is not "
            "committed.", ""]
    out += ["## Summary", ""] + verdict(rows) + ["", "## Runs", ""] + tables(rows)
    out += ["", "`test PGD`: the training attack on the test split (results.json, written when a run finishes). "
            "`AutoAttack`: the `autoattack` preset (per-example worst case of APGD-CE, APGD-T and Square) on the "
            "first 1,000 test images, from `python -m drrdn_tf.experiments.reproduce --runs="
            f"{recorded_path(runs)} --steps=autoattack` (`<method>/eval_autoattack.json`).",
            "", "![training curves](curves.png)", "", "## Commands", "",
            "Each run folder is resumable: rerun its command after an interruption and it continues after its "
            "last finished epoch (from the repository root).", ""]
    script = os.path.join(runs, "train.sh")
    for r in rows:
        settings = config_lib.settings_from_json(r["settings"])
        line = f"- `{r['method']}`: `{train_command(settings, r['folder'])}`"
        if os.path.exists(script):
            line += f" (what `bash {recorded_path(script)} {r['method']}` runs, with --epochs from `EPOCHS`)"
        out.append(line)
    return "\n".join(out) + "\n"


def write_report(runs: str) -> List[dict]:
    """summary.json, README.md and curves.png in `runs` from every method's run folder; returns the rows."""
    from drrdn_tf import plots
    from drrdn_tf.files import read_json, write_json, write_text
    rows, histories = [], {}
    for folder in run_folders(runs).values():
        row = summarize(folder)
        if row is not None:
            rows.append(row)
            histories[row["method"]] = read_json(os.path.join(folder, "history.json"))["epochs"]
    if not rows:
        raise ValueError(f"no run folder with a finished epoch under {runs} (expected {runs}/<method>/history.json)")
    write_json(os.path.join(runs, "summary.json"),
               {"steady_points": STEADY_POINTS, "budget_differences": budget_differences(rows),
                "runs": [{k: v for k, v in r.items() if k != "settings"} for r in rows]})
    write_text(os.path.join(runs, "README.md"), readme(rows, runs))
    try:
        plots.save(plots.training_figure(histories), os.path.join(runs, "curves.png"))
    except plots.PlotUnavailable as e:
        print(f"(no curves.png: {e})", flush=True)
    return rows


def define_flags() -> None:
    """The command's flags (defined only when it runs as a command, so importing the module defines none)."""
    flags.DEFINE_string("runs", "results/mnist", "folder holding one run folder per method (<runs>/<method>/)")


def main(argv) -> None:
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    if not os.path.isdir(FLAGS.runs):
        fail(f"--runs={FLAGS.runs} is not a folder: give the folder that holds one run folder per method")
    try:
        rows = write_report(FLAGS.runs)
    except ValueError as e:
        fail(str(e))
    print("\n".join(verdict(rows)), flush=True)
    print(f"wrote {os.path.join(FLAGS.runs, 'README.md')}, summary.json, curves.png", file=sys.stderr, flush=True)


if __name__ == "__main__":
    define_flags()
    run_app(main)
