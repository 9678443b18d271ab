"""`<runs>/tables.md` of `python -m drrdn_tf.experiments.reproduce`: our numbers beside the paper's.

Every figure of ours is read from the JSONs the command writes (`<method>/eval_paper.json`,
`<method>/eval_autoattack.json`, `table3.json`, `figure2.json`); every published one from `paper_numbers`.
Each table says which attack, which budget and how many test images produced it, as its JSONs record them.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

from drrdn_tf.experiments import ablation, mutual_information, paper_numbers

#: The paper's rows (and transfer columns): run-folder name, label.
METHODS = (("standard", "Standard"), ("madry", "Madry"), ("trades", "TRADES"), ("drrdn", "DRRDN"))
_FILES = {"paper": "eval_paper.json", "autoattack": "eval_autoattack.json"}


def _all_folders() -> List[Tuple[str, str]]:
    """(run folder relative to <runs>, label) of every method and every Table 4 variant."""
    return list(METHODS) + [(os.path.join(ablation.FOLDER, v), label) for v, (label, _) in ablation.VARIANTS.items()]


def read_if_exists(path: str) -> Optional[dict]:
    """The JSON file at `path`, or None if there is none."""
    from drrdn_tf.files import read_json
    return read_json(path) if os.path.exists(path) else None


def of_current_models(output: Optional[dict], epochs: Dict[str, Optional[int]]) -> bool:
    """True when an evaluation JSON (`output`, as `reproduce` writes it) was computed on the models that have
    trained `epochs` ({model name: epochs in its history.json}) now. Its `model_epochs` records the epochs of
    the models it was computed on; an output without that record (from before `reproduce` kept it) counts as
    current. The one rule `reproduce` (what to rerun) and the reports (what to show) share."""
    recorded = (output or {}).get("model_epochs")
    return recorded is None or all(recorded.get(m) == e for m, e in epochs.items())


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.2f}"


def _examples(results: Dict[str, dict], dataset: str) -> str:
    """"the first N <dataset> test images", or the count per model when they differ. `results` is keyed by
    method (named by its METHODS label) or by a row label (Table 4), in the table's row order."""
    counts = {r["num_examples"] for r in results.values()}
    if len(counts) == 1:
        return f"the first {counts.pop():,} {dataset} test images"
    labels = dict(METHODS)
    return f"the first N {dataset} test images (N: " + ", ".join(
        f"{labels.get(key, key)} {r['num_examples']:,}" for key, r in results.items()) + ")"


def _attack(config: dict) -> str:
    """An attack config of the JSON as a few words (steps, step size, loss)."""
    if config.get("name") == "transfer":
        config = config["surrogate_attack"]
    loss = {"ce": "cross-entropy", "cw": "CW margin"}.get(config.get("loss"), config.get("loss"))
    return f"{config.get('steps')} step(s) of {config.get('step_size')}, {loss} loss"


