"""The DRRDN stability study: a ladder of variants trained on a cheap MNIST proxy, with Madry beside them.

    python -m drrdn_tf.experiments.stability --data_dir=DIR                      # the whole ladder, 2 seeds
    python -m drrdn_tf.experiments.stability --data_dir=DIR --rungs=madry,drrdn --seeds=0
    python -m drrdn_tf.experiments.stability --data_dir=DIR --report_only       # tables/figure from the folders
    python -m drrdn_tf.experiments.stability --list                             # the rungs and what they change

Every (rung, seed) is one run folder `<output_dir>/runs/<rung>_s<seed>` written by `training.run`, so an
interrupted study resumes where it stopped (rerun the same command) and a finished run is not retrained.
After training, each run's exported SavedModel is attacked on the first `test_examples` test images with
PGD-40 (step 0.01, the paper's evaluation attack, fixed seed) -> `eval.json`, and, for the rungs named by
--autoattack, with the `autoattack` preset -> `autoattack.json`. The study then writes
`<output_dir>/summary.json` (every figure of the table, per run), `table.md` and `curves.png` (validation
accuracy natural and under PGD per epoch, one line per run).

Steadiness (the issue's criterion), per run, on validation PGD accuracy from the first epoch at full eps:
the largest drop from one epoch to the next ("max drop") and last minus best ("last - best"); a run is
steady when both are within 2 points.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Dict, List, Optional

from absl import flags

from drrdn_tf import config as config_lib
from drrdn_tf.cli.common import fail, run_app

# The proxy (issue "DRRDN that trains steadily"): MNIST, 10,000 training images, 1,000 held out for
# validation, PGD-10 of step 0.04 at eps 0.3 ramped over 3 epochs, SGD 0.01 momentum 0.9, batch 128, no decay.
PROXY = dict(dataset="mnist", train_examples=10000, val_examples=1000, pgd_steps=10, step_size=0.04,
             eps_warmup_epochs=3, epochs=10, lr_decay_epochs=(100,), test_examples=1000, batch_size=128)
# A few batches, for CI: exercises every code path of the study, measures nothing.
TINY = dict(train_examples=128, val_examples=64, pgd_steps=1, epochs=2, eps_warmup_epochs=1, test_examples=64,
            batch_size=64, probe_every=1)
#: every DRRDN term but Eq. 4 off: c_i and d_i still train on L_BC, nothing but L_CE reaches g or d_s.
EXTRAS_OFF = dict(lambda_adv=0.0, lambda_ent=0.0, lambda_mi=0.0, lambda_rec=0.0, bc_encoder_weight=0.0)
#: the PGD-40 evaluation attack (the paper's MNIST setting) and the validation criterion, in points.
EVAL_STEPS, EVAL_STEP = 40, 0.01
STEADY_POINTS = 2.0


@dataclasses.dataclass(frozen=True)
class Rung:
    description: str
    overrides: dict


RUNGS: Dict[str, Rung] = {
    "madry": Rung("Madry PGD training (reference)", dict(method="madry")),
    "drrdn": Rung("DRRDN as it was (every term at weight 1, confusion, alternating)", {}),
    "eq4": Rung("extra terms off: L_CE (Eq. 4) alone reaches g and d_s", EXTRAS_OFF),
    "eq4_a75": Rung("extra terms off, adversarial CE weight 0.75", {**EXTRAS_OFF, "ce_adv_weight": 0.75}),
    "eq4_a1": Rung("extra terms off, adversarial CE weight 1 (Madry's objective through d_s)",
                   {**EXTRAS_OFF, "ce_adv_weight": 1.0}),
    "eq4_a1_nowarm": Rung("extra terms off, adversarial CE weight 1, no eps warm-up (eps 0.3 from the first step)",
                          {**EXTRAS_OFF, "ce_adv_weight": 1.0, "eps_warmup_epochs": 0}),
    "madry_nowarm": Rung("Madry PGD training, no eps warm-up (eps 0.3 from the first step)",
                         dict(method="madry", eps_warmup_epochs=0)),
    "eq4+bc": Rung("extra terms off but L_BC into the encoder at 1", {**EXTRAS_OFF, "bc_encoder_weight": 1.0}),
    "eq4+adv": Rung("extra terms off but L_ADV (confusion) at 1", {**EXTRAS_OFF, "lambda_adv": 1.0}),
    "eq4_a1+adv": Rung("the default (adversarial CE weight 1) plus L_ADV (confusion) at 1",
                       {**EXTRAS_OFF, "ce_adv_weight": 1.0, "lambda_adv": 1.0}),
    "eq4+adv0.1": Rung("extra terms off but L_ADV (confusion) at 0.1", {**EXTRAS_OFF, "lambda_adv": 0.1}),
    "eq4+adv_ramp": Rung("L_ADV 0.1 with the DANN ramp from the end of the warm-up",
                         {**EXTRAS_OFF, "lambda_adv": 0.1, "alignment_ramp": "dann"}),
    "eq4+adv_1s": Rung("L_ADV one-sided at 1", {**EXTRAS_OFF, "lambda_adv": 1.0, "alignment": "one_sided"}),
    "eq4+adv_1s0.1": Rung("L_ADV one-sided at 0.1", {**EXTRAS_OFF, "lambda_adv": 0.1, "alignment": "one_sided"}),
    "eq4+adv_mom0": Rung("L_ADV at 1, disentangler update without momentum",
                         {**EXTRAS_OFF, "lambda_adv": 1.0, "disentangler_momentum": 0.0}),
    "eq4+adv_sn": Rung("L_ADV at 1, spectral-normalised c_i",
                       {**EXTRAS_OFF, "lambda_adv": 1.0, "discriminator_spectral_norm": True}),
    "eq4+adv_single": Rung("L_ADV at 1, single-pass formulation",
                           {**EXTRAS_OFF, "lambda_adv": 1.0, "formulation": "single"}),
    "eq4+ent": Rung("extra terms off but L_ENT at 1", {**EXTRAS_OFF, "lambda_ent": 1.0}),
    "eq4+rec": Rung("extra terms off but L_REC at 0.1", {**EXTRAS_OFF, "lambda_rec": 0.1}),
    "eq4+mi": Rung("extra terms off but MI at 0.1", {**EXTRAS_OFF, "lambda_mi": 0.1}),
    "eq4+mi_ema": Rung("extra terms off but MI at 0.1 with MINE's moving-average gradient",
                       {**EXTRAS_OFF, "lambda_mi": 0.1, "mine_ema": 0.01}),
    # The recipe of ../shared/notes/drrdn_stability.md (c), with Madry's full adversarial CE weight: every term
    # on, the domain game light, one-sided, ramped in and against a spectral-normalised c_i, kept out of g
    # through L_BC; MI small with MINE's corrected gradient.
    "recipe_a1": Rung("every term on, light: L_ADV 0.1 one-sided + DANN ramp, SN c_i, L_BC off g, L_ENT 0.1, "
                      "L_REC 0.1, MI 0.01 + EMA, adversarial CE weight 1",
                      dict(ce_adv_weight=1.0, lambda_adv=0.1, alignment="one_sided", alignment_ramp="dann",
                           discriminator_spectral_norm=True, bc_encoder_weight=0.0, lambda_ent=0.1,
                           lambda_rec=0.1, lambda_mi=0.01, mine_ema=0.01)),
}
LADDER = ("madry", "drrdn", "eq4", "recipe_a1", "eq4+adv", "eq4+rec", "eq4+ent", "eq4+mi", "eq4+bc")

FLAGS = flags.FLAGS
flags.DEFINE_list("rungs", list(LADDER), "rungs to train and report, in order (see --list)")
flags.DEFINE_list("seeds", ["0", "1"], "seeds per rung")
flags.DEFINE_string("output_dir", "results/stability", "study folder (run folders go to <output_dir>/runs)")
flags.DEFINE_string("data_dir", None, "folder holding mnist.npz (default: $DRRDN_DATA_DIR)")
flags.DEFINE_list("autoattack", [], "rungs whose models also get the autoattack preset")
flags.DEFINE_integer("epochs", None, "override the proxy's epochs")
flags.DEFINE_boolean("tiny", False, "a few batches per run (CI): checks the study's code paths only")
flags.DEFINE_boolean("report_only", False, "train nothing: tables and figure from every run folder there is")
flags.DEFINE_boolean("list", False, "print the rungs and what each changes, then exit")


def settings_of(rung: str, seed: int, tiny: bool = False, epochs: Optional[int] = None) -> config_lib.Settings:
    """The run settings of one rung and seed: the proxy (or TINY), DRRDN as printed, the rung's overrides (so
    a rung means the same run whatever the package's defaults are)."""
    values = {**PROXY, **(TINY if tiny else {}), "method": "drrdn", "seed": seed, **config_lib.DRRDN_AS_PRINTED,
              **RUNGS[rung].overrides}
    if epochs is not None:
        values["epochs"] = epochs
    return config_lib.settings_for(values.pop("dataset"), **values)


