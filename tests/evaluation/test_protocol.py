"""The presets' settings and bookkeeping: the data sets' attack settings, the paper columns' settings and
per-example worst case, the autoattack chain attacking only still-robust points, its default budget."""

import numpy as np
import pytest

from drrdn_tf import evaluation

from evaluation_models import keras_fn, model, surrogate, test_slice  # noqa: F401 (fixtures)


def test_dataset_settings_are_the_papers():
    s = evaluation.settings_for("mnist")
    assert (s.eps, s.step_size, s.fgsm_step, s.transfer_steps, s.transfer_step) == (0.3, 0.01, 0.1, 40, 0.01)
    s = evaluation.settings_for("cifar10")
    assert (s.eps, s.step_size, s.fgsm_step, s.transfer_steps, s.transfer_step) == (0.031, 0.003, 0.03, 20, 0.003)
    assert s.square_p_init == 0.05 and evaluation.settings_for("mnist").square_p_init == 0.8
    s = evaluation.settings_for("fashion_mnist")
    assert (s.eps, s.step_size) == (0.1, 0.01)
    assert evaluation.settings_for("demo") == evaluation.settings_for("mnist")
    with pytest.raises(ValueError, match="unknown dataset"):
        evaluation.settings_for("svhn")


def test_paper_preset_columns_settings_and_per_example_worst_case(model, surrogate, test_slice):
    x, y = test_slice
    fn = keras_fn(model)
    r = evaluation.evaluate(fn, x, y, "mnist", preset="paper", batch_size=32, surrogates={"s": keras_fn(surrogate)},
                            masking=False, progress=False, log=lambda m: None)
    keys = [c["key"] for c in r["columns"]]
    assert keys == ["natural", "fgsm", "pgd40", "pgd100", "cw40", "cw100", "transfer_s"]
    a = r["attacks"]
    assert a["fgsm"]["step_size"] == 0.1 and a["fgsm"]["eps"] == 0.3 and a["fgsm"]["steps"] == 1
    for k, steps, loss in (("pgd40", 40, "ce"), ("pgd100", 100, "ce"), ("cw40", 40, "cw"), ("cw100", 100, "cw")):
        assert (a[k]["steps"], a[k]["step_size"], a[k]["eps"], a[k]["loss"]) == (steps, 0.01, 0.3, loss)
        assert a[k]["random_start"] == "uniform"
    surrogate_attack = a["transfer_s"]["surrogate_attack"]
    assert (surrogate_attack["steps"], surrogate_attack["step_size"]) == (40, 0.01)
    assert surrogate_attack["keep_best"] is False  # the plain loop's last iterate is what transfers
    c = {k: np.array(v, bool) for k, v in r["per_example"]["correct"].items()}
    # Same seeds, same starts: more steps never let an example survive that fewer steps broke.
    assert not np.any(c["pgd100"] & ~c["pgd40"]) and not np.any(c["cw100"] & ~c["cw40"])
    for k in keys:
        assert not np.any(c[k] & ~c["natural"])
    assert r["accuracy"]["pgd40"] <= 0.1  # a standard model at eps 0.3


def test_autoattack_preset_attacks_only_still_robust_points(model, test_slice):
    x, y = test_slice
    fn = keras_fn(model)
    budget = {"apgd_steps": 10, "n_target_classes": 2, "square_queries": 40}
    r = evaluation.evaluate(fn, x, y, "mnist", preset="autoattack", eps=0.08, batch_size=32, masking=False,
                            progress=False, log=lambda m: None, autoattack_budget=budget)
    acc, a = r["accuracy"], r["attacks"]
    n = len(y)
    assert [c["key"] for c in r["columns"]] == ["natural", "apgd_ce", "apgd_t", "square", "autoattack"]
    assert acc["natural"] >= acc["apgd_ce"] >= acc["apgd_t"] >= acc["square"] == acc["autoattack"]
    assert 0.1 < acc["apgd_ce"] < acc["natural"]  # a non-trivial case
    assert a["apgd_ce"]["examples_attacked"] == round(acc["natural"] * n)
    assert a["apgd_t"]["examples_attacked"] == round(acc["apgd_ce"] * n)
    assert a["square"]["examples_attacked"] == round(acc["apgd_t"] * n)
    assert a["square"]["queries_max"] <= 40 and a["apgd_t"]["n_target_classes"] == 2
    c = {k: np.array(v, bool) for k, v in r["per_example"]["correct"].items()}
    assert not np.any(c["autoattack"] & ~c["apgd_ce"]) and not np.any(c["autoattack"] & ~c["apgd_t"])


