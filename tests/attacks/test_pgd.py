"""The one PGD (Eq. 2): invariants, and that it actually attacks a trained model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import drrdn_tf
from drrdn_tf import data
from drrdn_tf.nn import backbones
from drrdn_tf.attacks import PGD, ce_loss, pgd


@pytest.fixture(scope="module")
def trained(demo):
    """A Standard SmallCNN trained on 4,096 real MNIST images (3 short epochs)."""
    keras.utils.set_random_seed(0)
    m = drrdn_tf.Standard(backbones.small_cnn(), 10, head=backbones.head_for("small_cnn"))
    m.compile(keras.optimizers.SGD(0.05, momentum=0.9))
    m.fit(data.make_dataset(demo[0][:4096], demo[1][:4096], 64, shuffle=True), epochs=3, verbose=0)
    return m


@pytest.mark.parametrize("eps,steps,start", [(0.3, 10, "uniform"), (0.1, 5, "none"), (0.05, 3, "normal")])
def test_stays_in_the_eps_ball_and_the_image_box(trained, demo, eps, steps, start):
    x, y = tf.constant(demo[2][:64]), tf.constant(demo[3][:64])
    x_adv = pgd(lambda v: trained(v, training=False), x, y, eps, 0.05, steps, start=start).numpy()
    assert np.max(np.abs(x_adv - x.numpy())) <= eps + 1e-6
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0


def test_raises_the_loss_and_fools_a_standard_model(trained, demo):
    x, y = tf.constant(demo[2][:200]), tf.constant(demo[3][:200])
    model_fn = lambda v: trained(v, training=False)  # noqa: E731
    x_adv = PGD(model_fn, eps=0.3, step_size=0.01, steps=40).perturb(x, y)
    clean_loss, adv_loss = ce_loss(y, model_fn(x)).numpy(), ce_loss(y, model_fn(x_adv)).numpy()
    assert np.mean(adv_loss) > np.mean(clean_loss)
    assert np.mean(adv_loss >= clean_loss - 1e-4) > 0.99  # per example: the loss does not go down
    clean_acc = np.mean(np.argmax(model_fn(x), -1) == y.numpy())
    adv_acc = np.mean(np.argmax(model_fn(x_adv), -1) == y.numpy())
    assert clean_acc > 0.9 and adv_acc < 0.05, (clean_acc, adv_acc)


def test_eps_zero_is_the_identity(trained, demo):
    x, y = tf.constant(demo[2][:16]), tf.constant(demo[3][:16])
    x_adv = pgd(lambda v: trained(v, training=False), x, y, 0.0, 0.05, 5)
    np.testing.assert_array_equal(x_adv.numpy(), x.numpy())


def test_compiled_attack_does_not_retrace(trained, demo):
    attack = PGD(lambda v: trained(v, training=False), eps=0.1, step_size=0.05, steps=2)
    for i in range(3):
        attack.perturb(demo[2][32 * i:32 * (i + 1)], demo[3][32 * i:32 * (i + 1)])
    assert attack.tracing_count() == 1


def test_bad_settings_are_value_errors(trained):
    with pytest.raises(ValueError, match="restarts"):
        PGD(trained, eps=0.1, step_size=0.01, steps=1, restarts=0)
    with pytest.raises(ValueError, match="loss"):
        PGD(trained, eps=0.1, step_size=0.01, steps=1, loss="nope")
