"""The stability study's report: one row per run folder (steadiness, test figures), `summary.json`,
`table.md`, the generated `README.md` and `curves.png`."""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional

from drrdn_tf import config as config_lib
from drrdn_tf.experiments.stability_rungs import EVAL_STEP, EVAL_STEPS, PROXY, RUNGS, run_dir, settings_of
from drrdn_tf.experiments.steadiness import STEADY_POINTS, steadiness


def summarize_run(folder: str, rung: str, seed: int, output_dir: str) -> Optional[dict]:
    """One row of the table from a run folder, or None if it has no history yet."""
    from drrdn_tf.files import read_json
    hist_path = os.path.join(folder, "history.json")
    if not os.path.exists(hist_path):
        return None
    history = read_json(hist_path)["epochs"]
    settings = read_json(os.path.join(folder, "config.json"))["settings"]
    row = {"rung": rung, "seed": seed, "folder": os.path.relpath(folder, output_dir),
           "finished": len(history) >= settings["epochs"],
           **steadiness(history, settings["eps_warmup_epochs"])}
    for name in ("results.json", "eval.json", "autoattack.json"):
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            continue
        r = read_json(path)
        if name == "results.json":
            row["test_pgd_train"] = 100 * r["accuracy"][f"pgd{settings['pgd_steps']}"]
        elif name == "eval.json":
            row["test_natural"], row["test_pgd40"] = 100 * r["natural"], 100 * r[f"pgd{EVAL_STEPS}"]
            row["test_examples"] = r["num_examples"]
        else:
            row["test_autoattack"] = 100 * r["accuracy"]["autoattack"]
    return row


COLUMNS = [("rung", "rung", "{}"), ("seed", "seed", "{}"), ("epochs", "epochs", "{}"),
           ("val_acc", "val nat", "{:.1f}"), ("val_pgd_acc", "val PGD", "{:.1f}"),
           ("best_val_pgd_acc", "best val PGD", "{:.1f}"), ("max_drop", "max drop", "{:.1f}"),
           ("last_minus_best", "last - best", "{:+.1f}"), ("steady", "steady", "{}"),
           ("test_natural", "test nat", "{:.1f}"), ("test_pgd_train", "test PGD-10", "{:.1f}"),
           ("test_pgd40", "test PGD-40", "{:.1f}"), ("test_autoattack", "AutoAttack", "{:.1f}"),
           ("dom_acc_s", "c_i acc on z_s", "{:.2f}")]


