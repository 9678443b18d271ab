"""Shared test setup: real data from ../shared/data (CI sets DRRDN_DATA_DIR), small helpers."""

import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DRRDN_DATA_DIR", os.path.join(os.path.dirname(REPO), "shared", "data"))
# Absolute, so that a subprocess run from another folder (a test's temporary one) finds the same data (CI sets
# DRRDN_DATA_DIR=../shared/data relative to the repository root).
os.environ["DRRDN_DATA_DIR"] = os.path.abspath(os.environ["DRRDN_DATA_DIR"])
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")



def layer_outputs_and_grads(layer, x, weights):
    """A compiled pass of `layer` on x: [y, d<y, weights>/dx, d<y, weights>/d(each trainable variable)], and
    the tf.function itself (to inspect its graph)."""
    import tensorflow as tf

    @tf.function
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * weights)
        return [y] + tape.gradient(loss, [x] + layer.trainable_variables)
    return [t.numpy() for t in run(x)], run


def run_cli(module, *args, cwd=None, timeout=900, env=None):
    """Runs `python -m <module> args...` and returns the CompletedProcess (text output)."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def mnist_path():
    path = os.path.join(os.environ["DRRDN_DATA_DIR"], "mnist.npz")
    if not os.path.exists(path):
        pytest.fail(f"real MNIST not found at {path}: set DRRDN_DATA_DIR to the folder holding mnist.npz")
    return path


@pytest.fixture(scope="session")
def demo():
    """The embedded demo set as float32 arrays: (x_train, y_train, x_test, y_test)."""
    from drrdn_tf import data
    raw = data.load_raw("demo")
    return (data.to_float(raw.train.images), raw.train.labels, data.to_float(raw.test.images), raw.test.labels)


def tiny_drrdn(**kwargs):
    """A small DRRDN on 28x28x1 images (SmallCNN encoder) with cheap attack settings and every term on (the
    paper's weights, config.DRRDN_AS_PRINTED), so that tests see every loss; kwargs override."""
    import drrdn_tf
    from drrdn_tf import config
    from drrdn_tf.nn import backbones
    defaults = dict(eps=0.3, step_size=0.05, pgd_steps=3, head=backbones.head_for("small_cnn"),
                    **config.DRRDN_AS_PRINTED)
    defaults.update(kwargs)
    return drrdn_tf.DRRDN(backbones.small_cnn((28, 28, 1)), 10, **defaults)


def accuracy(logits, labels):
    return float(np.mean(np.argmax(np.asarray(logits), -1) == np.asarray(labels)))
