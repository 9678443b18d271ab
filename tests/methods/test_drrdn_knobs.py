"""DRRDN's stability knobs: every term still moves exactly its superscript under every knob and in both
formulations; each knob does what its docstring says (weights, ramp, one-sided alignment, CE mix, disentangler
optimizer, spectral norm, discriminator steps, MINE's moving average, probes); validation is reproducible."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_drrdn
from drrdn_tf import data
from drrdn_tf.methods import losses
from drrdn_tf.methods.drrdn import AlignmentRamp, ScaledSchedule, dann_ramp, scale_gradient
from drrdn_tf.methods.drrdn import single_pass
from test_drrdn import SUPERSCRIPTS, alternating_routing, groups_moved

KNOBS = {
    "defaults": {},
    "weights": dict(lambda_adv=0.1, lambda_ent=0.3, bc_encoder_weight=0.2, ce_adv_weight=0.8),
    "one_sided+sn": dict(alignment="one_sided", discriminator_spectral_norm=True, mine_ema=0.01),
    "minimax+ramp": dict(alignment="minimax", alignment_ramp="dann", discriminator_steps=2),
    "bc_off": dict(bc_encoder_weight=0.0),
}


@pytest.fixture(scope="module")
def batch(demo):
    x, y = demo[0][:16], demo[1][:16]
    rng = np.random.default_rng(0)
    x_adv = np.clip(x + rng.uniform(-0.3, 0.3, x.shape).astype(np.float32), 0, 1)
    return tf.concat([x, x_adv], 0), tf.concat([y, y], 0), 16


def expected(knobs):
    want = {k: set(v) for k, v in SUPERSCRIPTS.items()}
    if knobs.get("bc_encoder_weight", 1.0) == 0:
        want["bc"].discard("theta")  # the knob's whole point: L_BC stays out of the encoder
    return want


def with_ramp(m, value=0.5):
    m.ramp.assign(value)  # a ramped model mid-ramp: the ramp scales, never routes
    return m


@pytest.mark.parametrize("name", list(KNOBS))
def test_alternating_routing_under_every_knob(name, batch):
    x_all, y_all, n = batch
    m = with_ramp(tiny_drrdn(**KNOBS[name]))
    m.compile(keras.optimizers.SGD(0.01, momentum=0.9))
    moved = alternating_routing(m, x_all, y_all, n)
    assert moved == expected(KNOBS[name])


@pytest.mark.parametrize("name", list(KNOBS))
def test_single_formulation_routing_under_every_knob(name, batch):
    """One tape over every variable: the frozen players and stop-gradients alone give each term its
    superscript (no optimizer variable list helps here)."""
    x_all, y_all, n = batch
    m = with_ramp(tiny_drrdn(formulation="single", **KNOBS[name]))
    m.compile(keras.optimizers.SGD(0.01, momentum=0.9))
    everything = m.trainable_variables

    def term(part, key, sign=1.0):
        def f():
            cls, dis, mine = single_pass.single_terms(m, x_all, y_all, n)
            return sign * {"cls": cls, "dis": dis, "mine": mine}[part][key]
        return f
    moved = {"ce": groups_moved(m, term("cls", "ce"), everything),
             "bc": groups_moved(m, term("cls", "bc"), everything),
             "adv": groups_moved(m, term("dis", "adv"), everything),
             "ent": groups_moved(m, term("dis", "ent"), everything),
             "mi": groups_moved(m, term("dis", "mi_objective"), everything),
             "rec": groups_moved(m, term("dis", "rec"), everything),
             "mine": groups_moved(m, term("mine", "objective", -1.0), everything)}
    assert moved == expected(KNOBS[name])


@pytest.mark.parametrize("formulation", ["alternating", "single"])
def test_train_step_moves_every_module_in_both_formulations(formulation, batch):
    x_all, y_all, n = batch
    m = tiny_drrdn(formulation=formulation, discriminator_steps=2, mine_ema=0.01, probe_every=1)
    m.compile(keras.optimizers.SGD(0.05, momentum=0.9))
    before = {g: [v.numpy().copy() for v in vs] for g, vs in m.parameter_groups().items()}
    logs = m.train_on_batch(x_all[:n], y_all[:n], return_dict=True)
    assert {"dom_acc_s", "zs_norm", "gnorm_ce", "gnorm_bc", "gnorm_adv", "gnorm_ent"} <= set(logs)
    assert all(np.isfinite(v) for v in logs.values())
    assert logs["gnorm_ce"] > 0 and logs["zs_norm"] > 0
    for g, vs in m.parameter_groups().items():
        assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before[g], vs)), f"{g} did not move"
    assert float(m.mine_average.numpy()) != 1.0  # the moving average moved
    # One main-optimizer step per training step (the extra c_i step has its own optimizer), so schedules
    # keyed on the step count see training steps.
    assert int(m.optimizer.iterations.numpy()) == 1


def test_probe_runs_every_n_steps_only(demo):
    m = tiny_drrdn(probe_every=3, pgd_steps=1)
    m.compile(keras.optimizers.SGD(0.01))
    ds = data.make_dataset(data.load_raw("demo").train.images[:96], demo[1][:96], 16)
    logs = m.fit(ds, epochs=1, verbose=0).history
    assert logs["gnorm_ce"][0] > 0
    # 6 steps, probes at steps 1 and 4: the trackers hold 2 weighted samples.
    assert float(m._trackers["gnorm_ce"].count.numpy()) == pytest.approx(2.0)
    assert "gnorm_ce" not in tiny_drrdn(probe_every=0).train_metric_names


def test_scale_gradient():
    x = tf.constant([1.0, -2.0])
    for w in (0.0, 0.25, 1.0):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = scale_gradient(x, w)
            loss = tf.reduce_sum(3.0 * y)
        np.testing.assert_allclose(y.numpy(), x.numpy())
        g = tape.gradient(loss, x)
        np.testing.assert_allclose(0.0 if g is None else g.numpy(), 3.0 * w * np.ones(2))


def test_ce_adv_weight_mixes_the_halves(batch):
    x_all, y_all, n = batch
    for alpha in (0.5, 0.8, 1.0):
        m = tiny_drrdn(ce_adv_weight=alpha, head={"hidden_units": (32,), "dropout": 0.0})
        _, z_s, z_i = m.representations(x_all)
        ce = float(m.classifier_terms(z_s, z_i, y_all, n)["ce"])
        per = tf.nn.sparse_softmax_cross_entropy_with_logits(y_all, m.c_s(z_s)).numpy()
        assert ce == pytest.approx((1 - alpha) * per[:n].mean() + alpha * per[n:].mean(), rel=1e-5)


def test_one_sided_alignment_ignores_the_natural_side():
    nat, adv = tf.constant([3.0, -1.0]), tf.constant([0.5, -2.0])
    value = losses.alignment_loss(nat, adv, "one_sided")
    assert float(value) == pytest.approx(float(losses.alignment_loss(nat * 7, adv, "one_sided")))
    assert float(value) == pytest.approx(np.mean(np.log1p(np.exp(-adv.numpy()))), rel=1e-6)


def test_mine_moving_average_keeps_the_value_and_corrects_the_gradient():
    joint = tf.Variable([0.3, 0.1, -0.2])
    marginal = tf.Variable([0.2, -0.5, 0.4, 0.0])
    m = tf.constant(2.0)
    with tf.GradientTape(persistent=True) as tape:
        plain = losses.mine_lower_bound(joint, marginal)
        corrected = losses.mine_lower_bound(joint, marginal, m)
    assert float(corrected) == pytest.approx(float(plain), rel=1e-6)
    # d/dT_marg: plain -exp(T)/sum(exp T); corrected -exp(T)/(N m).
    e = np.exp(marginal.numpy())
    np.testing.assert_allclose(tape.gradient(plain, marginal).numpy(), -e / e.sum(), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(corrected, marginal).numpy(), -e / (len(e) * 2.0), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(corrected, joint).numpy(), np.full(3, 1 / 3), rtol=1e-5)


def test_dann_ramp_and_callback():
    assert float(dann_ramp(0.0)) == 0.0 and float(dann_ramp(1.0)) == pytest.approx(0.99991, abs=1e-4)
    assert float(dann_ramp(-1.0)) == 0.0
    cb = AlignmentRamp(start_epoch=3, epochs=13)
    assert cb.value(2) == 0.0 and cb.value(3) == 0.0
    assert cb.value(8) == pytest.approx(2 / (1 + np.exp(-5)) - 1, rel=1e-5)
    m = tiny_drrdn(alignment_ramp="dann", alignment_ramp_start=0, pgd_steps=1)
    m.compile(keras.optimizers.SGD(0.01))
    assert float(m.adv_weight()) == pytest.approx(float(m.ramp.numpy()))
    raw = data.load_raw("demo")
    m.fit(data.make_dataset(raw.train.images[:64], raw.train.labels[:64], 32), epochs=2, verbose=0)
    # fit added the callback: the ramp was set from epoch 0 of 2 (last batch of epoch 1: p = 1.5 / 2).
    assert float(m.ramp.numpy()) == pytest.approx(float(dann_ramp(0.75)), rel=1e-5)


def test_disentangler_optimizer_copy_and_single_weight_decay():
    sched = keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
    m = tiny_drrdn(disentangler_lr_mult=0.5, disentangler_momentum=0.0)
    m.compile(keras.optimizers.SGD(sched, momentum=0.9, weight_decay=0.1))
    d = m.disentangler_optimizer
    assert d.momentum == 0.0
    assert float(d.learning_rate) == pytest.approx(0.05)
    assert float(ScaledSchedule(sched, 0.5)(20)) == pytest.approx(0.005)
    assert float(ScaledSchedule(sched, 1.0, step_divisor=2)(19)) == pytest.approx(0.1)
    # Decay once: the disentangler optimizer excludes the variables the main optimizer also decays.
    shared = m.encoder.trainable_variables + m.d_s.trainable_variables + m.d_i.trainable_variables
    assert all(not d._use_weight_decay(v) for v in shared)
    assert all(d._use_weight_decay(v) for v in m.reconstructor.trainable_variables if len(v.shape) > 1)
    with pytest.raises(ValueError, match="momentum"):
        tiny_drrdn(disentangler_momentum=0.5).compile(keras.optimizers.Adam(1e-3))


def test_spectral_norm_bounds_the_discriminator():
    m = tiny_drrdn(discriminator_spectral_norm=True)
    z = tf.random.normal((64, m.d_s.units[0]), seed=0)
    for _ in range(30):  # power iterations converge on the fixed kernel
        m.c_i(z, training=True)
    for i in range(len(m.c_i.dense)):
        kernel, _ = m.c_i.kernel_and_bias(i)
        assert np.linalg.norm(kernel.numpy(), 2) == pytest.approx(1.0, rel=0.05)
    np.testing.assert_allclose(m.c_i.call_frozen(z).numpy(), m.c_i(z).numpy(), rtol=1e-5, atol=1e-6)


def test_bad_knobs_are_value_errors():
    for kwargs, match in [(dict(lambda_adv=-1), "lambda_adv"), (dict(ce_adv_weight=1.5), "ce_adv_weight"),
                          (dict(alignment_ramp="linear"), "alignment_ramp"), (dict(formulation="x"), "formulation"),
                          (dict(discriminator_steps=0), "discriminator_steps"), (dict(mine_ema=1.0), "mine_ema"),
                          (dict(disentangler_momentum=1.0), "disentangler_momentum")]:
        with pytest.raises(ValueError, match=match):
            tiny_drrdn(**kwargs)


def test_knobs_round_trip_through_keras(tmp_path, batch):
    x_all, y_all, n = batch
    kw = dict(KNOBS["weights"], alignment="one_sided", formulation="single", discriminator_spectral_norm=True,
              mine_ema=0.01, disentangler_lr_mult=0.5)
    m = tiny_drrdn(**kw)
    m.compile(keras.optimizers.SGD(0.01, momentum=0.9))
    m.train_on_batch(x_all[:n], y_all[:n])
    path = str(tmp_path / "m.keras")
    m.save(path)
    loaded = keras.models.load_model(path)
    for k, v in kw.items():
        assert getattr(loaded, k) == v, k
    np.testing.assert_allclose(loaded.predict(x_all, verbose=0), m.predict(x_all, verbose=0), atol=1e-5)
    assert float(loaded.mine_average.numpy()) == pytest.approx(float(m.mine_average.numpy()))


def test_validation_attack_is_reproducible(demo):
    """test_step's PGD starts depend only on the batch (validation_seed): the same batch is attacked from the
    same points every time, other batches and unseeded (training) attacks from other points."""
    from drrdn_tf.methods.base import validation_seed
    m = tiny_drrdn(pgd_steps=0)  # x' is the random start itself
    x, y = tf.constant(demo[2][:32]), tf.constant(demo[3][:32])
    seed = validation_seed(x, y)
    first, second = m.attack(x, y, seed=seed).numpy(), m.attack(x, y, seed=validation_seed(x, y)).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, m.attack(x, y).numpy())
    assert not np.array_equal(validation_seed(x[1:], y[1:]).numpy(), seed.numpy())
    m.compile(keras.optimizers.SGD(0.01))
    ds = data.make_dataset(data.load_raw("demo").test.images[:256], demo[3][:256], 128)
    assert m.evaluate(ds, return_dict=True, verbose=0) == m.evaluate(ds, return_dict=True, verbose=0)


def test_model_and_settings_share_the_defaults():
    """DRRDN(...)'s argument defaults are the training settings' defaults (one default per knob), and
    config.DRRDN_AS_PRINTED names every knob."""
    import inspect

    import drrdn_tf
    from drrdn_tf import config
    params = inspect.signature(drrdn_tf.DRRDN.__init__).parameters
    for name in config.DRRDN_KNOBS + ("lambda_mi", "lambda_rec"):
        assert params[name].default == config.default_of(name), name
    assert set(config.DRRDN_AS_PRINTED) == set(config.DRRDN_KNOBS + ("lambda_mi", "lambda_rec")) - {"probe_every"}


def test_zero_weight_update_3_is_skipped_without_changing_the_step(batch):
    """With every Eq. 11 weight 0 (the default), skipping update 3 gives the same weights as applying its
    all-zero gradients would: compare with a model whose update 3 runs (a weight of 1e-30 on L_ENT)."""
    x_all, y_all, n = batch
    zero = dict(lambda_adv=0.0, lambda_ent=0.0, lambda_mi=0.0, lambda_rec=0.0, bc_encoder_weight=0.0,
                head={"hidden_units": (32,), "dropout": 0.0}, attack_start="none")
    a, b = tiny_drrdn(**zero), tiny_drrdn(**{**zero, "lambda_ent": 1e-30})
    assert not a.has_disentangler_update() and b.has_disentangler_update()
    for m in (a, b):
        m.compile(keras.optimizers.SGD(0.1, momentum=0.9), mine_optimizer=keras.optimizers.SGD(0.1))
    b.set_weights(a.get_weights())
    for m in (a, b):
        logs = m.train_on_batch(x_all[:n], y_all[:n], return_dict=True)
        assert np.isfinite(logs["adv"]) and np.isfinite(logs["ent"])
    for va, vb in zip(a.weights, b.weights):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=1e-5, atol=1e-7, err_msg=va.path)