def test_autoattack_preset_default_budget_is_autoattacks(model, test_slice):
    x, y = test_slice
    r = evaluation.evaluate(keras_fn(model), x[:32], y[:32], "demo", preset="autoattack", batch_size=32,
                            masking=False, per_example=False, progress=False, log=lambda m: None)
    a = r["attacks"]
    assert (a["apgd_ce"]["steps"], a["apgd_ce"]["loss"], a["apgd_ce"]["initial_step"]) == (100, "ce", 0.6)
    assert a["apgd_ce"]["checkpoints"] == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    assert (a["apgd_t"]["steps"], a["apgd_t"]["n_target_classes"], a["apgd_t"]["loss"]) == (100, 9, "dlr-targeted")
    assert (a["square"]["n_queries"], a["square"]["p_init"]) == (5000, 0.8)
    assert r["accuracy"]["autoattack"] <= 0.05
    assert "per_example" not in r


def test_add_transfer_matches_an_evaluation_that_had_the_surrogate(model, surrogate, test_slice):
    x, y = test_slice
    fn, s = keras_fn(model), keras_fn(surrogate)
    kw = dict(preset="quick", batch_size=32, masking_examples=16, progress=False, log=lambda m: None)
    full = evaluation.evaluate(fn, x, y, "mnist", surrogates={"s": s}, **kw)
    added = evaluation.add_transfer(evaluation.evaluate(fn, x, y, "mnist", **kw), fn, x, y, {"s": s},
                                    batch_size=32, progress=False, log=lambda m: None)
    assert [c["key"] for c in added["columns"]] == [c["key"] for c in full["columns"]]
    assert added["accuracy"] == full["accuracy"] and added["attacks"] == full["attacks"]
    assert added["per_example"] == full["per_example"]
    by_name = lambda r: {c["name"]: c for c in r["masking"]["checks"]}
    assert by_name(added) == by_name(full) and "whitebox_not_weaker_than_transfer:transfer_s" in by_name(added)
    assert added["masking"]["warnings"] == evaluation.warnings_of(added["masking"]["checks"])
    with pytest.raises(ValueError, match="already have the column"):
        evaluation.add_transfer(added, fn, x, y, {"s": s}, progress=False)
    with pytest.raises(ValueError, match="not the 32 given"):
        evaluation.add_transfer(full, fn, x[:32], y[:32], {"t": s}, progress=False)
    with pytest.raises(ValueError, match="not the model or the examples"):
        evaluation.add_transfer(full, s, x, y, {"t": fn}, progress=False)


def test_chosen_columns_are_the_whole_presets_columns(model, test_slice):
    """`columns` reruns some of a preset's columns exactly as the whole preset runs them (same seeds, same
    examples attacked): the paired records rest on this."""
    x, y = test_slice
    kw = dict(batch_size=32, masking=False, progress=False, log=lambda m: None)
    full = evaluation.evaluate(keras_fn(model), x, y, "mnist", preset="paper", eps=0.1, **kw)
    some = evaluation.evaluate(keras_fn(model), x, y, "mnist", preset="paper", eps=0.1, columns=["cw40", "fgsm"],
                               **kw)
    assert [c["key"] for c in some["columns"]] == ["natural", "fgsm", "cw40"]          # the preset's order
    for k in ("natural", "fgsm", "cw40"):
        assert some["per_example"]["correct"][k] == full["per_example"]["correct"][k]
        assert some["attacks"][k] == full["attacks"][k]
    assert 0 < full["accuracy"]["cw40"] < full["accuracy"]["natural"]                 # a non-trivial case
    with pytest.raises(ValueError, match="unknown column.*pgd50.*choose among fgsm, pgd40"):
        evaluation.evaluate(keras_fn(model), x, y, "mnist", columns=["pgd50"], **kw)
    with pytest.raises(ValueError, match="paper and quick presets only"):
        evaluation.evaluate(keras_fn(model), x, y, "mnist", preset="autoattack", columns=["apgd_ce"], **kw)
