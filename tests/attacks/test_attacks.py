"""The attack suite on real MNIST (the embedded demo slice) with small trained models: the invariants every
attack must keep, the worst-case bookkeeping, APGD's and Square's schedules, and that our PGD is at least as
strong as a plain reference loop written here."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import drrdn_tf
from drrdn_tf import data
from drrdn_tf.nn import backbones
from drrdn_tf.attacks import (APGD, APGDT, FGSM, PGD, Square, Transfer, apgd_ce, ce_loss, checkpoints, dlr_loss,
                              pgd_loop_tracked, targeted_dlr_loss)
from drrdn_tf.attacks.square import stripes_start
from drrdn_tf.export import load_savedmodel

N = 100  # test examples per check


def _train(demo, n, epochs, seed):
    keras.utils.set_random_seed(seed)
    m = drrdn_tf.Standard(backbones.small_cnn(), 10, head=backbones.head_for("small_cnn"))
    m.compile(keras.optimizers.Adam(1e-3))
    m.fit(data.make_dataset(demo[0][:n], demo[1][:n], 32, shuffle=True, seed=seed), epochs=epochs, verbose=0)
    return m


@pytest.fixture(scope="module")
def model(demo):
    """A standard (non-robust) SmallCNN: 2 epochs on 4,000 real MNIST images (~95% test accuracy)."""
    return _train(demo, 4000, 2, seed=0)


@pytest.fixture(scope="module")
def fn(model):
    return lambda x: model(x, training=False)


@pytest.fixture(scope="module")
def surrogate_fn(demo):
    m = _train(demo, 1000, 1, seed=1)
    return lambda x: m(x, training=False)


@pytest.fixture(scope="module")
def xy(demo):
    return tf.constant(demo[2][:N]), tf.constant(demo[3][:N])


def correct(fn, x, y):
    return np.argmax(np.asarray(fn(x)), -1) == np.asarray(y)


ATTACKS = {
    "fgsm": lambda fn, sur, eps: FGSM(fn, eps),
    "fgsm_x10_step": lambda fn, sur, eps: FGSM(fn, eps, step_size=0.1),
    "pgd_ce": lambda fn, sur, eps: PGD(fn, eps, eps / 4, 10, seed=0),
    "pgd_cw_restarts": lambda fn, sur, eps: PGD(fn, eps, eps / 4, 5, restarts=2, loss="cw", seed=0),
    "apgd_ce": lambda fn, sur, eps: apgd_ce(fn, eps, steps=10, seed=0),
    "apgd_dlr": lambda fn, sur, eps: APGD(fn, eps, steps=10, loss="dlr", seed=0),
    "apgd_t": lambda fn, sur, eps: APGDT(fn, eps, steps=10, n_target_classes=2, seed=0),
    "square": lambda fn, sur, eps: Square(fn, eps, n_queries=50, seed=0),
    "transfer": lambda fn, sur, eps: Transfer(sur, eps, eps / 4, 10, seed=0),
}


# --------------------------------------------------------------------------- invariants of every attack

@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_stays_in_the_eps_ball_and_the_image_box(name, fn, surrogate_fn, xy):
    x, y = xy
    eps = 0.3
    x_adv = ATTACKS[name](fn, surrogate_fn, eps).perturb(x, y)
    assert x_adv.shape == x.shape and x_adv.dtype == tf.float32
    x_adv = x_adv.numpy()
    assert np.max(np.abs(x_adv - x.numpy())) <= eps + 1e-6
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert np.any(x_adv != x.numpy()), "the attack did nothing"


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_eps_zero_gives_natural_accuracy(name, fn, surrogate_fn, xy):
    x, y = xy
    x_adv = ATTACKS[name](fn, surrogate_fn, 0.0).perturb(x, y)
    np.testing.assert_array_equal(x_adv.numpy(), x.numpy())
    assert np.mean(correct(fn, x_adv, y)) == np.mean(correct(fn, x, y))


def test_a_standard_model_falls_to_about_zero(fn, xy):
    x, y = xy
    natural = np.mean(correct(fn, x, y))
    assert natural > 0.9, natural
    results = {
        "pgd40": PGD(fn, 0.3, 0.01, 40, seed=0),
        "apgd_ce": apgd_ce(fn, 0.3, steps=20, seed=0),
        "apgd_t": APGDT(fn, 0.3, steps=20, n_target_classes=3, seed=0),
        "square": Square(fn, 0.3, n_queries=300, seed=0),
    }
    acc = {k: float(np.mean(correct(fn, a.perturb(x, y), y))) for k, a in results.items()}
    assert acc["pgd40"] <= 0.03 and acc["apgd_ce"] <= 0.03 and acc["apgd_t"] <= 0.03, acc
    assert acc["square"] <= 0.05, acc


# --------------------------------------------------------------------------- per-example worst case

def fooled(attack, fn, x, y, **kwargs):
    return ~correct(fn, attack.perturb(x, y, **kwargs), y)


def test_more_pgd_steps_or_restarts_never_fool_fewer_examples(fn, xy):
    """Same seed, same starts: the longer run sees every iterate of the shorter one (eps 0.1: mid-range)."""
    x, y = xy
    for loss in ("ce", "cw"):
        short = fooled(PGD(fn, 0.1, 0.01, 10, loss=loss, seed=3), fn, x, y)
        long = fooled(PGD(fn, 0.1, 0.01, 30, loss=loss, seed=3), fn, x, y)
        assert 0.05 < short.mean() < 0.95, short.mean()  # a non-trivial case
        assert np.all(long[short]), f"{loss}: examples fooled by 10 steps survive 30"
        more = fooled(PGD(fn, 0.1, 0.01, 10, restarts=3, loss=loss, seed=3), fn, x, y)
        assert np.all(more[short]), f"{loss}: examples fooled by 1 restart survive 3"


def bump_model(v):
    """A 1-pixel toy: class 1 wins only on the band 0.5 < x < 0.6; class 2 never wins but its logit grows with x."""
    a = v[:, 0, 0, :1]
    return tf.concat([tf.zeros_like(a), 1.0 - 400.0 * (a - 0.55) ** 2, -100.0 + a], -1)


def test_pgd_keeps_the_best_iterate():
    """Climbing x in steps of 0.07 from 0.3 crosses the band (0.51, 0.58 are misclassified) and leaves it (0.8):
    the plain loop ends correctly classified, the tracked PGD returns the best misclassified iterate."""
    x, y = tf.fill([1, 1, 1, 1], 0.3), tf.constant([0])
    climb = lambda labels, logits: logits[:, 2]  # noqa: E731  gradient sign +1: x goes up every step
    kwargs = dict(eps=0.5, step_size=0.07, steps=10, start="none", loss=climb)
    last = PGD(bump_model, keep_best=False, **kwargs).perturb(x, y).numpy()
    best = PGD(bump_model, **kwargs).perturb(x, y).numpy()
    np.testing.assert_allclose(last, 0.8, atol=1e-6)
    assert np.argmax(bump_model(last), -1)[0] == 0
    np.testing.assert_allclose(best, 0.58, atol=1e-6)  # the misclassified iterate with the highest loss
    assert np.argmax(bump_model(best), -1)[0] == 1


def threshold_model(v):
    """No gradient reaches x (attacks become random search over their starts): class 1 wins iff x < 0.45."""
    a = tf.stop_gradient(v)[:, 0, 0, :1]
    return tf.concat([tf.zeros_like(a), 10.0 * (0.45 - a), tf.fill(tf.shape(a), -50.0),
                      tf.fill(tf.shape(a), -50.0)], -1)


@pytest.mark.parametrize("make", [lambda r: PGD(threshold_model, 0.1, 0.01, 2, restarts=r, seed=0),
                                  lambda r: apgd_ce(threshold_model, 0.1, steps=3, restarts=r, seed=0)],
                         ids=["pgd", "apgd"])
def test_restarts_keep_the_first_fooling_one_per_example(make):
    """From x = 0.5 with eps 0.1 a random start fools with probability 1/4: 1 - (3/4)^3 = 58% for 3 restarts,
    a superset of the first restart's examples, and every returned x' of a fooled example is misclassified."""
    x, y = tf.fill([1000, 1, 1, 1], 0.5), tf.zeros([1000], tf.int32)
    one = np.argmax(threshold_model(make(1).perturb(x, y, seed=7)), -1) != 0
    three = np.argmax(threshold_model(make(3).perturb(x, y, seed=7)), -1) != 0
    assert 0.18 < one.mean() < 0.32 and 0.5 < three.mean() < 0.66, (one.mean(), three.mean())
    assert np.all(three[one])


def test_more_apgd_restarts_or_targets_never_fool_fewer_examples(fn, xy):
    x, y = xy
    one = fooled(apgd_ce(fn, 0.08, steps=10, restarts=1, seed=5), fn, x, y, seed=11)
    three = fooled(apgd_ce(fn, 0.08, steps=10, restarts=3, seed=5), fn, x, y, seed=11)
    assert 0.02 < one.mean() < 0.98, one.mean()
    assert np.all(three[one])
    t1 = fooled(APGDT(fn, 0.08, steps=10, n_target_classes=1), fn, x, y, seed=11)
    t3 = fooled(APGDT(fn, 0.08, steps=10, n_target_classes=3), fn, x, y, seed=11)
    assert np.all(t3[t1])


def test_more_apgd_steps_do_not_raise_accuracy(fn, xy):
    """The checkpoints scale with the budget, so this is statistical: at most 2 examples of slack."""
    x, y = xy
    acc10 = correct(fn, apgd_ce(fn, 0.08, steps=10, seed=0).perturb(x, y, seed=1), y).mean()
    acc50 = correct(fn, apgd_ce(fn, 0.08, steps=50, seed=0).perturb(x, y, seed=1), y).mean()
    assert acc50 <= acc10 + 0.02, (acc10, acc50)


def test_more_square_queries_never_fool_fewer_examples(fn, xy):
    x, y = xy
    short = Square(fn, 0.1, n_queries=40, seed=0, rescale_schedule=False)
    long = Square(fn, 0.1, n_queries=150, seed=0, rescale_schedule=False)
    f_short, f_long = fooled(short, fn, x, y, seed=2), fooled(long, fn, x, y, seed=2)
    assert 0.02 < f_short.mean() < 0.98
    assert np.all(f_long[f_short])
    # With the paper's rescaled schedule the runs differ: statistically not weaker.
    acc_short = correct(fn, Square(fn, 0.1, n_queries=40, seed=0).perturb(x, y), y).mean()
    acc_long = correct(fn, Square(fn, 0.1, n_queries=150, seed=0).perturb(x, y), y).mean()
    assert acc_long <= acc_short + 0.02


# --------------------------------------------------------------------------- strength

def reference_pgd(fn, x, y, eps, step, steps, start):
    """A plain eager PGD loop, written independently of the package."""
    x = np.asarray(x)
    adv = np.clip(x + start, 0.0, 1.0)
    for _ in range(steps):
        v = tf.constant(adv)
        with tf.GradientTape() as tape:
            tape.watch(v)
            loss = tf.reduce_sum(tf.keras.losses.sparse_categorical_crossentropy(y, fn(v), from_logits=True))
        g = tape.gradient(loss, v).numpy()
        adv = np.clip(np.clip(adv + step * np.sign(g), x - eps, x + eps), 0.0, 1.0)
    return adv


def test_our_pgd_is_at_least_as_strong_as_a_reference_loop(fn, xy):
    x, y = xy
    eps, step, steps = 0.1, 0.01, 20
    ok = correct(fn, x, y)
    # Same (zero) start: our PGD must fool every example the reference fools (one example of slack for
    # graph vs eager float differences).
    ref = ~correct(fn, reference_pgd(fn, x, y, eps, step, steps, 0.0), y) & ok
    ours = ~correct(fn, PGD(fn, eps, step, steps, start="none").perturb(x, y), y) & ok
    assert 0.05 < ref.mean() < 0.9, ref.mean()
    assert np.sum(ref & ~ours) <= 1, (ref.mean(), ours.mean())
    # From the same random start (the loop PGD runs after drawing it), with the per-example best iterate kept:
    # again every example the reference fools, give or take one.
    start = np.random.default_rng(0).uniform(-eps, eps, x.shape).astype(np.float32)
    ref_r = ~correct(fn, reference_pgd(fn, x, y, eps, step, steps, start), y) & ok
    x0 = tf.constant(np.clip(np.asarray(x) + start, 0.0, 1.0))
    ours_r, _ = pgd_loop_tracked(fn, x, y, eps, step, steps, x0, ce_loss, y)
    ours_r = ~correct(fn, ours_r, y) & ok
    assert 0.05 < ref_r.mean(), ref_r.mean()
    assert np.sum(ref_r & ~ours_r) <= 1, (ref_r.mean(), ours_r.mean())


def test_apgd_is_at_least_as_strong_as_pgd_with_the_same_budget(fn, xy):
    x, y = xy
    acc_pgd = correct(fn, PGD(fn, 0.1, 0.01, 40, seed=0).perturb(x, y), y).mean()
    acc_apgd = correct(fn, apgd_ce(fn, 0.1, steps=40, seed=0).perturb(x, y), y).mean()
    assert acc_apgd <= acc_pgd + 0.02, (acc_apgd, acc_pgd)


# --------------------------------------------------------------------------- APGD's schedule and losses

def test_apgd_checkpoints_follow_the_paper():
    # p: 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (then 1.05 > 1)
    assert checkpoints(100) == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    assert checkpoints(10) == [0, 3, 5, 6, 7, 8, 9, 10]  # ceil(2.2), ceil(4.1), ceil(5.7), 7, 8, ceil(8.7), ...
    assert checkpoints(1000)[:3] == [0, 220, 410]


def test_apgd_halves_the_step_at_every_checkpoint_when_the_loss_never_rises(xy):
    """A model whose loss cannot move: no successful step, so the step halves at each of the 8 checkpoints
    of a 100-step run: 2 eps / 2^8."""
    x, y = xy
    const = lambda v: tf.zeros([tf.shape(v)[0], 10]) + 0.0 * tf.reduce_sum(v, [1, 2, 3])[:, None]  # noqa: E731
    labels = tf.zeros_like(y)  # argmax of constant logits is class 0: never fooled
    attack = APGD(const, 0.2, steps=100, seed=0)
    attack.perturb(x[:4], labels[:4])
    np.testing.assert_allclose(attack.last_step_size, 2 * 0.2 / 2 ** 8, rtol=1e-6)
    attack = APGD(const, 0.2, steps=4, seed=0)  # checkpoints 0, 1, 2, 3, 4 -> 4 halvings
    attack.perturb(x[:4], labels[:4])
    assert checkpoints(4) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(attack.last_step_size, 2 * 0.2 / 2 ** 4, rtol=1e-6)


def test_dlr_losses_match_the_formulas():
    logits = tf.constant([[3.0, 1.0, 2.0, 0.0]])
    # sorted: 3, 2, 1, 0
    np.testing.assert_allclose(dlr_loss(tf.constant([0]), logits), [-(3 - 2) / (3 - 1)], rtol=1e-6)
    np.testing.assert_allclose(dlr_loss(tf.constant([1]), logits), [-(1 - 3) / (3 - 1)], rtol=1e-6)
    np.testing.assert_allclose(targeted_dlr_loss(tf.constant([0]), tf.constant([2]), logits),
                               [-(3 - 2) / (3 - (1 + 0) / 2)], rtol=1e-6)


def test_apgd_t_targets_the_classes_ranked_two_and_below(fn, xy):
    attack = APGDT(fn, 0.1, steps=5, n_target_classes=9)
    assert [rank for rank, _ in attack._runs(10)] == list(range(2, 11))
    assert [rank for rank, _ in APGDT(fn, 0.1, n_target_classes=20)._runs(10)] == list(range(2, 11))


# --------------------------------------------------------------------------- Square's pieces

def square_p(iteration, n_queries, rescale=True):
    """The p of `iteration` as Square's own loop computes it (p_init 0.8)."""
    attack = Square(lambda v: v, 0.1, n_queries=n_queries, p_init=0.8, rescale_schedule=rescale)
    return float(attack._p(tf.constant(iteration)))


