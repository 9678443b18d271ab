"""The paper-scale report: figures computed from run folders, the budget check, the command's bad input."""

import json
import os

from conftest import run_cli
from drrdn_tf import config
from drrdn_tf.experiments import paper_scale


def _run_folder(root, method, val_pgd, finished=False, **overrides):
    """A run folder as training.run writes it: config.json, history.json, and results.json once finished."""
    s = config.settings_for("mnist", method=method, epochs=len(val_pgd) if finished else 10, **overrides)
    folder = os.path.join(root, method)
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"settings": s.to_json(), "data_source": "mnist.npz"}, f)
    history = [{"epoch": i + 1, "val_acc": 0.98, "val_pgd_acc": p, "acc": 0.95, "seconds": 100.0 + i}
               for i, p in enumerate(val_pgd)]
    with open(os.path.join(folder, "history.json"), "w") as f:
        json.dump({"epochs": history}, f)
    if finished:
        with open(os.path.join(folder, "results.json"), "w") as f:
            json.dump({"num_examples": 10000, "accuracy": {"natural": 0.99, "pgd40": 0.95},
                       "attack": {"steps": 40, "step_size": 0.01}}, f)
    return folder


def test_report_from_run_folders(tmp_path):
    root = str(tmp_path / "runs")
    _run_folder(root, "drrdn", [0.1, 0.6, 0.90, 0.93, 0.90, 0.92])         # a 3-point drop after the warm-up
    _run_folder(root, "madry", [0.1, 0.5, 0.88, 0.91, 0.95], finished=True)
    rows = paper_scale.write_report(root)
    assert [r["method"] for r in rows] == ["drrdn", "madry"]                # config.METHODS' order
    drrdn, madry = rows
    assert abs(drrdn["max_drop"] - 3.0) < 1e-9 and drrdn["steady"] is False and not drrdn["finished"]
    assert madry["steady"] is True and madry["finished"] and abs(madry["test_pgd"] - 95.0) < 1e-9
    assert "test_pgd" not in drrdn and drrdn["seconds_per_epoch"] == 102.5
    readme = open(os.path.join(root, "README.md")).read()
    assert "same budget" in readme and "**not steady**" in readme
    # Standard trains on natural images only: its falling PGD accuracy is not judged as (un)steadiness.
    _run_folder(root, "standard", [0.3, 0.1, 0.02, 0.01, 0.0], finished=True)
    standard = {r["method"]: r for r in paper_scale.write_report(root)}["standard"]
    assert standard["steady"] is None
    readme = open(os.path.join(root, "README.md")).read()
    assert "| 5/5 | 98.0 | 0.0 | 2.0 | 1.0 | -2.0 | – |" in readme and "criterion (of validation PGD accuracy) does not apply" in readme
    # Epoch 5 is the last both finished: DRRDN 90.0 against Madry 95.0.
    assert "At epoch 5" in readme and "-5.0 points against Madry" in readme
    assert "| 6/10 |" in readme and "| 1 (eps 0.1) |" in readme
    summary = json.load(open(os.path.join(root, "summary.json")))
    assert summary["budget_differences"] == {} and not os.path.isabs(summary["runs"][0]["folder"])
    assert os.path.getsize(os.path.join(root, "curves.png")) > 0


def _autoattack_json(folder, accuracy, epochs):
    with open(os.path.join(folder, "eval_autoattack.json"), "w") as f:
        json.dump({"num_examples": 1000, "accuracy": {"autoattack": accuracy},
                   "model_epochs": {os.path.basename(folder): epochs}}, f)


def test_autoattack_column_of_the_current_models_only(tmp_path):
    """eval_autoattack.json (reproduce --steps=autoattack) gives the AutoAttack column and a DRRDN-Madry line,
    unless it was computed on fewer epochs than the run folder now holds."""
    root = str(tmp_path / "runs")
    _autoattack_json(_run_folder(root, "drrdn", [0.1, 0.6, 0.9, 0.92], finished=True), 0.91, epochs=4)
    _autoattack_json(_run_folder(root, "madry", [0.1, 0.6, 0.9, 0.91], finished=True), 0.885, epochs=4)
    drrdn, madry = paper_scale.write_report(root)
    assert drrdn["autoattack"] == 91.0 and madry["autoattack"] == 88.5
    readme = open(os.path.join(root, "README.md")).read()
    assert "DRRDN 91.0%, Madry 88.5% (+2.50 ±2.71 points): within sampling noise of Madry (a tie)." in readme and "| 91.0 | 102 |" in readme
    _autoattack_json(os.path.join(root, "madry"), 0.885, epochs=3)     # computed before the last epoch: stale
    drrdn, madry = paper_scale.write_report(root)
    assert "autoattack" not in madry and "Madry 88.5%" not in open(os.path.join(root, "README.md")).read()


def test_report_flags_a_different_budget(tmp_path):
    root = str(tmp_path / "runs")
    _run_folder(root, "drrdn", [0.1, 0.6, 0.9], lambda_adv=1.0)            # a method term: not the budget
    _run_folder(root, "madry", [0.1, 0.6, 0.9], pgd_steps=10)
    rows = paper_scale.write_report(root)
    assert paper_scale.budget_differences(rows) == {"pgd_steps": {"drrdn": 40, "madry": 10}}
    assert "do not share one budget" in open(os.path.join(root, "README.md")).read()


def test_bad_runs_folder_is_one_line(tmp_path):
    r = run_cli("drrdn_tf.experiments.paper_scale", f"--runs={tmp_path / 'nope'}")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "not a folder" in r.stderr
    r = run_cli("drrdn_tf.experiments.paper_scale", f"--runs={tmp_path}")
    assert r.returncode == 2 and "no run folder" in r.stderr


def test_verdict_gives_test_gaps_with_their_sampling_noise():
    row = dict(epochs=20, epochs_planned=20, max_drop=0.4, last_minus_best=0.0, steady=True,
               val_pgd_by_epoch=[97.0] * 20, test_attack="PGD-40 step 0.01", test_examples=10000,
               autoattack_examples=1000)
    rows = [{**row, "method": "drrdn", "test_pgd": 96.56, "test_natural": 99.38, "autoattack": 91.7},
            {**row, "method": "madry", "test_pgd": 96.54, "test_natural": 99.29, "autoattack": 95.0}]
    text = "\n".join(paper_scale.verdict(rows))
    assert ("DRRDN +0.02 ±0.52 points under attack and +0.09 ±0.23 natural against Madry (± two standard errors "
            "of the images; DRRDN after 20 epochs, Madry after 20): within sampling noise of Madry (a tie) under "
            "attack.") in text
    assert "DRRDN 91.7%, Madry 95.0% (-3.30 ±2.22 points): **below Madry** beyond sampling noise." in text