def run_dir(output_dir: str, rung: str, seed: int) -> str:
    return os.path.join(output_dir, "runs", f"{rung}_s{seed}")


# --------------------------------------------------------------------------- evaluation

def test_split(s: config_lib.Settings, data_dir: Optional[str]):
    """The first `test_examples` test images (float32 in [0, 1]) and labels."""
    from drrdn_tf import data as data_lib
    raw = data_lib.load_raw(s.dataset, data_dir, download=False)
    n = s.test_examples or len(raw.test.labels)
    return data_lib.to_float(raw.test.images[:n]), raw.test.labels[:n]


#: the autoattack preset's budget in a TINY study (the real study uses AutoAttack's standard budget)
TINY_AUTOATTACK = {"apgd_steps": 2, "n_target_classes": 1, "square_queries": 4}


def evaluate_run(folder: str, s: config_lib.Settings, data_dir: Optional[str], autoattack: bool,
                 tiny: bool = False) -> None:
    """PGD-40 (and optionally the autoattack preset) on the run's exported SavedModel; JSON in the folder."""
    import numpy as np

    from drrdn_tf import attacks, evaluation
    from drrdn_tf.files import write_json
    images, labels = None, None
    model_fn = None
    eval_path, aa_path = os.path.join(folder, "eval.json"), os.path.join(folder, "autoattack.json")
    if not os.path.exists(eval_path) or (autoattack and not os.path.exists(aa_path)):
        images, labels = test_split(s, data_dir)
        model_fn, _ = evaluation.savedmodel_fn(os.path.join(folder, "savedmodel"))
    if not os.path.exists(eval_path):
        runner = evaluation.Runner(model_fn, images, labels, batch_size=250, seed=0)
        attack = attacks.PGD(model_fn, eps=s.eps, step_size=EVAL_STEP, steps=EVAL_STEPS, seed=0)
        natural = runner.natural()
        robust = runner.run(attack, np.flatnonzero(natural), title=f"PGD-{EVAL_STEPS}")
        write_json(eval_path, {"num_examples": int(len(labels)), "natural": float(natural.mean()),
                               f"pgd{EVAL_STEPS}": float(robust.mean()), "attack": attack.get_config(),
                               "examples": "the first num_examples images of the test split"})
    if autoattack and not os.path.exists(aa_path):
        result = evaluation.evaluate(model_fn, images, labels, s.dataset, preset="autoattack", seed=0,
                                     per_example=False, model=os.path.basename(folder),
                                     autoattack_budget=TINY_AUTOATTACK if tiny else None)
        write_json(aa_path, result)


