"""The masking report: on a model that masks its gradients and on a plain one, and each check on synthetic
results (a case that violates exactly that check yields exactly its warning, text included; the passing case
yields none), and the report's wiring (which extra attacks run on which examples) on a stand-in runner."""

import copy

import numpy as np
import pytest
import tensorflow as tf

from drrdn_tf import evaluation
from drrdn_tf.evaluation import masking
from drrdn_tf.evaluation.runner import accuracy

import evaluation_models
from evaluation_models import keras_fn


@pytest.fixture(scope="module")
def model():
    return evaluation_models.trained(*evaluation_models.MODELS["model"])


def test_masking_report_flags_a_gradient_masking_model_and_passes_a_plain_one(model, demo):
    x, y = demo[2][:64], demo[3][:64]
    # 64 examples: a tolerance of 5% (3 examples) keeps one or two hard examples from raising a false alarm
    plain = evaluation.evaluate(keras_fn(model), x, y, "demo", preset="quick", batch_size=64, progress=False,
                                log=lambda m: None, masking_tolerance=0.05)
    assert plain["masking"]["warnings"] == [], plain["masking"]["warnings"]
    masked_fn = lambda v: model(tf.stop_gradient(v), training=False)  # noqa: E731  no gradient reaches x
    masked = evaluation.evaluate(masked_fn, x, y, "demo", preset="quick", batch_size=64, progress=False,
                                 log=lambda m: None, masking_tolerance=0.05)
    failed = {c["name"] for c in masked["masking"]["checks"] if not c["passed"]}
    assert "unbounded_eps_reaches_zero" in failed and "gradient_free_not_stronger" in failed, failed
    assert len(masked["masking"]["warnings"]) == len(failed)
    assert "WARNING" in evaluation.format_table(masked)
    # the gradient-based numbers are meaningless here: PGD barely moves the masked model
    assert masked["accuracy"]["pgd10"] > plain["accuracy"]["pgd10"] + 0.3


# --------------------------------------------------------------------------- each check on synthetic results

def first(k, n=10):
    """bool [n] flags: the first k examples correct."""
    return np.arange(n) < k


KINDS = {"fgsm": "single-step", "pgd40": "iterative", "pgd100": "iterative", "cw40": "iterative",
         "cw100": "iterative", "transfer_s": "transfer"}

# A paper-preset evaluation of 10 examples that passes every check at tolerance 0.02.
PASSING = {
    "correct": {"natural": first(7), "fgsm": first(5), "pgd40": first(3), "pgd100": first(3), "cw40": first(3),
                "cw100": first(3), "transfer_s": first(5)},
    "configs": {"natural": {"name": "natural"}, **{k: {"kind": kind} for k, kind in KINDS.items()}},
    "sweep": [{"eps": 0.0, "accuracy": 0.7}, {"eps": 0.15, "accuracy": 0.2}, {"eps": 0.3, "accuracy": 0.2},
              {"eps": 1.0, "accuracy": 0.0}],
    "square_only": 0.0,
    "denominator": "first 10",
}


def with_sweep(*accuracies):
    return lambda case: case.update(sweep=[{"eps": e, "accuracy": a} for e, a in zip((0.0, 0.15, 0.3, 1.0),
                                                                                     accuracies)])


def with_correct(key, k):
    return lambda case: case["correct"].update({key: first(k)})


# check function -> (a change of PASSING that violates exactly that check, the warning it yields)
VIOLATIONS = {
    "check_accuracy_non_increasing_in_eps": (
        with_sweep(0.7, 0.2, 0.4, 0.0),
        "accuracy_non_increasing_in_eps: accuracy rose from 20.0% at eps 0.15 to 40.0% at eps 0.3"),
    "check_unbounded_eps_reaches_zero": (
        with_sweep(0.7, 0.2, 0.2, 0.1),
        "unbounded_eps_reaches_zero: accuracy at eps 1 (unbounded) is 10.0%: an unbounded attack should reach ~0% "
        "(gradient masking?)"),
    "check_iterative_not_weaker_than_single_step": (
        with_correct("cw40", 6),
        "iterative_not_weaker_than_single_step:cw40: cw40 60.0% vs FGSM 50.0%: an iterative attack weaker than "
        "one step (gradient masking?)"),
    "check_whitebox_not_weaker_than_transfer": (
        with_correct("transfer_s", 2),
        "whitebox_not_weaker_than_transfer:transfer_s: best white-box 30.0% vs transfer_s 20.0%: a black-box "
        "transfer attack beats the white-box ones (gradient masking?)"),
    "check_gradient_free_not_stronger": (
        lambda case: case.update(square_only=0.1),
        "gradient_free_not_stronger: Square fooled 10.0% of the first 10 examples that every gradient-based "
        "attack missed (gradient masking?)"),
    "check_more_steps_not_weaker": (
        with_correct("pgd100", 4),
        "more_steps_not_weaker:pgd100: pgd100 40.0% vs pgd40 30.0%"),
}


