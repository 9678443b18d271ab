"""The masking report: checks that the attacks' numbers are not inflated by gradient masking.

After Carlini et al. 2019, "On evaluating adversarial robustness", in the style of AutoAttack's checks.py:
one function per check, each named after the check it records (`check_<name>`), each returning its check
entries {"name", "passed", "detail", **values}; `warnings_of` turns the failed ones into the report's
warnings ("<name>: <detail>"). The checks, each with a tolerance `tol` (default 2 percentage points, as a
fraction of the same examples):

  accuracy_non_increasing_in_eps          accuracy under PGD does not rise with eps (the eps sweep),
  unbounded_eps_reaches_zero              and is ~0 at eps = 1 (an unbounded attack);
  iterative_not_weaker_than_single_step   every iterative attack is at least as strong as single-step FGSM;
  whitebox_not_weaker_than_transfer       the best white-box attack is at least as strong as transfer from
                                          each surrogate;
  gradient_free_not_stronger              the gradient-free Square attack fools few examples that every
                                          gradient-based attack missed;
  more_steps_not_weaker                   more PGD/CW steps never help the model (paper preset).

The attacks the checks need beyond the preset's columns (the eps sweep, FGSM for the autoattack preset,
Square for the paper and quick presets) run on the first `m` examples only; the column comparisons use all.
Accuracies are fractions in [0, 1]; per-example flags are bool [N], True = correct at x and at x'.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from drrdn_tf import attacks
from drrdn_tf.datasets import AttackSettings
from drrdn_tf.evaluation.runner import Runner, accuracy
from drrdn_tf.evaluation.settings import MASKING_SETTINGS


def _entry(name: str, passed: bool, detail: str, **values) -> dict:
    return {"name": name, "passed": bool(passed), "detail": detail, **values}


def _comparison(name: str, stronger: float, weaker: float, tol: float, detail: str, failure: str,
                **values) -> dict:
    """The entry of a check that the accuracy under the attack expected to be stronger is at most the other's
    + `tol`; a failure appends ": <failure>" to the detail."""
    passed = stronger <= weaker + tol
    return _entry(name, passed, detail + ("" if passed else f": {failure}"), **values)


def warnings_of(checks: Sequence[dict]) -> List[str]:
    """The warnings of the failed check entries, "<name>: <detail>", in check order."""
    return [f"{c['name']}: {c['detail']}" for c in checks if not c["passed"]]


def _white_box_keys(configs: Dict[str, dict]) -> List[str]:
    """The gradient-based white-box columns (iterative and single-step), in run order."""
    return [k for k, c in configs.items() if c.get("kind") in ("iterative", "single-step")]


# --------------------------------------------------------------------------- the extra attacks

def eps_sweep(runner: Runner, natural: np.ndarray, subset: np.ndarray, eps: float, seed: int, steps: int,
              factors: Sequence[float]) -> List[dict]:
    """Accuracy under PGD-`steps` (step 2.5 * e / steps, uniform random start) at e = f * eps for the factors
    f with f * eps < 1, plus e = 1 (unbounded), on the naturally correct examples of `subset`; the accuracy is
    over all of `subset`. Returns [{"eps", "accuracy"}] in increasing eps; e = 0 is the natural accuracy."""
    points = sorted({round(f * eps, 6) for f in factors if f * eps < 1.0} | {1.0})
    base = attacks.PGD(runner.model_fn, 1.0, 2.5 / steps, steps, seed=seed)
    attacked = subset[natural[subset]]
    sweep = []
    for e in points:
        if e == 0.0:
            acc = accuracy(natural, subset)
        else:
            c = runner.run(base.with_eps(e, 2.5 * e / steps), attacked, title=f"Masking: PGD{steps} at eps {e:g}")
            acc = accuracy(c, subset)
        sweep.append({"eps": e, "accuracy": acc})
    return sweep


def single_step_reference(runner: Runner, correct: Dict[str, np.ndarray], subset: np.ndarray,
                          eps: float) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(FGSM flags bool [N], the examples to compare on): the preset's "fgsm" column on all examples, or
    (autoattack preset) a standard FGSM (step eps) on the naturally correct examples of `subset`, compared on
    `subset`."""
    if "fgsm" in correct:
        return correct["fgsm"], None
    natural = correct["natural"]
    return runner.run(attacks.FGSM(runner.model_fn, eps), subset[natural[subset]], title="Masking: FGSM"), subset


