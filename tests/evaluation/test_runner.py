"""`evaluation.Runner`: fixed-size padded batches (at most two traces per attack) and per-batch seeds."""

import numpy as np
import pytest

import drrdn_tf
from drrdn_tf import evaluation

import evaluation_models
from evaluation_models import keras_fn


@pytest.fixture(scope="module")
def model():
    return evaluation_models.trained(*evaluation_models.MODELS["model"])


def test_runner_pads_batches_and_compiles_each_attack_at_most_twice(model, demo):
    fn = keras_fn(model)
    x, y = demo[2][:100], demo[3][:100]
    runner = evaluation.Runner(fn, x, y, batch_size=32, progress=False)
    attack = drrdn_tf.attacks.PGD(fn, 0.1, 0.02, 3, seed=0)
    robust = runner.run(attack)  # batches of 32, 32, 32 and 4 (padded to 4)
    assert attack.tracing_count() <= 2
    runner.run(attack, np.arange(50))  # 32 + 18 (padded to 32): no new trace
    assert attack.tracing_count() <= 2
    # the same flags as attacking the whole set at once with the same per-batch seeds
    direct = np.concatenate([
        np.argmax(fn(attack.perturb(x[i:i + 32], y[i:i + 32], seed=b)), -1) == y[i:i + 32]
        for b, i in enumerate(range(0, 100, 32))])
    np.testing.assert_array_equal(robust, direct)
