"""The shared pieces of the attacks: the L_inf threat model (`LinfBall`), the `Attack` base's seeds and config,
and the one `margin` the losses are built on. No trained model needed."""

import numpy as np
import pytest
import tensorflow as tf

from drrdn_tf.attacks import (APGD, FGSM, PGD, Attack, LinfBall, Square, cw_loss, dlr_loss, margin, random_start,
                              targeted_dlr_loss)
from drrdn_tf.attacks.base import SEED_MODULUS, stateless_seed


@pytest.fixture(scope="module")
def images():
    """Images in [0, 1] with many pixels at the box's faces (0 and 1), where the ball is cut by the box."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(6, 7, 5, 3)).astype(np.float32)
    x[rng.uniform(size=x.shape) < 0.2] = 0.0
    x[rng.uniform(size=x.shape) < 0.2] = 1.0
    return tf.constant(x)


def inside(x, images, eps):
    x, images = np.asarray(x), np.asarray(images)
    return np.max(np.abs(x - images)) <= eps + 1e-6 and x.min() >= 0.0 and x.max() <= 1.0


# --------------------------------------------------------------------------- LinfBall

@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_seeded_start_is_reproducible_and_inside_the_ball(images, kind):
    ball = LinfBall(images, 0.3)
    a = ball.start(kind, tf.constant([3, 4], tf.int32)).numpy()
    b = LinfBall(images, 0.3).start(kind, tf.constant([3, 4], tf.int32)).numpy()
    c = ball.start(kind, tf.constant([3, 5], tf.int32)).numpy()
    np.testing.assert_array_equal(a, b)  # same seed, same images: the same start
    assert np.any(a != c)  # another seed: another start
    assert inside(a, images, 0.3) and inside(c, images, 0.3)
    assert np.any(a != images.numpy())
    # the public random_start is this start
    np.testing.assert_array_equal(random_start(images, 0.3, kind, tf.constant([3, 4], tf.int32)).numpy(), a)


def test_uniform_start_fills_the_ball_and_none_is_the_images(images):
    x = LinfBall(images, 0.3).start("uniform", tf.constant([1, 2], tf.int32)).numpy()
    interior = (images.numpy() > 0.3) & (images.numpy() < 0.7)  # the box does not cut the ball there
    delta = (x - images.numpy())[interior]
    assert delta.min() < -0.25 and delta.max() > 0.25 and abs(delta.mean()) < 0.05
    assert inside(LinfBall(images, 0.3).start("uniform"), images, 0.3)  # fresh randomness: also inside
    np.testing.assert_array_equal(LinfBall(images, 0.3).start("none").numpy(), images.numpy())
    with pytest.raises(ValueError, match="start"):
        LinfBall(images, 0.3).start("gaussian")


def test_project_is_idempotent_and_the_two_clip_projection(images):
    ball = LinfBall(images, 0.2)
    z = images + tf.constant(np.random.default_rng(1).normal(0, 0.5, images.shape).astype(np.float32))
    p = ball.project(z).numpy()
    assert inside(p, images, 0.2)
    np.testing.assert_array_equal(ball.project(p).numpy(), p)  # idempotent
    two_clips = np.clip(np.clip(z.numpy(), images.numpy() - np.float32(0.2), images.numpy() + np.float32(0.2)), 0, 1)
    np.testing.assert_array_equal(p, two_clips)  # exactly, for images in [0, 1]
    start = ball.start("uniform", tf.constant([0, 0], tf.int32)).numpy()
    np.testing.assert_array_equal(ball.project(start).numpy(), start)  # points of the ball stay put


def test_step_and_corner(images):
    ball = LinfBall(images, 0.2)
    grad = tf.constant(np.random.default_rng(2).normal(size=images.shape).astype(np.float32))
    x = ball.step(images, grad, 0.05).numpy()
    expected = np.clip(images.numpy() + np.float32(0.05) * np.sign(grad.numpy()), 0.0, 1.0)
    np.testing.assert_array_equal(x, expected)  # one step from the centre never leaves the ball
    big = ball.step(images, grad, 10.0).numpy()
    np.testing.assert_array_equal(big, ball.project(images + 10.0 * tf.sign(grad)).numpy())
    signs = tf.sign(grad)
    corner = ball.corner(signs).numpy()
    assert inside(corner, images, 0.2)
    free = (images.numpy() >= 0.2) & (images.numpy() <= 0.8)
    np.testing.assert_allclose(np.abs(corner - images.numpy())[free], 0.2, atol=1e-6)
    np.testing.assert_array_equal(corner, big)  # the corner is where a long signed step ends


def test_eps_zero_ball_is_the_point(images):
    ball = LinfBall(images, 0.0)
    for x in (ball.start("uniform", tf.constant([1, 1], tf.int32)), ball.start("normal", tf.constant([1, 1], tf.int32)),
              ball.project(images + 0.3), ball.corner(tf.ones_like(images))):
        np.testing.assert_array_equal(x.numpy(), images.numpy())


# --------------------------------------------------------------------------- Attack

def test_call_seeds_come_from_the_constructor_seed():
    a, b = Attack(lambda v: v, 0.1, seed=3), Attack(lambda v: v, 0.1, seed=3)
    seeds = [a.call_seed() for _ in range(4)]
    assert seeds == [b.call_seed() for _ in range(4)] and len(set(seeds)) == 4
    assert all(0 <= s < SEED_MODULUS for s in seeds)
    assert a.call_seed(7) == 7 and a.call_seed(SEED_MODULUS + 5) == 5  # explicit seeds fit an int32
    assert a.next_seed() == b.call_seed()  # an explicit seed does not consume the generator


def test_configs_follow_the_base_layout():
    fn = lambda v: tf.reshape(v, [tf.shape(v)[0], -1])[:, :4]  # noqa: E731
    for attack in (PGD(fn, 0.1, 0.01, 3, seed=1), APGD(fn, 0.1, steps=3, seed=2), Square(fn, 0.1, seed=4)):
        config = attack.get_config()
        keys = list(config)
        assert keys[:3] == ["name", "norm", "eps"] and keys[-1] == "seed", keys
        assert config["norm"] == "linf" and config["eps"] == 0.1 and config["seed"] == attack.seed
        assert isinstance(attack, Attack)
    assert "seed" not in FGSM(fn, 0.1).get_config()


def test_pgd_restarts_start_where_the_ball_says(images):
    """With no steps, run r of a call seeded s returns its start LinfBall.start(kind, (s, r)); across restarts
    the first one that fools is kept (a model that always fools: restart 0), else the last one."""
    const = lambda v: tf.zeros([tf.shape(v)[0], 4]) + 0.0 * tf.reduce_sum(v, [1, 2, 3])[:, None]  # noqa: E731
    never, always = tf.zeros([images.shape[0]], tf.int32), tf.ones([images.shape[0]], tf.int32)  # argmax: 0
    for kind in ("uniform", "normal"):
        def start(r):
            return LinfBall(images, 0.3).start(kind, stateless_seed(tf.constant(11), r)).numpy()
        for keep_best in (False, True):
            attack = PGD(const, 0.3, 0.01, 0, restarts=3, start=kind, keep_best=keep_best)
            np.testing.assert_array_equal(attack.perturb(images, never, seed=11).numpy(), start(2))
            np.testing.assert_array_equal(attack.perturb(images, always, seed=11).numpy(), start(0))
        assert np.any(start(0) != start(2))


# --------------------------------------------------------------------------- margin and the losses on it

def test_margin_is_true_minus_best_wrong_logit():
    logits = tf.constant([[3.0, 1.0, 2.0, 0.0], [3.0, 1.0, 2.0, 0.0], [1.0, 5.0, 5.0, -2.0]])
    labels = tf.constant([0, 3, 1])
    np.testing.assert_allclose(margin(labels, logits), [3 - 2, 0 - 3, 5 - 5], rtol=1e-6)
    # > 0 iff correctly classified (a tie counts as wrong)
    rng = np.random.default_rng(0)
    z = tf.constant(rng.normal(size=(200, 10)).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, 200).astype(np.int32))
    np.testing.assert_array_equal(margin(y, z).numpy() > 0, np.argmax(z, -1) == y.numpy())


def test_losses_are_functions_of_the_margin():
    rng = np.random.default_rng(1)
    z = tf.constant(3 * rng.normal(size=(50, 10)).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, 50).astype(np.int32))
    m = margin(y, z).numpy()
    np.testing.assert_array_equal(cw_loss(y, z).numpy(), -np.maximum(m + np.float32(50.0), 0))
    np.testing.assert_array_equal(cw_loss(y, z, kappa=0.0).numpy(), -np.maximum(m, 0))
    top = -np.sort(-z.numpy(), -1)
    np.testing.assert_allclose(dlr_loss(y, z).numpy(), -m / (top[:, 0] - top[:, 2] + 1e-12), rtol=1e-6)
    # the targeted DLR with target = the best wrong class uses the same numerator
    best_wrong = np.argmax(np.where(np.eye(10)[y.numpy()] > 0, -np.inf, z.numpy()), -1)
    np.testing.assert_allclose(targeted_dlr_loss(y, tf.constant(best_wrong), z).numpy(),
                               -m / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12), rtol=1e-6)


def test_square_objective_is_the_margin():
    """Square keeps a candidate iff it lowers the margin; its fooled flags are margin <= 0 of the result."""
    fn = lambda v: tf.concat([tf.reshape(v, [tf.shape(v)[0], -1])[:, :3], tf.zeros([tf.shape(v)[0], 1])], -1)  # noqa
    x = tf.constant(np.random.default_rng(3).uniform(0.2, 0.8, (8, 4, 4, 1)).astype(np.float32))
    y = tf.constant(np.argmax(fn(x), -1).astype(np.int32))
    attack = Square(fn, 0.3, n_queries=20, seed=0)
    x_adv = attack.perturb(x, y)
    np.testing.assert_array_equal(attack.last_fooled, margin(y, fn(x_adv)).numpy() <= 0)
    assert attack.last_fooled.any() and np.all(attack.last_queries[attack.last_fooled] < 20)