def white_box_table(results: Dict[str, dict], dataset: str) -> List[str]:
    """Table 1 (or 2) in the paper's layout, each cell "ours / paper" (ours alone without a paper table)."""
    paper = paper_numbers.paper_table(dataset)
    first = next(iter(results.values()))
    a = first["attacks"]
    cols = list(zip(paper_numbers.WHITE_BOX, ("Natural", "FGSM", "PGD40", "PGD100", "CW40", "CW100")))
    cols += [(f"transfer_{m}", f"from {label}") for m, label in METHODS]
    out = [f"Accuracy (%) on {_examples(results, dataset)}, L_inf eps = {first['eps']:g} (preset `paper`, "
           f"seed {first['seed']}): white-box FGSM ({_attack(a['fgsm'])}), PGD-40/100 ({_attack(a['pgd40'])}) "
           f"and CW-40/100 ({_attack(a['cw40'])}), random start; the four right columns are transfer from each "
           "surrogate (PGD crafted on the surrogate's SavedModel, "
           + next((_attack(c) for r in results.values() for c in r["attacks"].values()
                   if c.get("name") == "transfer"), "none evaluated") + ", judged on the row's model). An example "
           "counts as robust only if it is also classified correctly without attack."]
    if paper:
        out[0] += (f" Each cell: **ours / paper** (the paper's {paper[0]}: the whole test set, its own trained "
                   "models).")
    out += ["", "| Model | " + " | ".join(c for _, c in cols) + " |", "|---|" + "---|" * len(cols)]
    for m, label in METHODS:
        r, p = results.get(m), (paper[1][m] if paper else None)
        if r is None and p is None:
            continue
        cells = []
        for key, _ in cols:
            if key == f"transfer_{m}":
                cells.append("–")
                continue
            ours = _pct(r["accuracy"].get(key)) if r else "–"
            cells.append(f"{ours} / {p[key]:.2f}" if p else ours)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    labels = dict(METHODS)
    stale = [f"{labels[m]} from {', '.join(labels[o] for o in missing)}" for m, r in results.items()
             for missing in [[o for o in results if o != m and f"transfer_{o}" not in r["accuracy"]]] if missing]
    if stale:
        out += ["", "No transfer column yet for " + "; ".join(stale) + ": those JSONs were computed before the "
                "surrogate's model existed (rerun `python -m drrdn_tf.experiments.reproduce` to add the column)."]
    if not paper:
        out += ["", f"The paper has no {dataset} table: ours only."]
    return out


def autoattack_table(results: Dict[str, dict], dataset: str) -> List[str]:
    """The AutoAttack-grade table (the column the paper lacks), and the published reference where we have one."""
    first = next(iter(results.values()))
    a = first["attacks"]
    out = [f"Accuracy (%) on {_examples(results, dataset)}, L_inf eps = {first['eps']:g} (preset `autoattack`, "
           f"seed {first['seed']}): APGD-CE ({a['apgd_ce']['steps']} steps), APGD-T (targeted DLR, "
           f"{a['apgd_t']['steps']} steps, {a['apgd_t']['n_target_classes']} target classes), Square "
           f"({a['square']['n_queries']} queries). Cumulative: each attack runs only on the examples all previous "
           "ones failed on, so the last column is the per-example worst case of the three.", "",
           "| Model | " + " | ".join(c["label"] for c in first["columns"]) + " |",
           "|---|" + "---|" * len(first["columns"])]
    for m, label in METHODS:
        if m in results:
            out.append(f"| {label} | " + " | ".join(_pct(results[m]["accuracy"].get(c["key"]))
                                                    for c in first["columns"]) + " |")
    ref = paper_numbers.autoattack_reference(dataset)
    if ref:
        out += ["", f"The DRRDN paper reports no AutoAttack figure. Published reference: AutoAttack (standard "
                f"version) on {ref['model']} at eps {ref['eps']:g}: **{ref['autoattack']:.2f}%** (natural "
                f"{ref['natural']:.2f}%), whole test set ({ref['source']})."]
    return out


def masking_lines(runs: str) -> List[str]:
    """One line per evaluation JSON: how many masking checks passed and every warning (or "no warnings")."""
    from drrdn_tf.files import recorded_path
    out = []
    for m, label in _all_folders():
        for preset, name in _FILES.items():
            r = read_if_exists(os.path.join(runs, m, name))
            if r is None or "masking" not in r:
                continue
            checks, warnings = r["masking"]["checks"], r["masking"]["warnings"]
            line = (f"- {label}, `{recorded_path(os.path.join(runs, m, name))}` ({r['masking']['examples']} "
                    f"examples): {sum(c['passed'] for c in checks)}/{len(checks)} checks passed, ")
            out.append(line + ("no warnings." if not warnings else "**warnings**: " + "; ".join(warnings)))
    return out or ["No evaluation JSON yet."]