# --------------------------------------------------------------------------- summary

def steadiness(history: List[dict], warmup: int) -> dict:
    """From the per-epoch history: validation figures after the warm-up (epochs >= warmup, 1-based: the
    first epoch at full eps and every later one), in points (percent)."""
    full = [e for e in history if e["epoch"] >= max(warmup, 1)] or history
    pgd = [100 * e["val_pgd_acc"] for e in full]
    drops = [a - b for a, b in zip(pgd, pgd[1:])]
    last = history[-1]
    return {"epochs": len(history), "val_acc": 100 * last["val_acc"], "val_pgd_acc": pgd[-1],
            "best_val_pgd_acc": max(pgd), "max_drop": max([0.0] + drops), "last_minus_best": pgd[-1] - max(pgd),
            "min_train_acc": 100 * min(e.get("acc", e.get("adv_acc", 0.0)) for e in full),
            "dom_acc_s": last.get("dom_acc_s"), "zs_norm": last.get("zs_norm"),
            "steady": max([0.0] + drops) <= STEADY_POINTS and pgd[-1] - max(pgd) >= -STEADY_POINTS}


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
    and whether every seed of it was steady."""
    def mean(rung, key):
        values = [r[key] for r in rows if r["rung"] == rung and r.get(key) is not None and r["finished"]]
        return (sum(values) / len(values), len(values)) if values else (None, 0)
    madry_pgd, n_madry = mean("madry", "test_pgd40")
    madry_nat, _ = mean("madry", "test_natural")
    lines = []
    for rung in dict.fromkeys(r["rung"] for r in rows):
        pgd, n = mean(rung, "test_pgd40")
        nat, _ = mean(rung, "test_natural")
        if pgd is None:
            continue
        steady = all(r["steady"] for r in rows if r["rung"] == rung and r["finished"])
        line = f"- `{rung}` ({n} seed{'s' if n > 1 else ''}): test PGD-40 {pgd:.1f}, natural {nat:.1f}"
        if rung != "madry" and madry_pgd is not None:
            line += (f"; {pgd - madry_pgd:+.1f} PGD-40 and {nat - madry_nat:+.1f} natural against Madry "
                     f"({n_madry} seed{'s' if n_madry > 1 else ''})")
        line += "; steady" if steady else "; **not steady**"
        lines.append(line + ".")
    return lines


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


# --------------------------------------------------------------------------- the command

def study(rungs: List[str], seeds: List[int], output_dir: str, data_dir: Optional[str], autoattack=(),
          tiny: bool = False, epochs: Optional[int] = None, report_only: bool = False) -> List[dict]:
    """Trains (or resumes) and evaluates every (rung, seed), seeds in the inner loop, then writes the report."""
    from drrdn_tf import training
    os.makedirs(output_dir, exist_ok=True)
    total = len(rungs) * len(seeds)
    for i, (rung, seed) in enumerate((r, s) for r in rungs for s in seeds):
        if report_only:
            break
        s = settings_of(rung, seed, tiny, epochs)
        folder = run_dir(output_dir, rung, seed)
        print(f"[{i + 1}/{total}] {rung} seed {seed}: {RUNGS[rung].description} -> {folder}", flush=True)
        training.run(s, folder, data_dir=data_dir, download=False, verbose=2)
        evaluate_run(folder, s, data_dir, autoattack=rung in autoattack, tiny=tiny)
        write_report(output_dir)
    rows = write_report(output_dir)
    print(table_markdown(rows), flush=True)
    return rows


def main(argv) -> None:
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    if FLAGS.list:
        for name, rung in RUNGS.items():
            print(f"{name:16s} {rung.description}  {rung.overrides}")
        return
    unknown = [r for r in FLAGS.rungs + FLAGS.autoattack if r not in RUNGS]
    if unknown:
        fail(f"unknown rung(s) {', '.join(unknown)}: see --list")
    try:
        seeds = [int(s) for s in FLAGS.seeds]
    except ValueError:
        fail(f"--seeds must be integers, got {FLAGS.seeds}")
    try:
        study(FLAGS.rungs, seeds, FLAGS.output_dir, FLAGS.data_dir, FLAGS.autoattack, FLAGS.tiny, FLAGS.epochs,
              FLAGS.report_only)
    except ValueError as e:
        fail(str(e))
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to resume the study", file=sys.stderr, flush=True)
        sys.exit(130)


if __name__ == "__main__":
    run_app(main)