def _cell(row: dict, key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return fmt.format(value)


def mean_rows(rows: List[dict]) -> List[dict]:
    """Per rung with >= 2 finished seeds: the mean of each numeric column (seed = 'mean')."""
    out = []
    for rung in dict.fromkeys(r["rung"] for r in rows):
        runs = [r for r in rows if r["rung"] == rung and r["finished"]]
        if len(runs) < 2:
            continue
        mean = {"rung": rung, "seed": "mean", "epochs": runs[0]["epochs"],
                "steady": all(r["steady"] for r in runs)}
        for key, _, _ in COLUMNS:
            values = [r.get(key) for r in runs]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and key != "epochs" \
                    and key != "seed":
                mean[key] = sum(values) / len(values)
        out.append(mean)
    return out


def table_markdown(rows: List[dict]) -> str:
    """The study's table: one line per run, then the per-rung means over seeds."""
    head = "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    sep = "|" + "---|" * len(COLUMNS)
    lines = [head, sep] + ["| " + " | ".join(_cell(r, k, f) for k, _, f in COLUMNS) + " |" for r in rows]
    means = mean_rows(rows)
    if means:
        lines += ["", "Means over seeds:", "", head, sep]
        lines += ["| " + " | ".join(_cell(r, k, f) for k, _, f in COLUMNS) + " |" for r in means]
    return "\n".join(lines) + "\n"


def curves_figure(histories: Dict[str, List[dict]]):
    """Validation accuracy under PGD and natural per epoch, one line per run (colour by rung, style by seed)."""
    from drrdn_tf import plots
    fig = plots.new_figure(figsize=(12, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    colors = plots._colors(fig)
    rungs = list(dict.fromkeys(name.rsplit("_s", 1)[0] for name in histories))
    for name, history in histories.items():
        rung, seed = name.rsplit("_s", 1)
        color = colors[rungs.index(rung) % len(colors)]
        style = ["-", "--", ":", "-."][int(seed) % 4]
        epochs = [e["epoch"] for e in history]
        for ax, key in zip(axes, ("val_pgd_acc", "val_acc")):
            ax.plot(epochs, [100 * e[key] for e in history], style, color=color, marker=".",
                    label=name if ax is axes[0] else None)
    for ax, title in zip(axes, ("validation accuracy under PGD (%)", "validation natural accuracy (%)")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize="small")
    return fig


def existing_runs(output_dir: str) -> List[tuple]:
    """(rung, seed) of every run folder under output_dir/runs, in the order of RUNGS, then by seed."""
    root = os.path.join(output_dir, "runs")
    names = os.listdir(root) if os.path.isdir(root) else []
    found = []
    for name in names:
        rung, _, seed = name.rpartition("_s")
        if rung in RUNGS and seed.isdigit():
            found.append((rung, int(seed)))
    order = list(RUNGS)
    return sorted(found, key=lambda rs: (order.index(rs[0]), rs[1]))


def write_report(output_dir: str) -> List[dict]:
    """summary.json, table.md, README.md and curves.png from every run folder of the study; returns the rows."""
    from drrdn_tf import plots
    from drrdn_tf.files import read_json, write_json, write_text
    rows, histories = [], {}
    runs = existing_runs(output_dir)
    for rung, seed in runs:
        folder = run_dir(output_dir, rung, seed)
        row = summarize_run(folder, rung, seed, output_dir)
        if row is not None:
            rows.append(row)
            histories[f"{rung}_s{seed}"] = read_json(os.path.join(folder, "history.json"))["epochs"]
    write_json(os.path.join(output_dir, "summary.json"),
               {"proxy": {k: list(v) if isinstance(v, tuple) else v for k, v in PROXY.items()},
                "eval_attack": {"name": "pgd", "steps": EVAL_STEPS, "step_size": EVAL_STEP, "seed": 0},
                "steady_points": STEADY_POINTS,
                "rungs": {r: dataclasses.asdict(RUNGS[r]) for r in dict.fromkeys(r for r, _ in runs)},
                "runs": rows, "means": mean_rows(rows)})
    write_text(os.path.join(output_dir, "table.md"), table_markdown(rows))
    write_text(os.path.join(output_dir, "README.md"), readme(rows, output_dir))
    if histories:
        try:
            plots.save(curves_figure(histories), os.path.join(output_dir, "curves.png"))
        except plots.PlotUnavailable as e:
            print(f"(no curves.png: {e})", flush=True)
    return rows


def train_command(s: config_lib.Settings, folder: str) -> str:
    """The `python -m drrdn_tf.train` command that trains the same run folder (flags for every setting that
    differs from the data set's default)."""
    default = config_lib.settings_for(s.dataset).to_json()
    flags_ = [f"--dataset={s.dataset}", "--data_dir=../shared/data"]
    for key, value in s.to_json().items():
        if key == "dataset" or value == default.get(key):
            continue
        if isinstance(value, bool):
            flags_.append(f"--{key}" if value else f"--no{key}")
        elif isinstance(value, list):
            flags_.append(f"--{key}={','.join(str(v) for v in value)}")
        else:
            flags_.append(f"--{key}={value}")
    return " ".join(["python -m drrdn_tf.train", *flags_, f"--output_dir={folder}"])


def verdict_lines(rows: List[dict]) -> List[str]:
    """Sentences computed from the table: each rung's mean test PGD-40 and natural accuracy against Madry's,
    each gap with its two-standard-error band over the test images (sampling.gap_words) and the word it earns
    (above, below, level), and whether every seed of the rung was steady."""
    from drrdn_tf.experiments import sampling

    def mean(rung, key):
        values = _finished_values(rows, rung, key)
        return (sum(values) / len(values), len(values)) if values else (None, 0)

    def against_madry(a, b, n, what):
        word = {"above": "above", "below": "below", "tie": "level with"}[sampling.verdict(a, b, n)]
        return f"{what} {sampling.gap_words(a, b, n)} ({word} Madry)"

    madry_pgd, n_madry = mean("madry", "test_pgd40")
    madry_nat, _ = mean("madry", "test_natural")
    images = min((r["test_examples"] for r in rows if r.get("test_examples")), default=None)
    lines = []
    for rung in dict.fromkeys(r["rung"] for r in rows):
        pgd, n = mean(rung, "test_pgd40")
        nat, _ = mean(rung, "test_natural")
        if pgd is None:
            continue
        steady = all(r["steady"] for r in rows if r["rung"] == rung and r["finished"])
        line = f"- `{rung}` ({n} seed{'s' if n > 1 else ''}): test PGD-40 {pgd:.1f}, natural {nat:.1f}"
        if rung != "madry" and madry_pgd is not None and images:
            line += (f"; against Madry ({n_madry} seed{'s' if n_madry > 1 else ''}): "
                     f"{against_madry(pgd, madry_pgd, images, 'PGD-40')}, "
                     f"{against_madry(nat, madry_nat, images, 'natural')}")
        line += "; steady" if steady else "; **not steady**"
        lines.append(line + ".")
    if images and n_madry:
        lines += ["", f"Each ± is two standard errors of the gap over the {images:,} test images "
                      "(`drrdn_tf/experiments/sampling.py`): a gap inside it is not told apart from the choice of "
                      "images. It does not cover the spread over training seeds, which one or two seeds per rung "
                      "do not measure" + (f"; Madry's {n_madry} seeds span "
                                          f"{_seed_spread(rows, 'madry', 'test_pgd40'):.1f} points of PGD-40"
                                          if n_madry > 1 else "") + "."]
    return lines


def _finished_values(rows: List[dict], rung: str, key: str) -> List[float]:
    """The values of `key` over the finished seeds of `rung` that have it."""
    return [r[key] for r in rows if r["rung"] == rung and r.get(key) is not None and r["finished"]]


def _seed_spread(rows: List[dict], rung: str, key: str) -> float:
    """Largest minus smallest value of key over the finished seeds of rung (0 with one seed)."""
    values = _finished_values(rows, rung, key)
    return max(values) - min(values) if values else 0.0


def readme(rows: List[dict], output_dir: str) -> str:
    """results/stability/README.md: what was run, with which command, and the generated table."""
    out = ["# DRRDN stability study (generated by `python -m drrdn_tf.experiments.stability`)", "",
           "Proxy: MNIST, the first 10,000 training images, the last 1,000 held out for validation (PGD starts "
           "seeded by batch), PGD-10 of step 0.04 at eps 0.3 ramped over 3 epochs, SGD 0.01 momentum 0.9, batch "
           "128, 10 epochs. Test: the first 1,000 test images of the exported SavedModel, natural and PGD-40 "
           "(step 0.01, one random start, seed 0, best iterate kept); `test PGD-10` is the training attack "
           "(results.json); `AutoAttack` the `autoattack` preset (APGD-CE, APGD-T, Square, worst case per "
           "example). Accuracies in %. `max drop`: the largest fall of validation PGD accuracy from one epoch to "
           f"the next from the first epoch at full eps; steady = max drop and best - last both <= "
           f"{STEADY_POINTS:g} points.", "", "## Summary", ""]
    out += verdict_lines(rows)
    out += ["", "## Every run", "", table_markdown(rows), "![validation curves](curves.png)", "",
            "## Rungs and the commands that trained them", "",
            "Each run folder was trained by the study (`python -m drrdn_tf.experiments.stability "
            "--data_dir=../shared/data --rungs=<rung> --seeds=<seed>`, from the repository root), which is the "
            "same as the training command below; weights are not committed (rerun the command to rebuild them).",
            ""]
    for rung in dict.fromkeys(r["rung"] for r in rows):
        seeds = [r["seed"] for r in rows if r["rung"] == rung]
        out.append(f"- `{rung}`: {RUNGS[rung].description}.")
        folder = os.path.join(output_dir, "runs", f"{rung}_s{seeds[0]}")
        out.append(f"  `{train_command(settings_of(rung, seeds[0]), folder)}`")
    return "\n".join(out) + "\n"