def square_side(p, height, width):
    return int(Square._side(tf.constant(p, tf.float32), height, width))


def test_square_schedule_window_and_stripes():
    p_init = np.float32(0.8)  # the loop computes in float32
    assert square_p(5, 10000) == p_init
    assert square_p(11, 10000) == p_init / 2
    assert square_p(100, 1000) == p_init / 2 ** 4  # rescaled: iteration 1000 of 10,000
    assert square_p(100, 1000, rescale=False) == p_init / 2 ** 2
    assert square_side(0.8, 28, 28) == 25 and square_side(1e-6, 28, 28) == 1 and square_side(1.0, 28, 28) == 28
    x = tf.fill([2, 6, 5, 3], 0.5)
    s = stripes_start(x, 0.1, tf.constant([1, 2])).numpy()
    np.testing.assert_allclose(np.abs(s - 0.5), 0.1, atol=1e-6)
    assert np.all(s == s[:, :1])  # the same on every row: vertical stripes


def test_square_only_still_robust_examples_consume_queries(fn, xy):
    x, y = xy
    attack = Square(fn, 0.2, n_queries=60, seed=0)
    x_adv = attack.perturb(x, y)
    q, f = attack.last_queries, attack.last_fooled
    clean_wrong = ~correct(fn, x, y)
    adv_wrong = ~correct(fn, x_adv, y)
    np.testing.assert_array_equal(f, adv_wrong)
    assert np.all(q[clean_wrong] == 0)
    newly = adv_wrong & ~clean_wrong
    assert newly.any() and np.all(q[newly] >= 1) and np.all(q[newly] < 60)
    assert (~adv_wrong).any() and np.all(q[~adv_wrong] == 60)