def square_only_fraction(runner: Runner, correct: Dict[str, np.ndarray], configs: Dict[str, dict], preset: str,
                         s: AttackSettings, eps: float, seed: int, subset: np.ndarray,
                         square_queries: Optional[int]) -> Tuple[float, str]:
    """(fraction, which examples it is of): the examples robust to every gradient-based attack that Square
    fools. The autoattack preset uses its own chain (robust after APGD-T, not after Square) over all
    examples; the others run Square (`square_queries`) on the first len(subset) examples robust so far."""
    if preset == "autoattack":
        grad_robust = correct["apgd_t"]  # cumulative over APGD-CE and APGD-T
        return float(np.mean(grad_robust & ~correct["square"])), "all"
    grad_robust = correct["natural"].copy()
    for k in _white_box_keys(configs):
        grad_robust &= correct[k]
    candidates = subset[grad_robust[subset]]
    square = attacks.Square(runner.model_fn, eps, n_queries=square_queries, p_init=s.square_p_init, seed=seed)
    c = runner.run(square, candidates, title=f"Masking: Square ({square_queries} queries)")
    m = len(subset)
    return (float(np.mean((grad_robust & ~c)[subset])) if m else 0.0), f"first {m}"


# --------------------------------------------------------------------------- the checks

def check_accuracy_non_increasing_in_eps(sweep: List[dict], tol: float) -> List[dict]:
    """Passes unless the sweep's accuracy rises by more than `tol` from one eps to the next."""
    rises = [(a["eps"], b["eps"], a["accuracy"], b["accuracy"]) for a, b in zip(sweep, sweep[1:])
             if b["accuracy"] > a["accuracy"] + tol]
    return [_entry("accuracy_non_increasing_in_eps", not rises,
                   "accuracy under PGD does not rise with eps" if not rises else
                   "; ".join(f"accuracy rose from {100 * x:.1f}% at eps {e1:g} to {100 * y:.1f}% at eps {e2:g}"
                             for e1, e2, x, y in rises), sweep=sweep)]


def check_unbounded_eps_reaches_zero(sweep: List[dict], tol: float) -> List[dict]:
    """Passes if the accuracy at the sweep's last point (eps = 1, unbounded) is at most `tol`."""
    final = sweep[-1]["accuracy"]
    return [_entry("unbounded_eps_reaches_zero", final <= tol,
                   f"accuracy at eps {sweep[-1]['eps']:g} (unbounded) is {100 * final:.1f}%"
                   + ("" if final <= tol else ": an unbounded attack should reach ~0% (gradient masking?)"),
                   accuracy=final)]


def check_iterative_not_weaker_than_single_step(correct: Dict[str, np.ndarray], configs: Dict[str, dict],
                                                correct_fgsm: np.ndarray, fgsm_subset: Optional[np.ndarray],
                                                tol: float) -> List[dict]:
    """One entry per iterative column: passes if its accuracy is at most FGSM's + `tol`, both over
    `fgsm_subset` (None = all examples)."""
    checks = []
    for k in [k for k, c in configs.items() if c.get("kind") == "iterative"]:
        a_it = accuracy(correct[k], fgsm_subset)
        a_fg = accuracy(correct_fgsm, fgsm_subset)
        checks.append(_comparison(f"iterative_not_weaker_than_single_step:{k}", a_it, a_fg, tol,
                                  f"{k} {100 * a_it:.1f}% vs FGSM {100 * a_fg:.1f}%",
                                  "an iterative attack weaker than one step (gradient masking?)",
                                  iterative=a_it, single_step=a_fg))
    return checks


