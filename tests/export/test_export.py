"""SavedModel export: the serving_default contract, loadable without drrdn_tf, differentiable."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import tiny_drrdn
from drrdn_tf.export import load_savedmodel

CHILD = r"""
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
fn = loaded.signatures["serving_default"]
x = tf.constant(np.load(sys.argv[2]))
with tf.GradientTape() as tape:
    tape.watch(x)
    out = fn(images=x)
    loss = tf.reduce_sum(out["logits"][:, 0])
grad = tape.gradient(loss, x)
print(json.dumps({"logits": out["logits"].numpy().tolist(), "probabilities": out["probabilities"].numpy().tolist(),
                  "grad_abs_sum": float(tf.reduce_sum(tf.abs(grad))), "imported_drrdn": "drrdn_tf" in sys.modules,
                  "inputs": sorted(fn.structured_input_signature[1]), "outputs": sorted(fn.structured_outputs)}))
"""


def test_export_loads_in_a_plain_process_with_gradients(demo, tmp_path):
    m = tiny_drrdn()
    m.compile(keras.optimizers.SGD(0.01))
    m.train_on_batch(demo[0][:16], demo[1][:16])
    path = m.export(str(tmp_path / "sm"))
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")], "temporary folder left behind"
    x = demo[2][:5]
    np.save(tmp_path / "x.npy", x)
    out = subprocess.run([sys.executable, "-c", CHILD, path, str(tmp_path / "x.npy")], capture_output=True,
                         text=True, timeout=300, cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=""))
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["imported_drrdn"] is False
    assert res["inputs"] == ["images"] and res["outputs"] == ["logits", "probabilities"]
    np.testing.assert_allclose(res["logits"], m.predict(x, verbose=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.sum(res["probabilities"], -1), 1.0, atol=1e-5)
    assert res["grad_abs_sum"] > 0


def test_export_replaces_an_old_export_and_load_checks_the_contract(demo, tmp_path):
    m = tiny_drrdn()
    p = m.export(str(tmp_path / "sm"))
    p2 = m.export(str(tmp_path / "sm"))  # overwrite in place
    assert p == p2 and os.path.exists(os.path.join(p, "saved_model.pb"))
    fn = load_savedmodel(p)
    assert fn(images=demo[2][:2])["logits"].shape == (2, 10)
    with pytest.raises(ValueError, match="saved_model.pb"):
        load_savedmodel(str(tmp_path))