# --------------------------------------------------------------------------- compilation, wrapping, settings

def test_attacks_compile_once_for_many_batches(fn, demo):
    pgd_attack = PGD(fn, 0.1, 0.05, 2, seed=0)
    apgd = apgd_ce(fn, 0.1, steps=3, seed=0)
    square = Square(fn, 0.1, n_queries=5, seed=0)
    for i in range(3):
        xb, yb = demo[2][32 * i:32 * (i + 1)], demo[3][32 * i:32 * (i + 1)]
        for attack in (pgd_attack, apgd, square):
            attack.perturb(xb, yb)
    assert pgd_attack.tracing_count() == 1
    assert apgd._run.experimental_get_tracing_count() == 1
    assert square._run.experimental_get_tracing_count() == 1


def test_attacks_run_on_a_loaded_savedmodel_signature(model, fn, xy, tmp_path):
    x, y = xy
    sig = load_savedmodel(model.export(str(tmp_path / "sm")))
    sm_fn = lambda v: sig(images=v)["logits"]  # noqa: E731
    for eps, make in ((0.12, lambda f: PGD(f, 0.12, 0.01, 20, seed=0)),
                      (0.12, lambda f: apgd_ce(f, 0.12, steps=20, seed=0)),
                      (0.3, lambda f: Square(f, 0.3, n_queries=100, seed=0))):
        x_adv = make(sm_fn).perturb(x, y).numpy()
        assert np.max(np.abs(x_adv - x.numpy())) <= eps + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
        acc_sm = correct(sm_fn, x_adv, y).mean()
        acc_keras = correct(fn, make(fn).perturb(x, y), y).mean()
        assert acc_sm < correct(fn, x, y).mean() - 0.05  # it attacks
        assert abs(acc_sm - acc_keras) <= 0.03, (acc_sm, acc_keras)