def all_checks(case, tol=0.02):
    """Every check function on a synthetic case, in the report's order: (check function name, its entries)."""
    correct, configs, sweep = case["correct"], case["configs"], case["sweep"]
    return [
        ("check_accuracy_non_increasing_in_eps", masking.check_accuracy_non_increasing_in_eps(sweep, tol)),
        ("check_unbounded_eps_reaches_zero", masking.check_unbounded_eps_reaches_zero(sweep, tol)),
        ("check_iterative_not_weaker_than_single_step",
         masking.check_iterative_not_weaker_than_single_step(correct, configs, correct["fgsm"], None, tol)),
        ("check_whitebox_not_weaker_than_transfer",
         masking.check_whitebox_not_weaker_than_transfer({k: accuracy(v) for k, v in correct.items()}, configs,
                                                         tol)),
        ("check_gradient_free_not_stronger",
         masking.check_gradient_free_not_stronger(case["square_only"], case["denominator"], tol)),
        ("check_more_steps_not_weaker", masking.check_more_steps_not_weaker(correct, tol)),
    ]


def violating(check):
    case = copy.deepcopy(PASSING)
    VIOLATIONS[check][0](case)
    return case


def test_passing_results_yield_no_warning_and_one_entry_per_compared_column():
    checks = all_checks(PASSING)
    entries = [e for _, es in checks for e in es]
    assert masking.warnings_of(entries) == [] and all(e["passed"] for e in entries)
    assert [e["name"] for e in entries] == [
        "accuracy_non_increasing_in_eps", "unbounded_eps_reaches_zero",
        "iterative_not_weaker_than_single_step:pgd40", "iterative_not_weaker_than_single_step:pgd100",
        "iterative_not_weaker_than_single_step:cw40", "iterative_not_weaker_than_single_step:cw100",
        "whitebox_not_weaker_than_transfer:transfer_s", "gradient_free_not_stronger",
        "more_steps_not_weaker:pgd100", "more_steps_not_weaker:cw100"]
    for fn_name, es in checks:  # each function records the check it is named after
        assert all(e["name"].split(":")[0] == fn_name[len("check_"):] for e in es), fn_name


@pytest.mark.parametrize("check", sorted(VIOLATIONS))
def test_each_check_warns_alone_on_results_that_violate_it(check):
    checks = all_checks(violating(check))
    assert [masking.warnings_of(es) for _, es in checks] == [
        [VIOLATIONS[check][1]] if name == check else [] for name, _ in checks]
    # within a larger tolerance the same results pass
    assert masking.warnings_of([e for _, es in all_checks(violating(check), tol=0.25) for e in es]) == []


def test_iterative_check_compares_on_the_given_examples_only():
    correct = {"fgsm": first(2), "apgd_ce": first(4)}
    configs = {"apgd_ce": {"kind": "iterative"}}
    # over all 10 examples APGD-CE (40%) is weaker than FGSM (20%); over the first 2 both are at 100%
    assert masking.warnings_of(masking.check_iterative_not_weaker_than_single_step(
        correct, configs, correct["fgsm"], None, 0.02)) != []
    entries = masking.check_iterative_not_weaker_than_single_step(correct, configs, correct["fgsm"], np.arange(2),
                                                                  0.02)
    assert masking.warnings_of(entries) == [] and entries[0]["iterative"] == entries[0]["single_step"] == 1.0


# --------------------------------------------------------------------------- the report's wiring