def table3_lines(result: dict, dataset: str) -> List[str]:
    """Table 3 (ours, and the paper's row where it has one) and what produced it."""
    from drrdn_tf.experiments.table3 import HYBRIDS
    paper = paper_numbers.table3(dataset)
    a, f = result["attack"], result["finetune"]
    out = [f"Accuracy (%) of a copy of the Standard model's head, fine-tuned ({f['epochs']} epoch(s), "
           f"{result['num_finetune_examples']:,} natural training images) on r(z_s, z_i), on the hybrids of the "
           f"first {result['num_test_examples']:,} test images and their white-box PGD-{a['steps']} examples "
           f"(step {a['step_size']:g}, eps {a['eps']:g}, on DRRDN's inference path). DRRDN's lambda_rec = "
           f"{result['lambda_rec']:g}" + (": r was never trained, so this table says nothing about "
                                          "disentanglement." if result["lambda_rec"] == 0 else "."), "",
           "| Hybrid representation | " + " | ".join(f"${c}$" for _, c, _, _ in HYBRIDS) + " |",
           "|---|" + "---|" * len(HYBRIDS),
           "| Ours | " + " | ".join(_pct(result["accuracy"][k]) for k, _, _, _ in HYBRIDS) + " |"]
    if paper:
        out.append("| Paper (Table 3) | " + " | ".join(f"{paper[k]:.2f}" for k, _, _, _ in HYBRIDS) + " |")
    return out


def table4_lines(runs: str, dataset: str) -> List[str]:
    """Table 4 (the ablation): natural, PGD-40 and PGD-100 of the default DRRDN (neither MI nor REC) and of each
    variant under `<runs>/ablation/` with an eval_paper.json, beside the paper's, and where
    `<runs>/ablation/mutual_information.json` is there, each model's fresh-MINE estimate of I(z_s; z_i); []
    when no variant has an eval_paper.json."""
    rows = [(label, read_if_exists(os.path.join(runs, ablation.FOLDER, v, _FILES["paper"])), v)
            for v, (label, _) in ablation.VARIANTS.items()]
    if not any(r for _, r, _ in rows):
        return []
    rows.insert(0, ("DRRDN default (neither MI nor REC)", read_if_exists(os.path.join(runs, "drrdn", _FILES["paper"])),
                    "default"))
    paper = paper_numbers.table4(dataset) or {}
    mi = read_if_exists(os.path.join(runs, ablation.FOLDER, mutual_information.JSON))
    estimates = {r["name"]: r for r in (mi or {}).get("models", [])}
    found = {label: r for label, r, _ in rows if r}
    first = next(iter(found.values()))
    out = [f"Accuracy (%) on {_examples(found, dataset)}, L_inf eps = {first['eps']:g}, white-box PGD-40/100 "
           f"({_attack(first['attacks']['pgd40'])}, preset `paper`). The variants start from the default DRRDN "
           "and turn the mutual-information term (lambda_mi, Eq. 9) and the reconstruction term (lambda_rec, "
           "Eq. 10) on at the paper's weight of 0.1 (`drrdn_tf/experiments/ablation.py`)"
           + (": each cell **ours / paper**." if paper else ".")]
    if mi:
        seeds = len(next(iter(estimates.values()))["estimates"]) if estimates else 0
        out[0] += (f" Last column: I(z_s; z_i) in nats, estimated after training by a fresh MINE statistics network"
                   f" per model (mean over {seeds} initialisations, range in brackets; trained on "
                   f"{mi['train_examples']:,} training images' representations, scored on {mi['test_examples']:,} "
                   f"test images': `{ablation.FOLDER}/{mutual_information.JSON}`, "
                   "`drrdn_tf/experiments/mutual_information.py`); not a paper column.")
    header = ["Model", "Natural", "PGD40", "PGD100"] + (["I(z_s; z_i), nats"] if mi else [])
    out += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, r, v in rows:
        cells = [_pct(r["accuracy"].get(k)) if r else "–" for k in ("natural", "pgd40", "pgd100")]
        if v in paper:
            cells[1:] = [f"{c} / {paper[v][k]:.2f}" for c, k in zip(cells[1:], ("pgd40", "pgd100"))]
        if mi:
            e = estimates.get(v)
            cells.append("–" if e is None else f"{e['estimate']:.2f}" + (
                f" ({min(e['estimates']):.2f}-{max(e['estimates']):.2f})" if len(e["estimates"]) > 1 else ""))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def train_commands(runs: str) -> List[str]:
    """The `python -m drrdn_tf.train` command of every method folder and Table 4 variant with a config.json."""
    from drrdn_tf.config import settings_from_json
    from drrdn_tf.experiments.stability_report import train_command
    from drrdn_tf.files import recorded_path
    out = []
    for m, label in _all_folders():
        config = read_if_exists(os.path.join(runs, m, "config.json"))
        if config is not None:
            command = train_command(settings_from_json(config["settings"]), recorded_path(os.path.join(runs, m)))
            out.append(f"- {label}: `{command}`")
    return out


