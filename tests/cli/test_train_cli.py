"""`python -m drrdn_tf.train` end to end: the offline demo, real MNIST, resume, and bad input."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
import tensorflow as tf

import drrdn_tf
from conftest import run_cli
from drrdn_tf import config, data
from drrdn_tf.nn import backbones
from drrdn_tf.attacks import PGD
from drrdn_tf.export import load_savedmodel

QUICK = ["--dataset=mnist", "--train_examples=256", "--batch_size=64", "--pgd_steps=2", "--step_size=0.1",
         "--val_examples=64", "--test_examples=128", "--verbose=2"]


def _predict(fn, x, batch=1000):
    return np.concatenate([fn(images=tf.constant(x[i:i + batch]))["logits"].numpy() for i in range(0, len(x), batch)])


def _check_demo_run(tmp_path, out):
    """The run folder, progress lines and history of a demo run started in tmp_path; returns its folder."""
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "runs" / "demo_drrdn"
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    for name in ("config.json", "history.json", "history.png", "results.json", "model.keras",
                 "savedmodel/saved_model.pb", f"checkpoint/{state['weights']}"):
        assert (run / name).exists(), name
    for metric in ("ce", "bc", "adv", "ent", "mi", "rec", "adv_acc", "dom_acc", "val_pgd_acc"):
        assert f"{metric}:" in out.stdout, metric  # every loss on the progress lines
    assert "natural accuracy" in out.stdout and "PGD-10 accuracy" in out.stdout
    history = json.loads((run / "history.json").read_text())["epochs"]
    assert [e["epoch"] for e in history] == list(range(1, len(history) + 1))
    return run


def test_demo_needs_no_data_folder(tmp_path, mnist_path):
    """The offline default's code path (the embedded slice, no data folder), cut to one epoch on 2,000 of its
    images: every artefact and loss is there, and the exported SavedModel gives the saved Keras model's logits
    on real MNIST test images. (That the default learns a robust model: the slow test below, and
    tests/methods/test_drrdn.py.)"""
    out = run_cli("drrdn_tf.train", "--epochs=1", "--train_examples=2000", "--test_examples=500",
                  cwd=str(tmp_path), env={"DRRDN_DATA_DIR": ""})
    run = _check_demo_run(tmp_path, out)
    x = np.load(mnist_path)["x_test"][:500, ..., None].astype(np.float32) / 255.0
    exported = _predict(load_savedmodel(str(run / "savedmodel")), x)
    saved = keras.models.load_model(run / "model.keras")
    np.testing.assert_allclose(exported, saved(x, training=False).numpy(), atol=1e-4)


@pytest.mark.slow
def test_demo_with_no_flags_trains_a_robust_model(tmp_path, mnist_path, demo):
    """The offline default: DRRDN on the embedded slice, all of it (6 minutes here). Its export must reach >= 90%
    natural accuracy on the real MNIST test set and be measurably more robust than a standard model trained on
    the same images."""
    run = _check_demo_run(tmp_path, run_cli("drrdn_tf.train", cwd=str(tmp_path), env={"DRRDN_DATA_DIR": ""}))

    full = np.load(mnist_path)
    x_test, y_test = full["x_test"][..., None].astype(np.float32) / 255.0, full["y_test"]
    fn = load_savedmodel(str(run / "savedmodel"))
    natural = np.mean(np.argmax(_predict(fn, x_test), -1) == y_test)
    assert natural >= 0.90, natural

    # A standard model on the same 6,000 images, then PGD-40 (eps 0.3, step 0.01) on 500 real test images.
    keras.utils.set_random_seed(0)
    std = drrdn_tf.Standard(backbones.small_cnn(), 10, head=backbones.head_for("small_cnn"))
    std.compile(keras.optimizers.SGD(0.05, momentum=0.9))
    std.fit(data.make_dataset(demo[0], demo[1], 64, shuffle=True), epochs=3, verbose=0)
    x, y = x_test[:500], y_test[:500]
    robust = {}
    for name, model_fn in (("drrdn", lambda v: fn(images=v)["logits"]), ("standard", lambda v: std(v))):
        x_adv = PGD(model_fn, eps=0.3, step_size=0.01, steps=40).perturb(x, y)
        robust[name] = float(np.mean(np.argmax(model_fn(x_adv).numpy(), -1) == y))
    assert robust["drrdn"] >= robust["standard"] + 0.3, robust


def test_real_mnist_run_resume_and_finish(tmp_path):
    out_dir = str(tmp_path / "run")
    logdir = tmp_path / "tensorboard"
    first = run_cli("drrdn_tf.train", *QUICK, "--epochs=1", f"--output_dir={out_dir}", f"--logdir={logdir}")
    assert first.returncode == 0, first.stderr[-3000:]
    # --logdir: keras.callbacks.TensorBoard's event files, for the training and the validation metrics
    for split in ("train", "validation"):
        events = [f for f in os.listdir(logdir / split) if f.startswith("events.out.tfevents")]
        assert events and os.path.getsize(logdir / split / events[0]) > 0, split
    cfg = json.loads(open(os.path.join(out_dir, "config.json")).read())
    assert cfg["settings"]["eps"] == 0.3 and cfg["settings"]["pgd_steps"] == 2  # paper default + override
    assert cfg["train_examples_used"] == 256 and cfg["data_source"].endswith("mnist.npz")
    results = json.loads(open(os.path.join(out_dir, "results.json")).read())
    assert results["num_examples"] == 128 and 0.0 <= results["accuracy"]["pgd2"] <= 1.0

    assert cfg["settings"]["formulation"] == "alternating" and cfg["settings"]["ce_adv_weight"] == 1.0
    # A folder written before the stability knobs existed (no such fields in its config.json) still resumes:
    # a missing setting counts as its default.
    for knob in config.DRRDN_KNOBS:
        del cfg["settings"][knob]
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f)

    # The same command with more epochs resumes after epoch 1 instead of starting over.
    second = run_cli("drrdn_tf.train", *QUICK, "--epochs=2", f"--output_dir={out_dir}")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming" in second.stdout and "after epoch 1/2" in second.stdout
    assert "Epoch 1/2" not in second.stdout and "Epoch 2/2" in second.stdout
    assert "Skipping variable loading" not in second.stderr   # the optimizers' states were restored too
    history = json.loads(open(os.path.join(out_dir, "history.json")).read())["epochs"]
    assert [e["epoch"] for e in history] == [1, 2]

    # A finished and tested run is not touched again; without its results.json it is tested and exported again.
    results_path = os.path.join(out_dir, "results.json")
    stamp = os.stat(results_path).st_mtime_ns
    third = run_cli("drrdn_tf.train", *QUICK, "--epochs=2", f"--output_dir={out_dir}")
    assert third.returncode == 0 and "already finished 2 epochs and was tested: nothing to do" in third.stdout
    assert "Test:" not in third.stdout and os.stat(results_path).st_mtime_ns == stamp
    os.remove(results_path)
    again = run_cli("drrdn_tf.train", *QUICK, "--epochs=2", f"--output_dir={out_dir}")
    assert again.returncode == 0 and "already finished 2 epochs: evaluating and exporting only" in again.stdout
    assert json.loads(open(results_path).read())["epochs_trained"] == 2
    # A different setting in the same folder is refused.
    fourth = run_cli("drrdn_tf.train", *QUICK, "--epochs=2", "--eps=0.1", f"--output_dir={out_dir}")
    assert fourth.returncode == 2 and "other settings" in fourth.stderr and "eps" in fourth.stderr


def _assert_one_line_error(out, *needles):
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_bad_input_is_one_line_and_status_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "mnist.npz").write_bytes(b"\x00" * 100)
    out = str(tmp_path / "o")  # + a suffix per case: the cases run concurrently
    cases = [
        (["--dataset=imagenet"], ["unknown dataset", "mnist"]),
        (["--method=unknown"], ["unknown method"]),
        (["--nonsense=1"], ["nonsense"]),
        (["--epochs=0"], ["epochs"]),
        (["--dataset=mnist", f"--data_dir={empty}", "--nodownload", f"--output_dir={out}0"],
         ["no data for 'mnist'", "--data_dir"]),
        (["--dataset=mnist", f"--data_dir={corrupt}", "--nodownload", f"--output_dir={out}1"],
         ["not an .npz file"]),
        (["--dataset=mnist", "--train_examples=10", "--batch_size=64", f"--output_dir={out}2"],
         ["fewer than one batch"]),
        (["--alignment=sideways"], ["alignment"]),
        (["--ce_adv_weight=2"], ["ce_adv_weight"]),
        (["--discriminator_steps=0"], ["discriminator_steps"]),
        (["--intra_op_threads=-1", f"--output_dir={out}3"], ["--intra_op_threads must be >= 0"]),
    ]

    def run(args):  # each case is a fresh process, most of whose time is importing TensorFlow: two at a time
        return run_cli("drrdn_tf.train", *args, env={"DRRDN_DATA_DIR": str(empty)} if "--nodownload" in args else None)

    with ThreadPoolExecutor(2) as pool:
        for (_, needles), result in zip(cases, pool.map(run, [args for args, _ in cases])):
            _assert_one_line_error(result, *needles)
