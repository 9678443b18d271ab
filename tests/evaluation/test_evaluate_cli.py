"""`python -m drrdn_tf.evaluate` end to end on an exported model, and its answers to bad input."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tensorflow as tf

import drrdn_tf
from drrdn_tf.nn import backbones

import evaluation_models
from conftest import REPO, run_cli


def run_evaluate(*args, timeout=600):
    """`python -m drrdn_tf.evaluate args...` in a subprocess from the repository (text output)."""
    return run_cli("drrdn_tf.evaluate", *args, timeout=timeout, env={"TF_CPP_MIN_LOG_LEVEL": "2"})


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(SavedModel path, Keras model) of the model under test."""
    return evaluation_models.exported("model", tmp_path_factory)


@pytest.fixture(scope="module")
def surrogate(tmp_path_factory):
    return evaluation_models.exported("surrogate", tmp_path_factory)


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


def test_cli_bad_input_is_one_line_and_exit_2(exported, tmp_path):
    """Every BAD case: exit status 2, one line on stderr naming the problem, no results file. The cases run two
    processes at a time (most of each is importing TensorFlow), each in a folder of its own."""
    cases, commands = sorted(BAD), []
    for case in cases:  # the models some cases need are built here, in this thread
        folder = tmp_path / case
        folder.mkdir()
        args = BAD[case][0](folder, exported[0])
        if "--preset=nope" not in args:
            args.append("--preset=quick")
        if not any(a.startswith("--dataset") for a in args):
            args.append("--dataset=demo")
        commands.append([*args, f"--output={folder / 'r.json'}"])
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda args: run_evaluate(*args, timeout=300), commands))
    for case, res in zip(cases, results):
        assert res.returncode == 2, (case, res.returncode, res.stderr[-2000:])
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (case, res.stderr[-2000:])
        assert BAD[case][1] in lines[0], (case, lines[0])
        assert not (tmp_path / case / "r.json").exists(), case
