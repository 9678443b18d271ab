"""`evaluate`: one preset on a fixed set of examples, as the results dict that `python -m drrdn_tf.evaluate`
writes to JSON.

The steps: the natural column, then the preset's family of columns (`run_independent` for the paper and
quick presets: each attack on every naturally correct example; `run_autoattack_chain`: each attack on what
the previous ones missed), then one transfer column per surrogate, then the masking report. What each column
measured is kept in a `Record`, from which `assemble_results` builds the dict.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import tensorflow as tf

from drrdn_tf import attacks
from drrdn_tf.datasets import AttackSettings
from drrdn_tf.evaluation.masking import check_whitebox_not_weaker_than_transfer, masking_report, warnings_of
from drrdn_tf.evaluation.progress import PROBE, SavedColumns, fingerprint
from drrdn_tf.evaluation.runner import Runner, accuracy
from drrdn_tf.evaluation.settings import PRESETS, autoattack_budget_with, settings_for, transfer_settings


# --------------------------------------------------------------------------- columns

@dataclasses.dataclass
class Column:
    """One column of the results: how to build its attack and what kind of attack it is."""

    key: str
    label: str
    kind: str                       # single-step | iterative | transfer | gradient-free
    make: Callable[[], object]      # builds the attack right before it runs
    surrogate: Optional[str] = None


def paper_columns(model_fn, s: AttackSettings, eps: float, seed: int) -> List[Column]:
    """FGSM, PGD40, PGD100, CW40, CW100 with the data set's settings (the paper's Tables 1/2)."""
    cols = [Column("fgsm", "FGSM", "single-step", lambda: attacks.FGSM(model_fn, eps, step_size=s.fgsm_step))]
    for loss, label in (("ce", "PGD"), ("cw", "CW")):
        for steps in (40, 100):
            cols.append(Column(f"{label.lower()}{steps}", f"{label}{steps}", "iterative",
                               lambda loss=loss, steps=steps: attacks.PGD(model_fn, eps, s.step_size, steps,
                                                                          loss=loss, seed=seed)))
    return cols


def quick_columns(model_fn, s: AttackSettings, eps: float, seed: int) -> List[Column]:
    """FGSM (step eps) and PGD10 (step eps/4): the quick preset's smoke test."""
    return [Column("fgsm", "FGSM", "single-step", lambda: attacks.FGSM(model_fn, eps)),
            Column("pgd10", "PGD10", "iterative", lambda: attacks.PGD(model_fn, eps, eps / 4, 10, seed=seed))]


def autoattack_columns(model_fn, s: AttackSettings, eps: float, seed: int, budget: dict) -> List[Column]:
    """APGD-CE, APGD-T (targeted DLR) and Square, in the order of the autoattack chain; `budget` has the keys
    of `settings.AUTOATTACK_BUDGET`."""
    return [
        Column("apgd_ce", "APGD-CE", "iterative",
               lambda: attacks.apgd_ce(model_fn, eps, steps=budget["apgd_steps"], seed=seed)),
        Column("apgd_t", "APGD-T", "iterative",
               lambda: attacks.APGDT(model_fn, eps, steps=budget["apgd_steps"],
                                     n_target_classes=budget["n_target_classes"], seed=seed)),
        Column("square", "Square", "gradient-free",
               lambda: attacks.Square(model_fn, eps, n_queries=budget["square_queries"],
                                      p_init=s.square_p_init, seed=seed)),
    ]


def transfer_columns(surrogates: Dict[str, Callable], preset: str, s: AttackSettings, eps: float,
                     seed: int) -> List[Column]:
    """One "transfer_<name>" column per surrogate model_fn: PGD crafted on the surrogate, judged on the model."""
    t_steps, t_step = transfer_settings(preset, s, eps)
    return [Column(f"transfer_{name}", f"Transfer({name})", "transfer",
                   lambda fn=surrogate_fn: attacks.Transfer(fn, eps, t_step, t_steps, seed=seed), surrogate=name)
            for name, surrogate_fn in surrogates.items()]


PRESET_COLUMNS = {"paper": paper_columns, "quick": quick_columns}


def chosen(cols: List[Column], keys: Optional[List[str]], preset: str) -> List[Column]:
    """The columns of `cols` whose key is in `keys`, in the preset's order (all of them for keys None); raises
    ValueError for a key that is not one of the preset's columns."""
    if keys is None:
        return cols
    unknown = sorted(set(keys) - {c.key for c in cols} - {"natural"})
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)} of the {preset} preset: choose among "
                         f"{', '.join(c.key for c in cols)}")
    return [c for c in cols if c.key in keys]


