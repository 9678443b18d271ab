"""A resumed run continues its optimizers where they stopped: step count (so the learning-rate schedule) and
momentum, also when the learning rate changed form between the two runs (a constant rate is an optimizer
variable, a schedule is not; Keras alone then skips the whole optimizer state)."""

import warnings

import keras
import numpy as np
import pytest

from drrdn_tf import config, training
from drrdn_tf.methods import registry
from drrdn_tf.training.checkpoint import CheckpointError, restore_checkpoint

STEPS = 3


def _model(s, learning_rate):
    model = training.build_model(s, (28, 28, 1), 10)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
                  **registry.compile_kwargs(s, model))
    return model


def _trained_checkpoint(s, path, learning_rate):
    """A model trained STEPS steps with `learning_rate`, its weights file at `path`."""
    keras.utils.set_random_seed(0)
    model = _model(s, learning_rate)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(STEPS * 16, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, size=STEPS * 16).astype("int32")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    model.save_weights(path)
    return model


def _slots(optimizer):
    """The per-weight slots (momentum), without the iteration counter and any learning-rate variable."""
    return [v.numpy() for v in optimizer.variables if "momentum" in v.path or "velocity" in v.path]


SCHEDULE = keras.optimizers.schedules.PiecewiseConstantDecay([100], [0.01, 0.001])


@pytest.mark.parametrize("method", ["madry", "drrdn"])
@pytest.mark.parametrize("saved_lr,resumed_lr", [(0.01, SCHEDULE), (SCHEDULE, 0.01), (0.01, 0.01)],
                         ids=["constant->schedule", "schedule->constant", "same"])
def test_restore_keeps_step_count_and_momentum(tmp_path, method, saved_lr, resumed_lr):
    s = config.settings_for("mnist", method=method, pgd_steps=1, batch_size=16)
    path = str(tmp_path / "ckpt.weights.h5")
    saved = _trained_checkpoint(s, path, saved_lr)
    resumed = _model(s, resumed_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no "Skipping variable loading for optimizer" (nor any other) warning
        restore_checkpoint(resumed, path, expected_iterations=STEPS)
    assert int(resumed.optimizer.iterations.numpy()) == STEPS
    before, after = _slots(saved.optimizer), _slots(resumed.optimizer)
    assert len(before) == len(after) == len(saved.trainable_variables)
    assert any(np.abs(b).max() > 0 for b in before)          # the momentum is not trivially zero
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    for b, a in zip(saved.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_step_count_that_does_not_match_the_epochs_done_is_refused(tmp_path):
    s = config.settings_for("mnist", method="standard", batch_size=16)
    path = str(tmp_path / "ckpt.weights.h5")
    _trained_checkpoint(s, path, 0.01)
    with pytest.raises(CheckpointError, match=f"resumed at step {STEPS}, expected {2 * STEPS}"):
        restore_checkpoint(_model(s, 0.01), path, expected_iterations=2 * STEPS)


def test_the_optimizer_form_does_not_depend_on_the_number_of_epochs():
    """A resumed run may raise --epochs; the optimizer it builds must have the same variables as before."""
    short = config.settings_for("mnist", epochs=10, lr_decay_epochs=(11, 15, 18))
    long = config.settings_for("mnist", epochs=20, lr_decay_epochs=(11, 15, 18))
    names, weights = [], [keras.Variable(np.zeros(3, "float32"))]
    for s in (short, long):
        optimizer = training.make_optimizer(s, 100)
        optimizer.build(weights)
        names.append([v.name for v in optimizer.variables])
    assert names[0] == names[1]