def test_last_iterate_pgd_on_a_savedmodel_batch_of_one(model, xy, tmp_path):
    """The loop of PGD without keep_best (and of Transfer) keeps x's static shape: a loaded SavedModel's logits
    have an unknown batch size, which made a batch of one (the evaluation's padded remainder) fail to trace."""
    x, y = xy
    sig = load_savedmodel(model.export(str(tmp_path / "sm")))
    sm_fn = lambda v: sig(images=v)["logits"]  # noqa: E731
    for attack in (PGD(sm_fn, 0.1, 0.01, 3, seed=0, keep_best=False), Transfer(sm_fn, 0.1, 0.01, 3, seed=0)):
        x_adv = attack.perturb(x[:1], y[:1]).numpy()
        assert x_adv.shape == (1,) + tuple(x.shape[1:]) and np.max(np.abs(x_adv - x[:1].numpy())) <= 0.1 + 1e-6


def test_transfer_from_the_model_itself_is_the_plain_white_box_loop(fn, xy):
    x, y = xy
    a = Transfer(fn, 0.1, 0.01, 10, seed=0).perturb(x, y, seed=4).numpy()
    b = PGD(fn, 0.1, 0.01, 10, seed=0, keep_best=False).perturb(x, y, seed=4).numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_settings_are_value_errors(fn):
    with pytest.raises(ValueError, match="APGD"):
        APGD(fn, 0.1, steps=0)
    with pytest.raises(ValueError, match="loss"):
        APGD(fn, 0.1, loss="nope")
    with pytest.raises(ValueError, match="n_target_classes"):
        APGDT(fn, 0.1, n_target_classes=0)
    with pytest.raises(ValueError, match="Square"):
        Square(fn, 0.1, n_queries=0)
    with pytest.raises(ValueError, match="Square"):
        Square(fn, -0.1)
    with pytest.raises(ValueError, match="surrogate"):
        Transfer(None, 0.1)