# --------------------------------------------------------------------------- running columns

class Record:
    """What an evaluation has measured so far, per column key in run order: its label, its per-example flags
    bool [N] (True = correct at x and at the attack's x'), its attack's config and the seconds it took."""

    def __init__(self):
        self.order: List[str] = []
        self.labels: Dict[str, str] = {}
        self.correct: Dict[str, np.ndarray] = {}
        self.configs: Dict[str, dict] = {}
        self.seconds: Dict[str, float] = {}

    def add(self, key: str, label: str, correct: np.ndarray, config: dict, seconds: Optional[float] = None):
        """Appends a column (a column without `seconds` gets no timing entry)."""
        self.order.append(key)
        self.labels[key] = label
        self.correct[key] = correct
        self.configs[key] = config
        if seconds is not None:
            self.seconds[key] = seconds


def run_natural(runner: Runner, record: Record) -> np.ndarray:
    """The "natural" column: bool [N], classified correctly at x."""
    t = time.time()
    natural = runner.natural()
    record.add("natural", "Natural", natural, {"name": "natural"}, round(time.time() - t, 2))
    return natural


def run_column(runner: Runner, record: Record, col: Column, indices: np.ndarray, eps: float,
               saved: Optional[SavedColumns] = None) -> np.ndarray:
    """Builds and runs one column's attack on the examples `indices` and records it; returns its flags bool
    [N] (False outside `indices`). Every x' is checked against the eps-ball of radius `eps`. A column that
    `saved` holds is taken from it instead of rerun (the same flags: see `progress`); each newly run column is
    saved there."""
    done = saved.get(col.key) if saved is not None else None
    if done is not None:
        record.add(col.key, *done)
        return done[1]
    attack = col.make()
    extra: dict = {}
    t = time.time()
    correct = runner.run(attack, indices, title=col.label, eps=eps, extra=extra)
    seconds = round(time.time() - t, 2)
    config = {**attack.get_config(), "kind": col.kind, "examples_attacked": int(len(indices)), **extra}
    if col.surrogate is not None:
        config["surrogate"] = col.surrogate
    record.add(col.key, col.label, correct, config, seconds)
    if saved is not None:
        saved.save(record)
    return correct


def run_independent(runner: Runner, record: Record, cols: List[Column], attacked: np.ndarray, eps: float,
                    saved: Optional[SavedColumns] = None) -> None:
    """The paper, quick and transfer columns: each attack on the same examples `attacked` (the naturally
    correct ones), independently of the others."""
    for col in cols:
        run_column(runner, record, col, attacked, eps, saved)


def run_autoattack_chain(runner: Runner, record: Record, cols: List[Column], natural: np.ndarray,
                         eps: float, saved: Optional[SavedColumns] = None) -> List[dict]:
    """The autoattack chain: each attack only sees the examples all previous ones failed on, so the recorded
    flags are cumulative (the worst case so far, never above the previous column's), and a final "autoattack"
    column holds the worst case of all. Returns the stages' bookkeeping (examples attacked, robust after).
    A column resumed from `saved` may hold its raw or its cumulative flags: ANDed with `robust`, both give the
    same worst case."""
    robust = natural.copy()
    stages = []
    for col in cols:
        still = np.flatnonzero(robust)
        c = run_column(runner, record, col, still, eps, saved)
        robust = robust & c  # c is False outside `still`
        record.correct[col.key] = robust.copy()  # cumulative: the worst case so far
        record.configs[col.key]["cumulative"] = True
        stages.append({"attack": col.key, "examples_attacked": int(len(still)), "robust_after": int(robust.sum())})
    record.add("autoattack", "AutoAttack", robust.copy(),
               {"name": "autoattack", "worst_case_of": [c.key for c in cols], "eps": eps, "norm": "linf"})
    return stages


def assemble_results(record: Record, model: str, dataset: str, preset: str, eps: float, seed: int) -> dict:
    """The results dict of the recorded columns (accuracies as fractions in [0, 1]). Its "seconds" is the
    record's own dict, so later timings (masking, total) land in it."""
    return {
        "model": model, "dataset": dataset, "preset": preset, "num_examples": int(len(record.correct["natural"])),
        "eps": eps, "norm": "linf", "seed": seed,
        "accuracy": {k: accuracy(record.correct[k]) for k in record.order},
        "attacks": record.configs,
        "columns": [{"key": k, "label": record.labels[k]} for k in record.order],
        "seconds": record.seconds,
        "robust_requires_natural": True,
    }