def check_whitebox_not_weaker_than_transfer(accuracies: Dict[str, float], configs: Dict[str, dict],
                                            tol: float) -> List[dict]:
    """One entry per transfer column of `configs`: passes if the best (lowest) white-box accuracy is at most the
    transfer accuracy + `tol`. `accuracies`: {column: accuracy in [0, 1] over all examples}."""
    best_white = min((accuracies[k] for k in _white_box_keys(configs)), default=float("nan"))
    checks = []
    for k, c in configs.items():
        if c.get("kind") != "transfer":
            continue
        a_tr = accuracies[k]
        checks.append(_comparison(f"whitebox_not_weaker_than_transfer:{k}", best_white, a_tr, tol,
                                  f"best white-box {100 * best_white:.1f}% vs {k} {100 * a_tr:.1f}%",
                                  "a black-box transfer attack beats the white-box ones (gradient masking?)",
                                  whitebox=best_white, transfer=a_tr))
    return checks


def check_gradient_free_not_stronger(square_only: float, denominator: str, tol: float) -> List[dict]:
    """Passes if the fraction `square_only` of examples (of the `denominator` ones, e.g. "first 200") that
    only Square fools is at most `tol`."""
    return [_entry("gradient_free_not_stronger", square_only <= tol,
                   f"Square fooled {100 * square_only:.1f}% of the {denominator} examples that every "
                   f"gradient-based attack missed" + ("" if square_only <= tol else " (gradient masking?)"),
                   square_only=square_only)]


def check_more_steps_not_weaker(correct: Dict[str, np.ndarray], tol: float) -> List[dict]:
    """For the pairs (pgd40, pgd100) and (cw40, cw100) present: passes if the longer attack's accuracy is at
    most the shorter one's + `tol` (all examples)."""
    checks = []
    for short, long in (("pgd40", "pgd100"), ("cw40", "cw100")):
        if short in correct and long in correct:
            a_s, a_l = accuracy(correct[short]), accuracy(correct[long])
            checks.append(_entry(f"more_steps_not_weaker:{long}", a_l <= a_s + tol,
                                 f"{long} {100 * a_l:.1f}% vs {short} {100 * a_s:.1f}%",
                                 more_steps=a_l, fewer_steps=a_s))
    return checks


# --------------------------------------------------------------------------- the report

def masking_report(runner: Runner, correct: Dict[str, np.ndarray], configs: Dict[str, dict], preset: str,
                   s: AttackSettings, eps: float, seed: int, m: int, tol: float,
                   log: Callable[[str], None] = print) -> dict:
    """The checks of the module doc: the extra attacks on the first `m` examples, the column comparisons on
    all. `correct` and `configs` are the evaluation's per-column flags bool [N] and attack configs (with
    "kind"); `log` is unused (kept for callers). Returns {"examples", "tolerance", "checks", "warnings",
    "eps_sweep", "sweep_attack"}."""
    ms = MASKING_SETTINGS[preset]
    subset = np.arange(m)
    sweep = eps_sweep(runner, correct["natural"], subset, eps, seed, ms["sweep_steps"], ms["sweep_factors"])
    checks = check_accuracy_non_increasing_in_eps(sweep, tol) + check_unbounded_eps_reaches_zero(sweep, tol)
    correct_fgsm, fgsm_subset = single_step_reference(runner, correct, subset, eps)
    checks += check_iterative_not_weaker_than_single_step(correct, configs, correct_fgsm, fgsm_subset, tol)
    checks += check_whitebox_not_weaker_than_transfer({k: accuracy(v) for k, v in correct.items()}, configs, tol)
    square_only, denominator = square_only_fraction(runner, correct, configs, preset, s, eps, seed, subset,
                                                    ms["square_queries"])
    checks += check_gradient_free_not_stronger(square_only, denominator, tol)
    checks += check_more_steps_not_weaker(correct, tol)
    return {"examples": int(m), "tolerance": tol, "checks": checks, "warnings": warnings_of(checks),
            "eps_sweep": sweep, "sweep_attack": {"name": "pgd", "steps": ms["sweep_steps"],
                                                 "step_size": "2.5 * eps / steps", "random_start": "uniform"}}
