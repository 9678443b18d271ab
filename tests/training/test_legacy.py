"""Files written by earlier versions of the package still work (tests/fixtures/make_legacy.py wrote them before
the layout redesign): the `.keras` file loads and predicts as it did, and the run folder resumes."""

import json
import os
import shutil

import numpy as np

from conftest import REPO, run_cli

LEGACY = os.path.join(REPO, "tests", "fixtures", "legacy")


def test_legacy_keras_file_loads_and_predicts_as_before():
    import keras
    from drrdn_tf import data
    expected = json.load(open(os.path.join(LEGACY, "expected.json")))
    model = keras.saving.load_model(os.path.join(LEGACY, "model.keras"))
    images = data.to_float(data.load_raw("demo").test.images[:4])
    np.testing.assert_allclose(model(images, training=False).numpy(), expected["logits"], rtol=1e-4, atol=1e-4)


def test_legacy_run_folder_resumes(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(os.path.join(LEGACY, "run"), run)
    before = json.load(open(run / "history.json"))["epochs"]
    flags = json.load(open(os.path.join(LEGACY, "expected.json")))["flags"]
    proc = run_cli("drrdn_tf.train", *flags, "--epochs=2", f"--output_dir={run}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Resuming" in proc.stdout and "after epoch 1/2" in proc.stdout, proc.stdout[-2000:]
    # Its optimizer had a constant learning rate, today's has a schedule: the state is restored all the same
    # (training.checkpoint; the run would stop with an error if the step count did not continue).
    assert "Skipping variable loading" not in proc.stderr
    after = json.load(open(run / "history.json"))["epochs"]
    assert [e["epoch"] for e in after] == [1, 2]
    assert after[0] == before[0]  # the first epoch is the fixture's, not retrained
    assert os.path.exists(run / "savedmodel") and os.path.exists(run / "model.keras")
