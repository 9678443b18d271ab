"""The stability study's command in its tiny configuration: trains, evaluates, resumes and reports."""

import json
import os

from conftest import run_cli
from drrdn_tf.experiments import stability


def test_tiny_study_end_to_end(tmp_path):
    out = str(tmp_path / "study")
    args = ["--tiny", "--rungs=madry,eq4+adv_single", "--seeds=0", "--autoattack=eq4+adv_single",
            f"--output_dir={out}"]
    r = run_cli("drrdn_tf.experiments.stability", *args)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.load(open(os.path.join(out, "summary.json")))
    rows = {row["rung"]: row for row in summary["runs"]}
    assert set(rows) == {"madry", "eq4+adv_single"}
    for row in rows.values():
        assert row["finished"] and row["epochs"] == 2
        assert 0 <= row["test_pgd40"] <= row["test_natural"] <= 100
        assert not os.path.isabs(row["folder"])
    assert 0 <= rows["eq4+adv_single"]["test_autoattack"] <= rows["eq4+adv_single"]["test_natural"]
    assert "test_autoattack" not in rows["madry"]
    config = json.load(open(os.path.join(out, "runs", "eq4+adv_single_s0", "config.json")))["settings"]
    assert config["formulation"] == "single" and config["lambda_adv"] == 1.0 and config["lambda_mi"] == 0.0
    table = open(os.path.join(out, "table.md")).read()
    assert "eq4+adv_single" in table and "test PGD-40" in table
    assert os.path.getsize(os.path.join(out, "curves.png")) > 0
    # Rerunning trains nothing more: every run folder is finished and evaluated.
    again = run_cli("drrdn_tf.experiments.stability", *args)
    assert again.returncode == 0 and "already finished" in again.stdout


def test_bad_rung_is_one_line():
    r = run_cli("drrdn_tf.experiments.stability", "--rungs=nope")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "unknown rung" in r.stderr


def test_steadiness_figures():
    history = [{"epoch": e, "val_acc": 0.9, "val_pgd_acc": p, "acc": 0.9}
               for e, p in enumerate([0.1, 0.5, 0.80, 0.77, 0.85, 0.84], 1)]
    s = stability.steadiness(history, warmup=3)
    assert abs(s["max_drop"] - 3.0) < 1e-9
    assert abs(s["last_minus_best"] + 1.0) < 1e-9 and s["best_val_pgd_acc"] == 85.0
    assert s["steady"] is False
    assert stability.steadiness(history[:3] + history[4:], warmup=3)["steady"] is True


def _row(rung, seed, pgd, nat, steady=True):
    return {"rung": rung, "seed": seed, "finished": True, "steady": steady, "test_pgd40": pgd,
            "test_natural": nat, "test_examples": 1000}


def test_verdict_lines_band_each_gap_against_madry():
    from drrdn_tf.experiments import sampling
    from drrdn_tf.experiments.stability_report import verdict_lines
    rows = [_row("madry", 0, 85.0, 96.5), _row("madry", 1, 83.0, 96.5),
            _row("eq4_a1", 0, 86.0, 97.0), _row("drrdn", 0, 70.0, 96.0, steady=False)]
    lines = verdict_lines(rows)
    by_rung = {line.split("`")[1]: line for line in lines if line.startswith("- `")}
    # +2.0 PGD-40 on 1,000 images lies inside its band (about ±3.2): level, with the band printed.
    band = sampling.two_standard_errors(86.0, 84.0, 1000)
    assert 2.0 < band and f"PGD-40 +2.00 ±{band:.2f} (level with Madry)" in by_rung["eq4_a1"]
    assert "PGD-40 -14.00" in by_rung["drrdn"] and "(below Madry)" in by_rung["drrdn"]
    assert "**not steady**" in by_rung["drrdn"] and "against Madry" not in by_rung["madry"]
    # The seed-spread caveat is computed from Madry's own seeds.
    assert any("2 seeds span 2.0 points" in line for line in lines)
