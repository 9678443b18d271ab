"""Robustness evaluation: the paper's protocol, an AutoAttack-grade worst case, transfer and masking checks.

`evaluate(model_fn, images, labels, dataset, preset)` runs one preset on the given examples and returns the
results dict that `python -m drrdn_tf.evaluate` writes to JSON:

  paper       the columns of the paper's Tables 1/2 with its settings per data set: Natural, FGSM (the "x10"
              step), PGD40, PGD100, CW40, CW100 (L_inf, random start), plus a transfer column per surrogate.
  autoattack  the per-example worst case of APGD-CE, APGD-T (targeted DLR, 9 targets) and Square (5,000
              queries): each attack only sees the examples all previous ones failed on. Accuracies are
              cumulative (after APGD-CE, after APGD-T, after Square = the final "autoattack" number).
  quick       natural, FGSM (step eps) and PGD-10 (step eps/4): a cheap smoke test.

Conventions. An example counts as robust to an attack only if the model classifies it correctly both at x
and at the attack's x' (the eps-ball contains x): so robust accuracy never exceeds natural accuracy, and only
naturally correct examples are attacked. Every x' is checked to lie in the eps-ball and in [0, 1] (a
violation is a bug and raises). Batches have a fixed size (a smaller remainder is padded, by repeating its
last example, to the batch size or the next power of two), so each attack is traced at most twice per model
(the full batch and one relaxed-shape trace), never per batch. Random starts are seeded by (seed, batch index): two
attacks that differ only in steps or restarts start from the same points, which makes PGD100 <= PGD40 and
CW100 <= CW40 hold per example (see `attacks.PGD`).

The masking report (Carlini et al. 2019, "On evaluating adversarial robustness") checks that
  - accuracy under PGD is non-increasing in eps and reaches ~0 at eps = 1 (an unbounded attack),
  - iterative attacks are at least as strong as single-step FGSM,
  - white-box attacks are at least as strong as transfer from each surrogate,
  - the gradient-free Square attack does not find many examples every gradient-based attack missed,
  - more PGD steps never help the model;
each with a tolerance (default 2 percentage points, on the same examples). Violations become warnings.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Callable, Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from drrdn_tf import attacks, datasets
from drrdn_tf.datasets import AttackSettings

PRESETS = ("paper", "autoattack", "quick")


# Masking-report budgets per preset (ours): PGD steps of the eps sweep, sweep points as multiples of eps
# (eps = 1.0, unbounded, is always added), Square queries for the gradient-free check.
MASKING_SETTINGS = {
    "paper": dict(sweep_steps=20, sweep_factors=(0.0, 0.25, 0.5, 1.0, 2.0), square_queries=1000),
    "autoattack": dict(sweep_steps=20, sweep_factors=(0.0, 0.25, 0.5, 1.0, 2.0), square_queries=None),
    "quick": dict(sweep_steps=10, sweep_factors=(0.0, 0.5, 1.0), square_queries=200),
}


def settings_for(dataset: str) -> AttackSettings:
    """The threat model and attack settings of `dataset` (its registry entry in `drrdn_tf.datasets`)."""
    return datasets.get(dataset).attack


# --------------------------------------------------------------------------- models

def savedmodel_fn(path: str):
    """(model_fn, input_shape (H, W, C) with None for any size) for an exported SavedModel folder.

    Raises ValueError (from `export.load_savedmodel`) if the folder lacks the `serving_default` contract.
    """
    from drrdn_tf.export import load_savedmodel

    fn = load_savedmodel(path)
    spec = fn.structured_input_signature[1]["images"]
    shape = tuple(spec.shape.as_list()[1:]) if spec.shape.rank is not None else None
    if shape is not None and len(shape) != 3:
        raise ValueError(f"{path}: serving_default takes images of shape {spec.shape}, not [batch, H, W, C]")
    if spec.dtype != tf.float32:
        raise ValueError(f"{path}: serving_default takes {spec.dtype.name} images, not float32")

    def model_fn(x):
        return fn(images=x)["logits"]

    model_fn.signature = fn  # keeps the loaded object (and its variables) alive
    return model_fn, shape


def check_input_shape(shape: Optional[tuple], image_shape: tuple, what: str = "the model",
                      images: str = "the data set's images") -> None:
    """Raises ValueError unless images of `image_shape` (H, W, C) fit an input spec `shape` (None = any)."""
    if shape is None:
        return
    for got, want in zip(image_shape, shape):
        if want is not None and got != want:
            raise ValueError(f"{what} expects images of shape [batch, {', '.join(str(s) for s in shape)}] but "
                             f"{images} are [batch, {', '.join(str(s) for s in image_shape)}]")


def model_name(path: str) -> str:
    """A short name for a model path: its folder name (the run folder for `<run>/savedmodel`)."""
    path = os.path.abspath(path).rstrip(os.sep)
    base = os.path.basename(path)
    return os.path.basename(os.path.dirname(path)) if base == "savedmodel" else base


# --------------------------------------------------------------------------- running attacks

class Runner:
    """Runs attacks on a fixed set of examples in fixed-size batches, with progress bars.

    Args:
      model_fn: the target model, images -> logits.
      images, labels: float32 [N, H, W, C] in [0, 1] and int [N].
      batch_size: examples per batch (capped at N); the last batch is padded.
      seed: base of the per-batch seeds.
      progress: show a keras Progbar per attack.
    """

    def __init__(self, model_fn: Callable, images: np.ndarray, labels: np.ndarray, batch_size: int = 256,
                 seed: int = 0, progress: bool = True, log: Callable[[str], None] = print):
        self.model_fn = model_fn
        self.images = np.asarray(images, np.float32)
        self.labels = np.asarray(labels, np.int32)
        self.batch_size = max(1, min(int(batch_size), len(self.labels)))
        self.seed, self.progress, self.log = int(seed), progress, log
        self._logits = tf.function(model_fn, reduce_retracing=True)

    def padded_size(self, n: int) -> int:
        """The batch size a batch of n <= batch_size real examples is padded to: batch_size, or the next power
        of two for a small remainder (a few examples left for Square should not cost full batches). With the
        attacks' reduce_retracing this means at most two traces per attack: the full size and one relaxed."""
        return self.batch_size if n >= self.batch_size else min(self.batch_size, 1 << max(0, (n - 1).bit_length()))

    def _batches(self, indices: np.ndarray):
        """Yields (batch number, indices of the real examples, padded indices)."""
        for b, start in enumerate(range(0, len(indices), self.batch_size)):
            real = indices[start:start + self.batch_size]
            padded = np.concatenate([real, np.repeat(real[-1:], self.padded_size(len(real)) - len(real))])
            yield b, real, padded

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted classes [n] for images [n, H, W, C], in padded batches."""
        out = []
        for start in range(0, len(images), self.batch_size):
            x = images[start:start + self.batch_size]
            n = len(x)
            x = np.concatenate([x, np.repeat(x[-1:], self.padded_size(n) - n, axis=0)])
            out.append(np.argmax(self._logits(tf.constant(x)).numpy()[:n], -1))
        return np.concatenate(out) if out else np.zeros([0], np.int64)

    def natural(self) -> np.ndarray:
        """bool [N]: classified correctly at x."""
        return self.predict(self.images) == self.labels

    def run(self, attack, indices: Optional[np.ndarray] = None, title: str = "", eps: Optional[float] = None,
            extra: Optional[dict] = None) -> np.ndarray:
        """Attacks the examples `indices` (default all) and returns bool [N]: still classified correctly at
        x' (entries outside `indices` are False). `attack.perturb(images, labels, seed)` may be crafted on
        another model (transfer): x' is always judged by this runner's model. Extra per-attack statistics
        (Square's queries) are added to `extra` if given."""
        indices = np.arange(len(self.labels)) if indices is None else np.asarray(indices, np.int64)
        eps = float(attack.eps if eps is None else eps)
        correct = np.zeros(len(self.labels), bool)
        if len(indices) == 0:
            return correct
        bar = None
        if self.progress:  # a live bar on a terminal, one summary line per attack in a log file
            live = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
            bar = keras.utils.Progbar(len(indices), verbose=1 if live else 2, unit_name="example",
                                      stateful_metrics=["robust_acc"])
        if bar is not None and title:
            self.log(f"{title}: {len(indices)} examples")
        done = robust = 0
        queries = []
        for b, real, padded in self._batches(indices):
            x, y = self.images[padded], self.labels[padded]
            seed = (self.seed * 1000003 + b) % (2 ** 31 - 1)
            x_adv = attack.perturb(tf.constant(x), tf.constant(y), seed=seed).numpy()
            _check_perturbation(x_adv, x, eps, title or getattr(attack, "name", "attack"))
            pred = self.predict(x_adv)
            ok = (pred == y)[:len(real)]
            correct[real] = ok
            if getattr(attack, "last_queries", None) is not None:
                queries.append(np.asarray(attack.last_queries)[:len(real)])
            done += len(real)
            robust += int(ok.sum())
            if bar is not None:
                bar.update(done, [("robust_acc", robust / done)], finalize=done == len(indices))
        if extra is not None and queries:
            q = np.concatenate(queries)
            extra.update({"queries_mean": float(q.mean()), "queries_median": float(np.median(q)),
                          "queries_max": int(q.max())})
        return correct


def _check_perturbation(x_adv: np.ndarray, x: np.ndarray, eps: float, what: str) -> None:
    dist = float(np.max(np.abs(x_adv - x))) if x.size else 0.0
    if dist > eps + 1e-6 or x_adv.min() < 0.0 or x_adv.max() > 1.0 or not np.all(np.isfinite(x_adv)):
        raise RuntimeError(f"{what} returned images outside the threat model: |x' - x|_inf = {dist:g} (eps {eps:g}), "
                           f"values in [{x_adv.min():g}, {x_adv.max():g}]")


# --------------------------------------------------------------------------- presets

@dataclasses.dataclass
class Column:
    """One column of the results: how to build its attack and what kind of attack it is."""

    key: str
    label: str
    kind: str                       # single-step | iterative | transfer | gradient-free
    make: Callable[[], object]
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
    return [Column("fgsm", "FGSM", "single-step", lambda: attacks.FGSM(model_fn, eps)),
            Column("pgd10", "PGD10", "iterative", lambda: attacks.PGD(model_fn, eps, eps / 4, 10, seed=seed))]


def transfer_settings(preset: str, s: AttackSettings, eps: float):
    """(steps, step size) of the surrogate's PGD."""
    return (10, eps / 4) if preset == "quick" else (s.transfer_steps, s.transfer_step)


def _acc(correct: np.ndarray, subset: Optional[np.ndarray] = None) -> float:
    c = correct if subset is None else correct[subset]
    return float(np.mean(c)) if len(c) else float("nan")


def evaluate(model_fn: Callable, images: np.ndarray, labels: np.ndarray, dataset: str, preset: str = "paper",
             batch_size: int = 256, surrogates: Optional[Dict[str, Callable]] = None, seed: int = 0,
             eps: Optional[float] = None, masking: bool = True, masking_examples: int = 200,
             masking_tolerance: float = 0.02, per_example: bool = True, progress: bool = True,
             model: str = "model", log: Callable[[str], None] = print,
             autoattack_budget: Optional[dict] = None) -> dict:
    """Runs one preset and returns the results dict (accuracies as fractions in [0, 1]).

    Args:
      model_fn: images -> logits of the model under test.
      images, labels: the examples (float32 in [0, 1], int labels), e.g. the first N of the test split.
      dataset: picks eps and the attack settings (`drrdn_tf.datasets`).
      preset: "paper", "autoattack" or "quick".
      surrogates: {name: surrogate model_fn} for transfer columns.
      eps: overrides the data set's eps (step sizes stay the data set's).
      masking: run the masking report (on the first `masking_examples` examples).
      autoattack_budget: overrides of the autoattack preset's budgets (keys apgd_steps, n_target_classes,
        square_queries), for tests; the default is AutoAttack's standard budget.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    s = settings_for(dataset)
    eps = s.eps if eps is None else float(eps)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels, np.int32)
    n = len(labels)
    if n == 0:
        raise ValueError("no examples to evaluate")
    surrogates = dict(surrogates or {})
    t_start = time.time()
    runner = Runner(model_fn, images, labels, batch_size, seed=seed, progress=progress, log=log)
    order: List[str] = ["natural"]
    labels_of = {"natural": "Natural"}
    correct: Dict[str, np.ndarray] = {}
    configs: Dict[str, dict] = {}
    seconds: Dict[str, float] = {}

    t0 = time.time()
    natural = runner.natural()
    correct["natural"] = natural
    seconds["natural"] = round(time.time() - t0, 2)
    configs["natural"] = {"name": "natural"}
    attacked = np.flatnonzero(natural)

    def run_column(col: Column, indices: np.ndarray, attack=None) -> np.ndarray:
        attack = attack or col.make()
        extra: dict = {}
        t = time.time()
        c = runner.run(attack, indices, title=col.label, eps=eps, extra=extra)
        seconds[col.key] = round(time.time() - t, 2)
        configs[col.key] = {**attack.get_config(), "kind": col.kind, "examples_attacked": int(len(indices)), **extra}
        if col.surrogate is not None:
            configs[col.key]["surrogate"] = col.surrogate
        correct[col.key] = c
        order.append(col.key)
        labels_of[col.key] = col.label
        return c

    stage_info = None
    if preset in ("paper", "quick"):
        cols = (paper_columns if preset == "paper" else quick_columns)(model_fn, s, eps, seed)
        for col in cols:
            run_column(col, attacked)
    else:
        budget = {"apgd_steps": 100, "n_target_classes": 9, "square_queries": 5000, **(autoattack_budget or {})}
        stages = [
            Column("apgd_ce", "APGD-CE", "iterative",
                   lambda: attacks.apgd_ce(model_fn, eps, steps=budget["apgd_steps"], seed=seed)),
            Column("apgd_t", "APGD-T", "iterative",
                   lambda: attacks.APGDT(model_fn, eps, steps=budget["apgd_steps"],
                                         n_target_classes=budget["n_target_classes"], seed=seed)),
            Column("square", "Square", "gradient-free",
                   lambda: attacks.Square(model_fn, eps, n_queries=budget["square_queries"],
                                          p_init=s.square_p_init, seed=seed)),
        ]
        robust = natural.copy()
        stage_info = []
        for col in stages:
            still = np.flatnonzero(robust)
            c = run_column(col, still)
            robust = robust & c  # c is False outside `still`
            correct[col.key] = robust.copy()  # cumulative: the worst case so far
            configs[col.key]["cumulative"] = True
            stage_info.append({"attack": col.key, "examples_attacked": int(len(still)),
                               "robust_after": int(robust.sum())})
        correct["autoattack"] = robust.copy()
        order.append("autoattack")
        labels_of["autoattack"] = "AutoAttack"
        configs["autoattack"] = {"name": "autoattack", "worst_case_of": [c.key for c in stages],
                                 "eps": eps, "norm": "linf"}

    # Transfer columns, one per surrogate.
    t_steps, t_step = transfer_settings(preset, s, eps)
    for name, surrogate_fn in surrogates.items():
        key = f"transfer_{name}"
        col = Column(key, f"Transfer({name})", "transfer",
                     lambda fn=surrogate_fn: attacks.Transfer(fn, eps, t_step, t_steps, seed=seed), surrogate=name)
        run_column(col, attacked)

    results = {
        "model": model, "dataset": dataset, "preset": preset, "num_examples": int(n), "eps": eps, "norm": "linf",
        "seed": seed,
        "accuracy": {k: _acc(correct[k]) for k in order},
        "attacks": configs,
        "columns": [{"key": k, "label": labels_of[k]} for k in order],
        "seconds": seconds,
        "robust_requires_natural": True,
    }
    if stage_info is not None:
        results["autoattack_stages"] = stage_info
    if masking:
        t = time.time()
        results["masking"] = masking_report(runner, correct, configs, preset, s, eps, seed,
                                            min(n, max(1, masking_examples)), masking_tolerance, log)
        seconds["masking"] = round(time.time() - t, 2)
    if per_example:
        results["per_example"] = {"labels": labels.tolist(),
                                  "correct": {k: correct[k].astype(int).tolist() for k in order}}
    seconds["total"] = round(time.time() - t_start, 2)
    return results


# --------------------------------------------------------------------------- masking report

def masking_report(runner: Runner, correct: Dict[str, np.ndarray], configs: Dict[str, dict], preset: str,
                   s: AttackSettings, eps: float, seed: int, m: int, tol: float,
                   log: Callable[[str], None] = print) -> dict:
    """The checks of the module doc on the first `m` examples (sweep, Square) or all (column comparisons)."""
    ms = MASKING_SETTINGS[preset]
    subset = np.arange(m)
    natural = correct["natural"]
    checks: List[dict] = []

    def check(name: str, passed: bool, detail: str, **values):
        checks.append({"name": name, "passed": bool(passed), "detail": detail, **values})

    # 1. Accuracy vs eps: non-increasing, ~0 at eps = 1.
    factors = sorted({round(f * eps, 6) for f in ms["sweep_factors"] if f * eps < 1.0} | {1.0})
    steps = ms["sweep_steps"]
    base = attacks.PGD(runner.model_fn, 1.0, 2.5 / steps, steps, seed=seed)
    sweep = []
    attacked = subset[natural[subset]]
    for e in factors:
        if e == 0.0:
            acc = _acc(natural, subset)
        else:
            c = runner.run(base.with_eps(e, 2.5 * e / steps), attacked, title=f"Masking: PGD{steps} at eps {e:g}")
            acc = _acc(c, subset)
        sweep.append({"eps": e, "accuracy": acc})
    rises = [(a["eps"], b["eps"], a["accuracy"], b["accuracy"]) for a, b in zip(sweep, sweep[1:])
             if b["accuracy"] > a["accuracy"] + tol]
    check("accuracy_non_increasing_in_eps", not rises,
          "accuracy under PGD does not rise with eps" if not rises else
          "; ".join(f"accuracy rose from {100 * x:.1f}% at eps {e1:g} to {100 * y:.1f}% at eps {e2:g}"
                    for e1, e2, x, y in rises), sweep=sweep)
    final = sweep[-1]["accuracy"]
    check("unbounded_eps_reaches_zero", final <= tol,
          f"accuracy at eps {sweep[-1]['eps']:g} (unbounded) is {100 * final:.1f}%"
          + ("" if final <= tol else ": an unbounded attack should reach ~0% (gradient masking?)"),
          accuracy=final)

    # 2. Iterative <= single-step.
    fgsm_key = "fgsm"
    if fgsm_key not in correct:  # autoattack preset: a standard FGSM on the subset
        fgsm = attacks.FGSM(runner.model_fn, eps)
        c = runner.run(fgsm, attacked, title="Masking: FGSM")
        correct_fgsm, fgsm_subset = c, subset
    else:
        correct_fgsm, fgsm_subset = correct[fgsm_key], None
    iterative = [k for k, c in configs.items() if c.get("kind") == "iterative"]
    for k in iterative:
        a_it = _acc(correct[k], fgsm_subset)
        a_fg = _acc(correct_fgsm, fgsm_subset)
        check(f"iterative_not_weaker_than_single_step:{k}", a_it <= a_fg + tol,
              f"{k} {100 * a_it:.1f}% vs FGSM {100 * a_fg:.1f}%"
              + ("" if a_it <= a_fg + tol else ": an iterative attack weaker than one step (gradient masking?)"),
              iterative=a_it, single_step=a_fg)

    # 3. White-box <= transfer.
    whitebox = [k for k, c in configs.items() if c.get("kind") in ("iterative", "single-step")]
    best_white = min((_acc(correct[k]) for k in whitebox), default=float("nan"))
    for k, c in configs.items():
        if c.get("kind") != "transfer":
            continue
        a_tr = _acc(correct[k])
        check(f"whitebox_not_weaker_than_transfer:{k}", best_white <= a_tr + tol,
              f"best white-box {100 * best_white:.1f}% vs {k} {100 * a_tr:.1f}%"
              + ("" if best_white <= a_tr + tol else ": a black-box transfer attack beats the white-box ones "
                 "(gradient masking?)"), whitebox=best_white, transfer=a_tr)

    # 4. Gradient-free not far below gradient-based: examples only Square fools.
    if preset == "autoattack":
        grad_robust = correct["apgd_t"]  # cumulative over APGD-CE and APGD-T
        extra = float(np.mean(grad_robust & ~correct["square"]))
        denom = "all"
    else:
        grad_robust = natural.copy()
        for k in whitebox:
            grad_robust &= correct[k]
        candidates = subset[grad_robust[subset]]
        square = attacks.Square(runner.model_fn, eps, n_queries=ms["square_queries"], p_init=s.square_p_init,
                                seed=seed)
        c = runner.run(square, candidates, title=f"Masking: Square ({ms['square_queries']} queries)")
        extra = float(np.mean((grad_robust & ~c)[subset])) if m else 0.0
        denom = f"first {m}"
    check("gradient_free_not_stronger", extra <= tol,
          f"Square fooled {100 * extra:.1f}% of the {denom} examples that every gradient-based attack missed"
          + ("" if extra <= tol else " (gradient masking?)"), square_only=extra)

    # 5. More steps never help (paper preset: PGD100 <= PGD40, CW100 <= CW40).
    for short, long in (("pgd40", "pgd100"), ("cw40", "cw100")):
        if short in correct and long in correct:
            a_s, a_l = _acc(correct[short]), _acc(correct[long])
            check(f"more_steps_not_weaker:{long}", a_l <= a_s + tol,
                  f"{long} {100 * a_l:.1f}% vs {short} {100 * a_s:.1f}%", more_steps=a_l, fewer_steps=a_s)

    warnings = [f"{c['name']}: {c['detail']}" for c in checks if not c["passed"]]
    return {"examples": int(m), "tolerance": tol, "checks": checks, "warnings": warnings,
            "eps_sweep": sweep, "sweep_attack": {"name": "pgd", "steps": steps, "step_size": "2.5 * eps / steps",
                                                 "random_start": "uniform"}}


# --------------------------------------------------------------------------- output

def format_table(results: dict) -> str:
    """The results as the paper's table layout: one row for the model, accuracies in %."""
    cols = results["columns"]
    header = ["Model"] + [c["label"] for c in cols]
    row = [results.get("model_name", results["model"])] + [f"{100 * results['accuracy'][c['key']]:.2f}" for c in cols]
    widths = [max(len(h), len(r)) for h, r in zip(header, row)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    title = (f"Accuracy (%) on the first {results['num_examples']} {results['dataset']} test images, "
             f"L_inf eps = {results['eps']:g}, preset {results['preset']}")
    if results["preset"] == "autoattack":
        title += " (cumulative: each attack runs on what the previous ones missed)"
    out = [title, line(header), line(["-" * w for w in widths]), line(row)]
    masking = results.get("masking")
    if masking:
        sweep = ", ".join(f"eps {p['eps']:g}: {100 * p['accuracy']:.1f}%" for p in masking["eps_sweep"])
        out.append(f"Masking checks on {masking['examples']} examples: {sum(c['passed'] for c in masking['checks'])}"
                   f"/{len(masking['checks'])} passed; PGD accuracy vs eps: {sweep}")
        out.extend(f"WARNING (possible gradient masking) {w}" for w in masking["warnings"])
    return "\n".join(out)


__all__ = ["evaluate", "masking_report", "format_table", "Runner", "savedmodel_fn", "check_input_shape",
           "settings_for", "PRESETS", "model_name"]
