"""The evaluation suite: the CLI end to end on an exported model, its answers to bad input, the presets'
settings and bookkeeping (per-example worst case, only still-robust points attacked), and the masking report
on a model that masks its gradients."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import drrdn_tf
from drrdn_tf import data, evaluation
from drrdn_tf.nn import backbones

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_evaluate(*args, timeout=600):
    """`python -m drrdn_tf.evaluate args...` in a subprocess (text output)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "drrdn_tf.evaluate", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _train(demo, n, seed):
    """A Standard SmallCNN, one epoch on the first n demo images (Adam)."""
    keras.utils.set_random_seed(seed)
    m = drrdn_tf.Standard(backbones.small_cnn(), 10, head=backbones.head_for("small_cnn"))
    m.compile(keras.optimizers.Adam(1e-3))
    m.fit(data.make_dataset(demo[0][:n], demo[1][:n], 32, shuffle=True, seed=seed), epochs=1, verbose=0)
    return m


@pytest.fixture(scope="module")
def exported(demo, tmp_path_factory):
    """(SavedModel path, Keras model): trained once for the whole module."""
    m = _train(demo, 2000, seed=0)
    return m.export(str(tmp_path_factory.mktemp("model") / "savedmodel")), m


@pytest.fixture(scope="module")
def surrogate(demo, tmp_path_factory):
    m = _train(demo, 1000, seed=1)
    return m.export(str(tmp_path_factory.mktemp("surrogate") / "savedmodel")), m


@pytest.fixture(scope="module")
def test_slice(demo):
    return demo[2][:64], demo[3][:64]


def keras_fn(m):
    return lambda x: m(x, training=False)


# --------------------------------------------------------------------------- CLI

def test_cli_quick_preset_end_to_end(exported, surrogate, demo, tmp_path):
    path, model = exported
    out = tmp_path / "out" / "results.json"
    n = 150
    res = run_evaluate(f"--model={path}", "--dataset=demo", "--preset=quick", f"--num_examples={n}",
                       "--batch_size=64", f"--output={out}", f"--surrogates={surrogate[0]}")
    assert res.returncode == 0, res.stderr[-3000:]
    r = json.loads(out.read_text())
    assert sorted(os.listdir(out.parent)) == ["results.json", "results.png"], "temporary files left behind"
    assert (out.parent / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"   # the results drawn
    assert r["model"] == os.path.relpath(path, REPO)  # recorded relative to the working directory
    assert r["dataset"] == "demo" and r["preset"] == "quick"
    assert r["num_examples"] == n and r["eps"] == 0.3
    acc = r["accuracy"]
    transfer_keys = [k for k in acc if k.startswith("transfer_")]
    assert set(acc) == {"natural", "fgsm", "pgd10"} | set(transfer_keys) and len(transfer_keys) == 1
    assert all(0.0 <= v <= 1.0 for v in acc.values())
    # Natural accuracy is that of the model on the first n test images.
    x, y = demo[2][:n], demo[3][:n]
    expected = np.mean(np.argmax(model.predict(x, verbose=0), -1) == y)
    assert abs(acc["natural"] - expected) <= 1.0 / n, (acc["natural"], expected)
    # A standard model: PGD-10 at eps 0.3 breaks it; white-box beats transfer.
    assert acc["pgd10"] <= 0.1 and acc["pgd10"] <= acc["fgsm"] <= acc["natural"]
    assert acc["pgd10"] <= acc[transfer_keys[0]]
    assert r["attacks"]["pgd10"]["steps"] == 10 and r["attacks"]["pgd10"]["eps"] == 0.3
    assert r["attacks"]["fgsm"]["step_size"] == 0.3
    assert r["attacks"][transfer_keys[0]]["surrogate_attack"]["steps"] == 10
    per = r["per_example"]
    assert per["labels"] == y.tolist()
    for k in acc:
        assert len(per["correct"][k]) == n and abs(np.mean(per["correct"][k]) - acc[k]) < 1e-9
        assert all(c <= nat for c, nat in zip(per["correct"][k], per["correct"]["natural"]))
    masking = r["masking"]
    assert masking["checks"] and isinstance(masking["warnings"], list)
    assert masking["eps_sweep"][0]["eps"] == 0.0 and masking["eps_sweep"][-1]["eps"] == 1.0
    # The table, in %, on stdout.
    assert "Natural" in res.stdout and "PGD10" in res.stdout and "Transfer(" in res.stdout
    assert f"{100 * acc['natural']:.2f}" in res.stdout and f"{100 * acc['pgd10']:.2f}" in res.stdout


def _no_signature(tmp_path):
    class M(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])
        def f(self, x):
            return {"logits": tf.reshape(tf.reduce_sum(x, [1, 2, 3]), [-1, 1]) * tf.ones([1, 10])}

    m = M()
    path = str(tmp_path / "other_signature")
    tf.saved_model.save(m, path, signatures={"predict": m.f.get_concrete_function()})
    return path


