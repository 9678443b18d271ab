"""Resuming an interrupted evaluation: the finished columns come from the progress file, the result is the
uninterrupted evaluation's, and a file of another evaluation (or of a model that changed) is not used."""

import json
import os

import numpy as np
import pytest

from drrdn_tf import evaluation
from drrdn_tf.evaluation import progress, runner

from evaluation_models import keras_fn, model, surrogate, test_slice  # noqa: F401 (fixtures)

QUIET = dict(progress=False, batch_size=32)


def interrupted_after(monkeypatch, runs: int):
    """Makes the (runs + 1)-th attack run raise KeyboardInterrupt, as a killed process would stop there;
    returns the list of attack names run (for the test to count)."""
    calls = []
    original = runner.Runner.run

    def run(self, attack, *args, **kwargs):
        if len(calls) == runs:
            raise KeyboardInterrupt
        calls.append(getattr(attack, "name", type(attack).__name__))
        return original(self, attack, *args, **kwargs)
    monkeypatch.setattr(runner.Runner, "run", run)
    return calls


def comparable(r: dict) -> dict:
    """The results without timings, as written to JSON (what a resumed evaluation must reproduce)."""
    return json.loads(json.dumps({k: v for k, v in r.items() if k != "seconds"}))


@pytest.mark.parametrize("preset, kw, done_before_stop", [
    ("quick", dict(masking=False), 2),              # independent columns (the paper preset runs them alike)
    ("autoattack", dict(eps=0.08, masking=False,
                        autoattack_budget={"apgd_steps": 10, "n_target_classes": 2, "square_queries": 40}), 2),
])
def test_an_interrupted_evaluation_resumes_after_its_last_finished_column(model, surrogate, test_slice, tmp_path,
                                                                         monkeypatch, preset, kw, done_before_stop):
    x, y = test_slice
    fn, surrogates = keras_fn(model), {"s": keras_fn(surrogate)}
    whole = evaluation.evaluate(fn, x, y, "mnist", preset=preset, surrogates=surrogates, log=lambda m: None,
                                **QUIET, **kw)
    path = str(tmp_path / "eval.json.progress.json")
    with monkeypatch.context() as m:
        interrupted_after(m, done_before_stop)
        with pytest.raises(KeyboardInterrupt):
            evaluation.evaluate(fn, x, y, "mnist", preset=preset, surrogates=surrogates, progress_file=path,
                                log=lambda m: None, **QUIET, **kw)
    saved = json.load(open(path))["columns"]
    assert set(saved) == {"natural"} | {c["key"] for c in whole["columns"][1:1 + done_before_stop]}

    lines = []
    calls = interrupted_after(monkeypatch, 10 ** 6)   # counts the attacks the resumed run still runs
    resumed = evaluation.evaluate(fn, x, y, "mnist", preset=preset, surrogates=surrogates, progress_file=path,
                                  log=lines.append, **QUIET, **kw)
    attacks_in_whole = len([c for c in whole["columns"] if c["key"] not in ("natural", "autoattack")])
    assert len(calls) == attacks_in_whole - done_before_stop
    assert any(line.startswith(f"resuming from {path}") for line in lines)
    assert comparable(resumed) == comparable(whole)
    assert not os.path.exists(path)                  # removed once complete


def test_add_transfer_resumes_too(model, surrogate, test_slice, tmp_path, monkeypatch):
    x, y = test_slice
    fn = keras_fn(model)
    base = evaluation.evaluate(fn, x, y, "mnist", preset="quick", masking=False, log=lambda m: None, **QUIET)
    surrogates = {"s": keras_fn(surrogate), "t": keras_fn(model)}
    whole = evaluation.add_transfer(base, fn, x, y, surrogates, log=lambda m: None, **QUIET)
    path = str(tmp_path / "p.json")
    with monkeypatch.context() as m:
        interrupted_after(m, 1)
        with pytest.raises(KeyboardInterrupt):
            evaluation.add_transfer(base, fn, x, y, surrogates, progress_file=path, log=lambda m: None, **QUIET)
    kept = open(path).read()
    with monkeypatch.context() as m:                 # a surrogate that changed since: its column is redone
        calls, lines = interrupted_after(m, 10 ** 6), []
        changed = {**surrogates, "s": lambda images: 1.01 * surrogates["s"](images)}
        evaluation.add_transfer(base, fn, x, y, changed, progress_file=path, log=lines.append, **QUIET)
        assert len(calls) == 2 and any("computed by another model" in line for line in lines)
    open(path, "w").write(kept)
    calls = interrupted_after(monkeypatch, 10 ** 6)
    resumed = evaluation.add_transfer(base, fn, x, y, surrogates, progress_file=path, log=lambda m: None, **QUIET)
    assert len(calls) == 1 and comparable(resumed) == comparable(whole) and not os.path.exists(path)


def test_progress_of_another_evaluation_or_a_changed_model_is_not_used(model, surrogate, test_slice, tmp_path,
                                                                         monkeypatch):
    x, y = test_slice
    path = str(tmp_path / "p.json")
    kw = dict(preset="quick", masking=False, progress_file=path, **QUIET)
    with monkeypatch.context() as m:
        interrupted_after(m, 1)
        with pytest.raises(KeyboardInterrupt):
            evaluation.evaluate(keras_fn(model), x, y, "mnist", log=lambda m: None, **kw)
    kept = open(path).read()

    def rerun(fn, seed=0, images=x):
        lines = []
        calls = interrupted_after(monkeypatch, 10 ** 6)
        evaluation.evaluate(fn, images, y, "mnist", seed=seed, log=lines.append, **kw)
        open(path, "w").write(kept)                  # the interrupted run's file again, for the next case
        monkeypatch.undo()
        return len(calls), " ".join(lines)

    n, said = rerun(keras_fn(model), seed=1)            # other settings
    assert n == 2 and "progress of a different evaluation" in said
    n, said = rerun(keras_fn(model), images=np.flip(x, axis=2).copy())   # other images
    assert n == 2 and "progress of a different evaluation" in said
    n, said = rerun(keras_fn(surrogate))             # same settings, another model: natural flags differ
    assert n == 2 and "computed by another model" in said
    n, said = rerun(lambda images: 1.01 * keras_fn(model)(images))   # the same predictions, other logits
    assert n == 2 and "computed by another model" in said
    open(path, "w").write("{not json")
    n, said = rerun(keras_fn(model))
    assert n == 2 and "unreadable" in said
    n, said = rerun(keras_fn(model))                 # the interrupted run's own file: resumed
    assert n == 1 and "resuming from" in said


def test_flags_round_trip_exactly():
    flags = np.random.default_rng(0).random(1001) < 0.5
    assert np.array_equal(progress._flags(progress._bits(flags)), flags)
    assert progress.fingerprint(np.zeros([2, 3]), np.zeros(2)) != progress.fingerprint(np.zeros([2, 3]), np.ones(2))