class StandInRunner:
    """Stands in for `Runner`: PGD (the eps sweep) fools every example it attacks; FGSM and Square fool none.
    Records (title, attack name, eps, indices) per run."""

    def __init__(self, n):
        self.n, self.calls = n, []
        self.model_fn = lambda x: x  # the report builds its attacks on it; they are never run

    def run(self, attack, indices=None, title="", eps=None, extra=None):
        self.calls.append((title, attack.name, attack.eps, [int(i) for i in indices]))
        correct = np.zeros(self.n, bool)
        if attack.name != "pgd":
            correct[indices] = True
        return correct


NATURAL = np.array([1, 0, 1, 1, 1, 0, 1, 1, 0, 0], bool)   # naturally correct among the first 5: 0, 2, 3, 4


def test_masking_report_runs_the_extra_attacks_on_the_first_m_examples_quick():
    correct = {"natural": NATURAL, "fgsm": NATURAL & first(8), "pgd10": NATURAL & first(3),
               "transfer_s": NATURAL.copy()}
    configs = {"natural": {"name": "natural"}, "fgsm": {"kind": "single-step"}, "pgd10": {"kind": "iterative"},
               "transfer_s": {"kind": "transfer"}}
    runner = StandInRunner(10)
    r = evaluation.masking_report(runner, correct, configs, "quick", evaluation.settings_for("demo"), 0.3, 0, 5,
                                  0.02)
    assert runner.calls == [("Masking: PGD10 at eps 0.15", "pgd", 0.15, [0, 2, 3, 4]),
                            ("Masking: PGD10 at eps 0.3", "pgd", 0.3, [0, 2, 3, 4]),
                            ("Masking: PGD10 at eps 1", "pgd", 1.0, [0, 2, 3, 4]),
                            ("Masking: Square (200 queries)", "square", 0.3, [0, 2])]  # robust to FGSM and PGD10
    assert [p["eps"] for p in r["eps_sweep"]] == [0.0, 0.15, 0.3, 1.0]
    assert [p["accuracy"] for p in r["eps_sweep"]] == [0.8, 0.0, 0.0, 0.0]  # over the first 5
    assert [c["name"] for c in r["checks"]] == [
        "accuracy_non_increasing_in_eps", "unbounded_eps_reaches_zero", "iterative_not_weaker_than_single_step:pgd10",
        "whitebox_not_weaker_than_transfer:transfer_s", "gradient_free_not_stronger"]
    assert r["warnings"] == [] and r["examples"] == 5 and r["tolerance"] == 0.02
    assert r["sweep_attack"] == {"name": "pgd", "steps": 10, "step_size": "2.5 * eps / steps",
                                 "random_start": "uniform"}
    assert "first 5 examples" in r["checks"][-1]["detail"]


def test_masking_report_runs_the_extra_attacks_on_the_first_m_examples_autoattack():
    robust = NATURAL & first(4)   # after APGD-CE, APGD-T and Square (cumulative): 0, 2, 3
    correct = {"natural": NATURAL, "apgd_ce": robust, "apgd_t": robust, "square": robust, "autoattack": robust}
    configs = {"natural": {"name": "natural"}, "apgd_ce": {"kind": "iterative"}, "apgd_t": {"kind": "iterative"},
               "square": {"kind": "gradient-free"}, "autoattack": {"name": "autoattack"}}
    runner = StandInRunner(10)
    r = evaluation.masking_report(runner, correct, configs, "autoattack", evaluation.settings_for("demo"), 0.3, 0, 5,
                                  0.02)
    sweep = [0.075, 0.15, 0.3, 0.6, 1.0]
    assert runner.calls == [(f"Masking: PGD20 at eps {e:g}", "pgd", e, [0, 2, 3, 4]) for e in sweep] + [
        ("Masking: FGSM", "fgsm", 0.3, [0, 2, 3, 4])]  # no Square run: the chain's own Square column is used
    assert [c["name"] for c in r["checks"]] == [
        "accuracy_non_increasing_in_eps", "unbounded_eps_reaches_zero",
        "iterative_not_weaker_than_single_step:apgd_ce", "iterative_not_weaker_than_single_step:apgd_t",
        "gradient_free_not_stronger"]
    # FGSM fooled none of the first 5: 80% there, APGD 60%; Square fooled nothing APGD-T missed
    assert r["checks"][2]["single_step"] == 0.8 and r["checks"][2]["iterative"] == 0.6
    assert r["warnings"] == [] and "of the all examples" in r["checks"][-1]["detail"]
