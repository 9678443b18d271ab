"""`python -m drrdn_tf.compare`: two models' results compared image by image, on hand-made JSONs of both kinds
it reads (an evaluation JSON with per-example lists, a paired.json record with bit strings)."""

import json
import os

import numpy as np
import pytest

from conftest import run_cli
from drrdn_tf.cli.compare import comparison
from drrdn_tf.experiments import paired, sampling

N = 2000


def _evaluation(model, natural, pgd40, num_examples=N):
    """An evaluation JSON as `python -m drrdn_tf.evaluate` writes it (per-example lists)."""
    return {"model": model, "dataset": "mnist", "num_examples": num_examples, "eps": 0.3, "seed": 0,
            "accuracy": {"natural": float(natural.mean()), "pgd40": float(pgd40.mean())},
            "per_example": {"labels": [i % 10 for i in range(len(natural))],
                            "correct": {"natural": natural.astype(int).tolist(), "pgd40": pgd40.astype(int).tolist()}}}


def _flags():
    """Model A: 95% natural, 90% under PGD-40; model B fails 30 more PGD images and gets 5 that A misses."""
    natural = np.arange(N) < 1900
    a = np.arange(N) < 1800
    b = a.copy()
    b[1770:1800] = False
    b[1800:1805] = True
    return natural, a, b


def test_comparison_of_an_evaluation_json_and_a_paired_record():
    natural, a, b = _flags()
    record = {**{k: v for k, v in _evaluation("b", natural, b).items() if k != "per_example"},
              "flags": {"natural": paired.encode(natural), "pgd40": paired.encode(b)}}
    c = comparison(_evaluation("a", natural, a), record, ["A", "B"])
    g = c["columns"]["pgd40"]
    assert list(c["columns"]) == ["natural", "pgd40"]
    assert (g["a"], g["b"], g["a_only"], g["b_only"]) == (90.0, 88.75, 30, 5)
    assert g["band"] == pytest.approx(sampling.paired_two_standard_errors(a, b))
    assert g["unpaired_band"] == pytest.approx(sampling.two_standard_errors(90.0, 88.75, N))
    # +1.25 points: inside the unpaired band (±1.95), outside the paired one (±0.59).
    assert g["band"] < g["gap"] < g["unpaired_band"] and g["verdict"] == "A above"
    assert c["columns"]["natural"]["verdict"] == "tie" and c["columns"]["natural"]["band"] == 0.0


def test_command_prints_the_table_writes_json_and_refuses_bad_input(tmp_path):
    natural, a, b = _flags()
    paths = {}
    for name, obj in (("a", _evaluation("runs/a/savedmodel", natural, a)),
                      ("b", _evaluation("runs/b/savedmodel", natural, b)),
                      ("short", _evaluation("runs/b/savedmodel", natural[:1000], b[:1000], num_examples=1000)),
                      ("bare", {k: v for k, v in _evaluation("x", natural, b).items() if k != "per_example"})):
        paths[name] = str(tmp_path / f"{name}.json")
        with open(paths[name], "w") as f:
            json.dump(obj, f)
    out = run_cli("drrdn_tf.compare", paths["a"], paths["b"], f"--output={tmp_path / 'c.json'}")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("runs/a/savedmodel against runs/b/savedmodel: accuracy (%) on the same 2,000 mnist")
    assert lines[-2].split() == ["pgd40", "90.00", "88.75", "+1.25", "0.59", "1.95", "30", "5", "runs/a/savedmodel",
                                 "above"]
    with open(tmp_path / "c.json") as f:
        saved = json.load(f)
    assert saved["columns"]["pgd40"]["a_only"] == 30 and saved["inputs"] == [os.path.relpath(paths["a"]),
                                                                               os.path.relpath(paths["b"])]
    cases = [([paths["a"]], "exactly two"), ([paths["a"], str(tmp_path / "nope.json")], "no such file"),
             ([paths["a"], paths["short"]], "differ in num_examples"),
             ([paths["a"], paths["bare"]], "no column with per-example flags"),
             ([paths["a"], paths["b"], "--labels=A"], "two labels")]
    for args, needle in cases:
        out = run_cli("drrdn_tf.compare", *args)
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, out.stderr)
        assert needle in lines[0], (needle, lines[0])
