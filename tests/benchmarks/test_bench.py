"""`python -m benchmarks.bench` (run from the repository root): one tiny run end to end (JSON on stdout only,
every figure present and positive, no retracing), the readable table, bad flags (exit status 2, one line), the
retrace detector, and benchmarks/report.py on several runs."""

import json
import math
import subprocess
import sys

import pytest

from conftest import REPO, run_cli

if REPO not in sys.path:
    sys.path.insert(0, REPO)  # `benchmarks` is a folder of the repository, not part of the installed package

TINY = ["--methods=standard,madry", "--steps=1", "--repeats=2", "--warmup=1", "--pgd_steps=2", "--batch_size=16",
        "--attack_steps=2,4", "--nowrn"]


def _positive(value, where):
    assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: {value!r} is not a number"
    assert math.isfinite(value) and value > 0, f"{where}: {value!r} is not a positive number"


@pytest.fixture(scope="module")
def tiny_json():
    out = run_cli("benchmarks.bench", *TINY, "--json", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "[bench" in out.stderr  # progress goes to stderr ...
    return json.loads(out.stdout)  # ... so stdout is exactly one JSON document


def test_json_has_every_figure(tiny_json):
    r = tiny_json
    _positive(r["matmul_gflops"], "matmul_gflops")
    assert set(r["train"]) == {"standard", "madry"}
    for method, t in r["train"].items():
        for key in ("images_per_sec", "gflops", "seconds_per_step", "fraction_of_matmul", "flops_per_image",
                    "real_data_images_per_sec", "pipeline_ratio", "cpu_seconds_per_step"):
            _positive(t[key], f"train.{method}.{key}")
        assert t["retraced"] is False, method
        assert len(t["samples_images_per_sec"]) == 2  # --repeats
    for key in ("attack_seconds_per_step", "non_attack_seconds_per_step"):
        _positive(r["train"]["madry"][key], f"madry {key}")  # the step with pgd_steps=0 was timed too
    # A difference of two timings: on a loaded machine it can fall below 0, so only its type is asserted.
    fraction = r["train"]["madry"]["attack_fraction"]
    assert isinstance(fraction, float) and math.isfinite(fraction), fraction
    assert "attack_fraction" not in r["train"]["standard"]  # Standard trains without an attack
    # Useful work per image: Madry's PGD-2 step costs 2*2F + 3F, Standard's 3F, with F the SmallCNN's forward.
    f = r["flops_per_image"]["small_cnn_inference"]
    assert 19e6 < f < 21e6, f
    assert r["train"]["standard"]["flops_per_image"] == 3 * f
    assert r["train"]["madry"]["flops_per_image"] == 7 * f
    for name, steps in (("pgd2", 2), ("pgd4", 4)):
        a = r["attack"][name]
        _positive(a["images_per_sec"], name)
        _positive(a["gflops"], name)
        _positive(a["fraction_of_matmul"], name)
        assert a["retraced"] is False and a["traces"] == 1, name
        assert a["flops_per_image"] == (2 * steps + 1) * f
    assert r["attack"]["fwd_bwd"]["retraced"] is False
    assert isinstance(r["pgd_step_over_fwd_bwd"], float) and math.isfinite(r["pgd_step_over_fwd_bwd"])
    _positive(r["ratios"]["standard_over_madry"], "standard_over_madry")
    _positive(r["pipeline"]["real_over_synthetic"]["madry"], "pipeline ratio")
    _positive(r["memory"]["peak_rss_mb"], "peak_rss_mb")
    assert r["retraced"] is False
    assert r["versions"]["tensorflow"].startswith("2.") and r["versions"]["keras"].startswith("3.")
    assert r["cpu_count"] >= 1 and r["wrn"] is None
    assert r["targets"]["no_retracing"]["pass"] is True
    # where one PGD-2 call's time goes (tf.profiler): every kind present, shares of the call's wall time
    p = r["pgd_profile"]
    assert "error" not in p, p
    assert p["steps"] == 2 and 0 < p["busy_fraction"] <= 1
    assert set(p["kinds"]) == {"convolution", "matmul", "max_pool", "relu_grad", "xla", "other"}
    assert all(0 <= k["fraction_of_wall"] <= 1 and k["ms_per_step"] >= 0 for k in p["kinds"].values())
    assert p["kinds"]["convolution"]["events"] > 0 and p["kinds"]["xla"]["events"] > 0  # pool gradients
    _positive(p["convolution_fraction_of_matmul"], "convolution_fraction_of_matmul")
    for name, t in r["targets"].items():
        assert isinstance(t["pass"], bool), name


def test_readable_table_and_wrn():
    out = run_cli("benchmarks.bench", "--methods=madry", "--steps=1", "--repeats=1", "--warmup=1", "--pgd_steps=1",
                  "--batch_size=8", "--attack_steps=1", "--wrn_pgd_steps=1", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "[bench" not in out.stdout
    for text in ("matmul 2048x2048", "Training, SmallCNN", "Training, WRN-10-2", "pgd1", "Targets",
                 "Where a PGD-1 call's time goes", "convolution ops:",
                 "[PASS] no_retracing"):
        assert text in out.stdout, text


@pytest.mark.parametrize("args", [["--steps=abc"], ["--methods=madry,foo", "--json"], ["--wrn_depth=12"]])
def test_bad_flags_exit_2_with_one_line(args):
    out = run_cli("benchmarks.bench", *args, timeout=120)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert out.stdout == ""


def test_retrace_detector_sees_a_retrace():
    """The tracing counter behind `retraced` is not vacuous: a new batch shape after the first batch counts."""
    import keras
    import numpy as np
    import tensorflow as tf

    from benchmarks import jobs
    from drrdn_tf import config

    s = config.settings_for("mnist", method="standard", batch_size=8)
    model = jobs.build_compiled(s, (28, 28, 1), 10)
    train_function, counter = jobs.counted_train_function(model)
    x, y = np.zeros((12, 28, 28, 1), np.float32), np.zeros((12,), np.int32)
    same = iter(tf.data.Dataset.from_tensor_slices((x, y)).batch(8, drop_remainder=True).repeat())
    train_function(same)
    counter.mark()
    train_function(same)
    assert counter.count() >= 1 and not counter.retraced()
    other = iter(tf.data.Dataset.from_tensor_slices((x, y)).batch(4, drop_remainder=True).repeat())
    train_function(other)  # batch 4 after batch 8: a new input signature
    assert counter.retraced()
    keras.backend.clear_session()


def test_report_renders_several_runs(tiny_json, tmp_path):
    """benchmarks/report.py turns run JSONs into BENCHMARKS.md: key figures per run and their median, the
    targets judged on the medians, every run's table; figures a run did not measure show as None."""
    paths = []
    for i, ratio in enumerate((0.95, 0.85, 0.91)):
        run = json.loads(json.dumps(tiny_json))
        run["ratios"]["drrdn_over_madry"] = run["ratios"]["drrdn_over_madry_cpu"] = ratio  # as if measured
        path = tmp_path / f"run{i + 1}.json"
        path.write_text(json.dumps(run))
        paths.append(str(path))
    out = subprocess.run([sys.executable, "benchmarks/report.py", *paths], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    row = next(line for line in text.splitlines() if line.startswith("| DRRDN/Madry images/s, SmallCNN"))
    assert "| 0.950 | 0.850 | 0.910 | 0.910 | PASS (target >= 0.9) |" in row
    wrn = next(line for line in text.splitlines() if line.startswith("| DRRDN/Madry images/s, WRN"))
    assert "None" in wrn and "PASS" not in wrn and "MISS" not in wrn
    assert text.count("## Run ") == 3 and "## Reading the figures" in text