def tables_markdown(runs: str, dataset: str) -> List[str]:
    """`<runs>/tables.md` as lines: Table 1/2 (ours beside the paper's), the AutoAttack table, the masking
    checks of every JSON, Table 3 and Figure 2 if present, and the commands behind them."""
    from drrdn_tf.files import recorded_path
    found = {preset: {m: r for m, _ in METHODS for r in [read_if_exists(os.path.join(runs, m, name))] if r is not None}
             for preset, name in _FILES.items()}
    command = f"python -m drrdn_tf.experiments.reproduce --runs={recorded_path(runs)} --dataset={dataset}"
    out = [f"# The paper's tables from the run folders ({dataset})", "",
           f"Generated by `{command}` from the JSON files under `{recorded_path(runs)}/` (no number typed by "
           "hand; the paper's are in `drrdn_tf/experiments/paper_numbers.py`). Accuracies in %.", "",
           "## White-box and transfer attacks (the paper's Table 1/2)", ""]
    paper_table = paper_numbers.paper_table(dataset)
    out += white_box_table(found["paper"], dataset) if found["paper"] else [
        "Not evaluated yet." + (f" The paper's {paper_table[0]} is in `paper_numbers.py`." if paper_table else "")]
    out += ["", "## AutoAttack-grade worst case (the column the paper lacks)", ""]
    out += autoattack_table(found["autoattack"], dataset) if found["autoattack"] else ["Not evaluated yet."]
    out += ["", "## Gradient-masking checks", "",
            "Carlini et al. (2019)'s checks on every evaluation (`drrdn_tf.evaluation.masking`): accuracy falls "
            "with eps and reaches ~0 unbounded, iterative attacks beat FGSM, white-box beats transfer, Square "
            "finds little the gradient attacks missed, more steps never help the model.", ""]
    out += masking_lines(runs)
    table4 = table4_lines(runs, dataset)
    if table4:
        out += ["", "## Ablation (the paper's Table 4)", ""] + table4
    table3 = read_if_exists(os.path.join(runs, "table3.json"))
    if table3 is not None:
        out += ["", "## Hybrid representations (the paper's Table 3)", ""] + table3_lines(table3, dataset)
    figure = read_if_exists(os.path.join(runs, "figure2.json"))
    if figure is not None and os.path.exists(os.path.join(runs, "figure2.png")):
        a = figure["attack"]
        out += ["", "## t-SNE of the representations (the paper's Figure 2)", "",
                f"The first {figure['num_examples']:,} test images and their white-box PGD-{a['steps']} examples "
                f"(step {a['step_size']:g}, eps {a['eps']:g}, each model attacked on its own inference path); "
                "columns DRRDN's z_s, z_i and the Standard model's representation, rows natural, both, "
                "adversarial.", "", "![Figure 2](figure2.png)"]
    commands = train_commands(runs)
    if commands:
        out += ["", "## How each model was trained", "", "From the repository root; each run folder is resumable "
                "(rerun its command after an interruption).", ""] + commands
    return out