def _cifar_shaped(tmp_path):
    m = drrdn_tf.Standard(backbones.small_cnn((32, 32, 3)), 10, head=backbones.head_for("small_cnn"))
    return m.export(str(tmp_path / "cifar_shaped"))


BAD = {
    "missing_model_path": (lambda tmp, ok: [f"--model={tmp / 'nope'}"], "does not exist"),
    "no_model_flag": (lambda tmp, ok: [], "--model"),
    "not_a_savedmodel": (lambda tmp, ok: [f"--model={tmp}"], "saved_model.pb"),
    "no_serving_default": (lambda tmp, ok: [f"--model={_no_signature(tmp)}"], "serving_default"),
    "wrong_image_shape": (lambda tmp, ok: [f"--model={_cifar_shaped(tmp)}"], "32, 32, 3"),
    "unknown_preset": (lambda tmp, ok: [f"--model={ok}", "--preset=nope"], "preset"),
    "bad_surrogate": (lambda tmp, ok: [f"--model={ok}", f"--surrogates={tmp / 'nope'}"], "does not exist"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_bad_input_is_one_line_and_exit_2(case, exported, tmp_path):
    make_args, expected = BAD[case]
    args = make_args(tmp_path, exported[0])
    if "--preset=nope" not in args:
        args.append("--preset=quick")
    if not any(a.startswith("--dataset") for a in args):
        args.append("--dataset=demo")
    res = run_evaluate(*args, f"--output={tmp_path / 'r.json'}", timeout=300)
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr[-2000:]
    assert expected in lines[0], lines[0]
    assert not (tmp_path / "r.json").exists()


# --------------------------------------------------------------------------- presets (in process)

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


def test_paper_preset_columns_settings_and_per_example_worst_case(exported, surrogate, test_slice):
    x, y = test_slice
    fn = keras_fn(exported[1])
    r = evaluation.evaluate(fn, x, y, "mnist", preset="paper", batch_size=32, surrogates={"s": keras_fn(surrogate[1])},
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


def test_autoattack_preset_attacks_only_still_robust_points(exported, test_slice):
    x, y = test_slice
    fn = keras_fn(exported[1])
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


def test_autoattack_preset_default_budget_is_autoattacks(exported, test_slice):
    x, y = test_slice
    r = evaluation.evaluate(keras_fn(exported[1]), x[:32], y[:32], "demo", preset="autoattack", batch_size=32,
                            masking=False, per_example=False, progress=False, log=lambda m: None)
    a = r["attacks"]
    assert (a["apgd_ce"]["steps"], a["apgd_ce"]["loss"], a["apgd_ce"]["initial_step"]) == (100, "ce", 0.6)
    assert a["apgd_ce"]["checkpoints"] == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    assert (a["apgd_t"]["steps"], a["apgd_t"]["n_target_classes"], a["apgd_t"]["loss"]) == (100, 9, "dlr-targeted")
    assert (a["square"]["n_queries"], a["square"]["p_init"]) == (5000, 0.8)
    assert r["accuracy"]["autoattack"] <= 0.05
    assert "per_example" not in r


# --------------------------------------------------------------------------- masking report

def test_masking_report_flags_a_gradient_masking_model_and_passes_a_plain_one(exported, test_slice):
    x, y = test_slice
    model = exported[1]
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


def test_runner_pads_batches_and_compiles_each_attack_at_most_twice(exported, demo):
    fn = keras_fn(exported[1])
    x, y = demo[2][:100], demo[3][:100]
    runner = evaluation.Runner(fn, x, y, batch_size=32, progress=False)
    attack = drrdn_tf.attacks.PGD(fn, 0.1, 0.02, 3, seed=0)
    robust = runner.run(attack)  # batches of 32, 32, 32 and 4 (padded to 4)
    assert attack._perturb.experimental_get_tracing_count() <= 2
    runner.run(attack, np.arange(50))  # 32 + 18 (padded to 32): no new trace
    assert attack._perturb.experimental_get_tracing_count() <= 2
    # the same flags as attacking the whole set at once with the same per-batch seeds
    direct = np.concatenate([
        np.argmax(fn(attack.perturb(x[i:i + 32], y[i:i + 32], seed=b)), -1) == y[i:i + 32]
        for b, i in enumerate(range(0, 100, 32))])
    np.testing.assert_array_equal(robust, direct)