def probes(runner: Runner, surrogates: Optional[Dict[str, Callable]]) -> Dict[str, np.ndarray]:
    """The logits float [<= PROBE, num_classes] of the first examples under the model ("model") and each
    surrogate (its name): what tells a progress file's models from others (`progress.SavedColumns.resume`)."""
    x = runner.images[:PROBE]
    return {"model": runner.logits(x), **{f"surrogate:{name}": np.asarray(fn(tf.constant(x)))
                                          for name, fn in (surrogates or {}).items()}}


# --------------------------------------------------------------------------- the protocol

def evaluate(model_fn: Callable, images: np.ndarray, labels: np.ndarray, dataset: str, preset: str = "paper",
             batch_size: int = 256, surrogates: Optional[Dict[str, Callable]] = None, seed: int = 0,
             eps: Optional[float] = None, masking: bool = True, masking_examples: int = 200,
             masking_tolerance: float = 0.02, per_example: bool = True, progress: bool = True,
             model: str = "model", log: Callable[[str], None] = print,
             autoattack_budget: Optional[dict] = None, columns: Optional[List[str]] = None,
             progress_file: Optional[str] = None) -> dict:
    """Runs one preset and returns the results dict (accuracies as fractions in [0, 1]).

    Args:
      model_fn: images float32 [B, H, W, C] -> logits [B, num_classes] of the model under test.
      images, labels: the examples (float32 [N, H, W, C] in [0, 1], int [N]), e.g. the first N of the test split.
      dataset: picks eps and the attack settings (`drrdn_tf.datasets`).
      preset: "paper", "autoattack" or "quick".
      surrogates: {name: surrogate model_fn} for transfer columns.
      eps: overrides the data set's eps (step sizes stay the data set's).
      masking: run the masking report (on the first `masking_examples` examples).
      autoattack_budget: overrides of the autoattack preset's budgets (keys apgd_steps, n_target_classes,
        square_queries), for tests; the default is AutoAttack's standard budget.
      columns: keys of the paper or quick preset's columns to run (default: all of them); each is exactly the
        column the whole preset computes (same seeds, same examples attacked), e.g. ["pgd40"] to redo one
        column with per-example flags. The natural column always runs.
      progress_file: a JSON file where each finished column is saved (`progress.SavedColumns`), so that
        rerunning the same evaluation after an interruption resumes after the last finished column; removed
        once the evaluation is complete. None: nothing saved.

    Raises ValueError for an unknown preset, data set or column, a negative eps or no examples.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    if columns is not None and preset not in PRESET_COLUMNS:
        raise ValueError(f"columns can be chosen in the {' and '.join(PRESET_COLUMNS)} presets only (the "
                         f"{preset} preset's attacks form one chain)")
    s = settings_for(dataset)
    eps = s.eps if eps is None else float(eps)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels, np.int32)
    n = len(labels)
    if n == 0:
        raise ValueError("no examples to evaluate")
    t_start = time.time()
    runner = Runner(model_fn, images, labels, batch_size, seed=seed, progress=progress, log=log)
    budget = autoattack_budget_with(autoattack_budget) if preset == "autoattack" else None
    cols = (autoattack_columns(model_fn, s, eps, seed, budget) if preset == "autoattack"
            else chosen(PRESET_COLUMNS[preset](model_fn, s, eps, seed), columns, preset))
    transfers = transfer_columns(dict(surrogates or {}), preset, s, eps, seed)
    saved = SavedColumns(progress_file, {
        "model": model, "dataset": dataset, "preset": preset, "eps": eps, "seed": seed, "batch_size": runner.batch_size,
        "columns": [c.key for c in cols + transfers], "autoattack_budget": budget,
        "examples": fingerprint(images, labels)}, log)
    record = Record()
    natural = run_natural(runner, record)
    saved.resume(natural, probes(runner, surrogates))
    attacked = np.flatnonzero(natural)  # only naturally correct examples are attacked
    stages = None
    if preset == "autoattack":
        stages = run_autoattack_chain(runner, record, cols, natural, eps, saved)
    else:
        run_independent(runner, record, cols, attacked, eps, saved)
    run_independent(runner, record, transfers, attacked, eps, saved)

    results = assemble_results(record, model, dataset, preset, eps, seed)
    if stages is not None:
        results["autoattack_stages"] = stages
    if masking:
        t = time.time()
        results["masking"] = masking_report(runner, record.correct, record.configs, preset, s, eps, seed,
                                            min(n, max(1, masking_examples)), masking_tolerance, log)
        record.seconds["masking"] = round(time.time() - t, 2)
    if per_example:
        results["per_example"] = {"labels": labels.tolist(),
                                  "correct": {k: record.correct[k].astype(int).tolist() for k in record.order}}
    record.seconds["total"] = round(time.time() - t_start, 2)
    saved.finish()
    return results


def add_transfer(results: dict, model_fn: Callable, images: np.ndarray, labels: np.ndarray,
                 surrogates: Dict[str, Callable], batch_size: int = 256, progress: bool = True,
                 log: Callable[[str], None] = print, progress_file: Optional[str] = None) -> dict:
    """Adds a transfer column per surrogate to `results` (what `evaluate` returned for `model_fn` on these
    `images` float32 [N, H, W, C] in [0, 1] and `labels` int [N]) without rerunning its other columns: for a
    surrogate model that did not exist when the model was evaluated. The new columns are what `evaluate` would
    have computed (same preset, eps and seed; only naturally correct examples attacked), and the masking
    report's whitebox_not_weaker_than_transfer check gains an entry per new column. Returns a new dict.
    `progress_file` as in `evaluate`: finished columns are saved there and taken from it on a rerun.

    Raises ValueError if the examples are not the evaluated ones (count or natural accuracy differ) or a
    surrogate's column is already there.
    """
    labels = np.asarray(labels, np.int32)
    if len(labels) != results["num_examples"]:
        raise ValueError(f"the results were computed on {results['num_examples']} examples, not the {len(labels)} "
                         "given: pass the same images and labels")
    taken = [k for k in (f"transfer_{name}" for name in surrogates) if k in results["accuracy"]]
    if taken:
        raise ValueError(f"the results already have the column(s) {', '.join(taken)}")
    s = settings_for(results["dataset"])
    t_start = time.time()
    runner = Runner(model_fn, np.asarray(images, np.float32), labels, batch_size, seed=results["seed"],
                    progress=progress, log=log)
    record = Record()
    natural = run_natural(runner, record)
    if abs(accuracy(natural) - results["accuracy"]["natural"]) > 1e-6:
        raise ValueError(f"natural accuracy {accuracy(natural):.4f} here against {results['accuracy']['natural']:.4f} "
                         "in the results: not the model or the examples that were evaluated")
    cols = transfer_columns(surrogates, results["preset"], s, results["eps"], results["seed"])
    saved = SavedColumns(progress_file, {
        "model": results["model"], "dataset": results["dataset"], "preset": results["preset"], "eps": results["eps"],
        "seed": results["seed"], "batch_size": runner.batch_size, "columns": [c.key for c in cols],
        "added_transfer": True, "examples": fingerprint(images, labels)}, log)
    saved.resume(natural, probes(runner, surrogates))
    run_independent(runner, record, cols, np.flatnonzero(natural), results["eps"], saved)
    new = [k for k in record.order if k != "natural"]
    out = {**results, "accuracy": {**results["accuracy"], **{k: accuracy(record.correct[k]) for k in new}},
           "attacks": {**results["attacks"], **{k: record.configs[k] for k in new}},
           "columns": results["columns"] + [{"key": k, "label": record.labels[k]} for k in new],
           "seconds": {**results.get("seconds", {}), **{k: record.seconds[k] for k in new},
                       "added_transfer": round(time.time() - t_start, 2)}}
    if "masking" in results:
        m = results["masking"]
        checks = m["checks"] + check_whitebox_not_weaker_than_transfer(
            out["accuracy"], {k: c for k, c in out["attacks"].items() if c.get("kind") != "transfer" or k in new},
            m["tolerance"])
        out["masking"] = {**m, "checks": checks, "warnings": warnings_of(checks)}
    if "per_example" in results:
        out["per_example"] = {**results["per_example"], "correct": {
            **results["per_example"]["correct"], **{k: record.correct[k].astype(int).tolist() for k in new}}}
    saved.finish()
    return out
