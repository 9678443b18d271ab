"""DRRDN: gradient routing per loss (the paper's superscripts), train_step, learning, .keras round trip."""


import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import accuracy, tiny_drrdn
from drrdn_tf import data
from drrdn_tf.methods import losses as drrdn_losses
from drrdn_tf.methods.drrdn import DISENTANGLER_SHUFFLE, T_SHUFFLE

# The paper's superscripts, written out here independently of the implementation (Eqs. 4, 6-10).
SUPERSCRIPTS = {
    "ce": {"theta", "phi_s", "w_s"},          # Eq. 4
    "bc": {"theta", "phi_i", "w_i"},          # Eq. 6
    "adv": {"theta", "phi_s"},                # Eq. 7
    "ent": {"theta", "phi_i"},                # Eq. 8
    "mi": {"phi_s", "phi_i"},                 # Eq. 9, minimised by the disentanglers
    "mine": {"psi"},                          # Eq. 9, maximised by T
    "rec": {"phi_s", "phi_i", "theta_rec"},   # Eq. 10
}
ALL_GROUPS = {"theta", "phi_s", "phi_i", "w_s", "w_i", "psi", "theta_rec"}


@pytest.fixture(scope="module")
def model():
    m = tiny_drrdn()
    m.compile(keras.optimizers.SGD(0.01, momentum=0.9))
    return m


@pytest.fixture(scope="module")
def batch(demo):
    x, y = demo[0][:32], demo[1][:32]
    rng = np.random.default_rng(0)
    x_adv = np.clip(x + rng.uniform(-0.3, 0.3, x.shape).astype(np.float32), 0, 1)
    return tf.constant(x), tf.constant(y), tf.constant(x_adv)


def groups_moved(model, loss_fn, variables):
    """The parameter groups among `variables` that get a non-zero gradient from loss_fn()."""
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    owner = {id(v): g for g, vs in model.parameter_groups().items() for v in vs}
    moved = set()
    for g, v in zip(grads, variables):
        if g is not None and float(tf.reduce_max(tf.abs(g))) > 0:
            moved.add(owner[id(v)])
    return moved


def alternating_routing(model, x_all, y_all, n):
    """{term: parameter groups it moves}, each term differentiated w.r.t. the variables of the update that
    applies it in the alternating step (tape 1, MINE's, update 3)."""
    update1_vars, update3_vars = model.classifier_variables(), model.disentangler_variables()

    def update1(name):
        return lambda: model.classifier_terms(
            *model.representations(x_all, encoder_grad_i=model.bc_encoder_scale())[1:], y_all, n)[name]

    def update3(name):
        return lambda: model.disentangler_terms(*model.representations(x_all), n)[name]

    def mine():
        _, z_s, z_i = model.representations(x_all)
        return -model.mine_estimate(tf.stop_gradient(z_s), tf.stop_gradient(z_i))[1]

    return {"ce": groups_moved(model, update1("ce"), update1_vars), "bc": groups_moved(model, update1("bc"), update1_vars),
            "adv": groups_moved(model, update3("adv"), update3_vars), "ent": groups_moved(model, update3("ent"), update3_vars),
            "mi": groups_moved(model, update3("mi_objective"), update3_vars),
            "rec": groups_moved(model, update3("rec"), update3_vars),
            "mine": groups_moved(model, mine, model.mine.trainable_variables)}


def test_each_loss_moves_exactly_its_superscript(model, batch):
    """Every loss term, differentiated w.r.t. the variables the step's optimizer for it updates, reaches
    exactly the parameters its superscript names, and nothing else."""
    x, y, x_adv = batch
    x_all, y_all, n = tf.concat([x, x_adv], 0), tf.concat([y, y], 0), 32
    update1_vars, update3_vars = model.classifier_variables(), model.disentangler_variables()
    mine_vars = model.mine.trainable_variables
    moved = alternating_routing(model, x_all, y_all, n)

    def update3(name):
        return lambda: model.disentangler_terms(*model.representations(x_all), n)[name]
    assert moved == SUPERSCRIPTS

    # The optimizers' variable lists are part of the routing: c_s and c_i are not in tape 3 (so L_ENT and
    # L_ADV cannot move them), T is only in MINE's, r only in tape 3's.
    groups = model.parameter_groups()
    ids = lambda vs: {id(v) for v in vs}  # noqa: E731
    in_tape1 = {g for g, vs in groups.items() if ids(vs) <= ids(update1_vars)}
    in_tape3 = {g for g, vs in groups.items() if ids(vs) <= ids(update3_vars)}
    assert in_tape1 == {"theta", "phi_s", "phi_i", "w_s", "w_i"}
    assert in_tape3 == {"theta", "phi_s", "phi_i", "theta_rec"}
    assert ids(mine_vars) == ids(groups["psi"])
    # ...and the terms do reach c_s / c_i when the variables are not restricted: the optimizer lists matter.
    everything = model.trainable_variables
    assert "w_s" in groups_moved(model, update3("ent"), everything)
    assert "w_i" in groups_moved(model, update3("adv"), everything)


def test_train_step_updates_every_module_and_reports_every_metric(model, batch):
    x, y, _ = batch
    before = {g: [v.numpy().copy() for v in vs] for g, vs in model.parameter_groups().items()}
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) >= {"loss", "ce", "bc", "adv", "ent", "mi", "rec", "acc", "adv_acc", "dom_acc"}
    assert all(np.isfinite(v) for v in logs.values())
    for g, vs in model.parameter_groups().items():
        assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before[g], vs)), f"{g} did not move"


def test_lambda_zero_switches_terms_off(batch):
    x, y, _ = batch
    m = tiny_drrdn(lambda_mi=0.0, lambda_rec=0.0)
    m.compile(keras.optimizers.SGD(0.01))
    r_before = [v.numpy().copy() for v in m.reconstructor.trainable_variables]
    logs = m.train_on_batch(x, y, return_dict=True)
    assert logs["rec"] == 0.0
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(r_before, m.reconstructor.trainable_variables))


def test_bad_arguments_are_value_errors():
    from drrdn_tf.nn import backbones
    import drrdn_tf
    with pytest.raises(ValueError, match="lambda_mi"):
        tiny_drrdn(lambda_mi=-1.0)
    with pytest.raises(ValueError, match="alignment"):
        tiny_drrdn(alignment="nope")
    with pytest.raises(ValueError, match="encoder"):
        drrdn_tf.DRRDN("not a model", 10)
    with pytest.raises(ValueError, match="num_classes"):
        drrdn_tf.DRRDN(backbones.small_cnn(), 1)


def test_learns_real_mnist(demo):
    """~1,000 real MNIST images, a short fit: natural accuracy well above chance (10%) on held-out images."""
    keras.utils.set_random_seed(1)
    xtr, ytr, xte, yte = demo
    m = tiny_drrdn(eps=0.1, step_size=0.05, pgd_steps=2)
    m.compile(keras.optimizers.SGD(0.03, momentum=0.9))
    m.fit(data.make_dataset(xtr[:1024], ytr[:1024], 32, shuffle=True), epochs=3, verbose=0)
    acc = accuracy(m.predict(xte[:500], verbose=0), yte[:500])
    assert acc > 0.7, acc


def test_keras_round_trip(model, batch, tmp_path):
    x, y, _ = batch
    model.train_on_batch(x, y)  # optimizer state exists
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert type(loaded).__name__ == "DRRDN" and loaded.lambda_mi == model.lambda_mi
    # Compiled state comes back too: every optimizer, with its step count.
    assert loaded.compiled
    for (o1, _), (o2, _) in zip(model.optimizer_groups(), loaded.optimizer_groups()):
        assert int(o2.iterations.numpy()) == int(o1.iterations.numpy())
    loaded.train_on_batch(x, y)  # and it can go on training


def test_fit_rejects_bad_inputs(model, demo):
    x, y = demo[0][:8], demo[1][:8]
    with pytest.raises(ValueError, match="uint8"):
        model.fit((x * 255).astype(np.uint8), y, verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.fit(x * 255.0, y, verbose=0)
    with pytest.raises(ValueError, match="rank 4"):
        model.fit(x[..., 0], y, verbose=0)
    with pytest.raises(ValueError, match="channels=3"):
        model.fit(np.repeat(x, 3, axis=-1), y, verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        model.fit(x, y + 10, verbose=0)
    with pytest.raises(ValueError, match="uint8"):
        model.fit(tf.data.Dataset.from_tensor_slices(((x * 255).astype(np.uint8), y)).batch(4), verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        model.evaluate(tf.data.Dataset.from_tensor_slices((x, y - 1)).batch(4), verbose=0)
    with pytest.raises(ValueError, match="uint8"):
        model.predict((x * 255).astype(np.uint8), verbose=0)


@pytest.mark.parametrize("backbone", ["small_cnn", "wide_resnet"])
def test_folded_inference_path_is_the_inference_path(backbone, demo):
    """The attacks' inference_fn (d_s folded into c_s's first layer) gives the logits and input gradients of
    call(training=False); a non-linear d_s is not folded."""
    from drrdn_tf.nn import backbones
    if backbone == "small_cnn":
        m, x = tiny_drrdn(), tf.constant(demo[0][:16])
    else:
        m = drrdn_tf_model(backbones.wide_resnet(10, 1, (8, 8, 3)), backbones.head_for("wide_resnet"))
        x = tf.random.uniform((16, 8, 8, 3), seed=1)
    # Non-trivial biases, so the folded bias term is exercised.
    for layer in (m.d_s.dense[0], m.c_s.dense[0]):
        layer.bias.assign(tf.random.normal(layer.bias.shape, stddev=0.5, seed=2))
    assert m.folds_d_s()
    folded = m.inference_fn()

    def logits_and_grad(fn):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = fn(x)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.zeros([16], tf.int32), logits))
        return logits.numpy(), tape.gradient(loss, x).numpy()

    ref_logits, ref_grad = logits_and_grad(lambda v: m(v, training=False))
    got_logits, got_grad = logits_and_grad(folded)
    assert np.abs(ref_logits).max() > 1e-3
    np.testing.assert_allclose(got_logits, ref_logits, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_grad, ref_grad, rtol=1e-3, atol=1e-6)

    relu_ds = tiny_drrdn()
    relu_ds.d_s.dense[0].activation = keras.activations.relu
    assert not relu_ds.folds_d_s()
    x_relu = tf.constant(demo[0][:4])
    np.testing.assert_array_equal(relu_ds.inference_fn()(x_relu).numpy(), relu_ds(x_relu, training=False).numpy())


def drrdn_tf_model(encoder, head, **kwargs):
    import drrdn_tf
    from drrdn_tf import config
    return drrdn_tf.DRRDN(encoder, 10, eps=0.3, step_size=0.05, pgd_steps=0, head=head,
                          **{**config.DRRDN_AS_PRINTED, **kwargs})


def test_train_step_is_algorithm_1(batch):
    """train_step against a reference written out step by step: update 1 (L_CE + L_BC) at the weights before
    the step, then T's update on that pass's (z_s, z_i), then update 3 on z, z_s, z_i recomputed with the g,
    d_s, d_i that update 1 moved, against the c_i, c_s and T just updated. No dropout, plain SGD with a large
    rate (so that computing update 3 on the stale pass would differ clearly): the compiled step and the
    reference agree to float32 rounding."""
    x, y, x_adv = batch
    head = {"hidden_units": (200, 200), "dropout": 0.0}

    def make():
        from drrdn_tf.nn import backbones
        m = drrdn_tf_model(backbones.small_cnn((28, 28, 1)), head)
        m.compile(keras.optimizers.SGD(0.5), mine_optimizer=keras.optimizers.SGD(0.5))
        return m
    a, b = make(), make()
    b.set_weights(a.get_weights())
    before = [w.numpy().copy() for w in a.weights]
    a.attack = lambda images, labels, **kw: x_adv  # a fixed x', so both sides see the same batch
    a.train_on_batch(x, y)

    n = 32
    x_all, y_all = tf.concat([x, x_adv], 0), tf.concat([y, y], 0)
    with tf.GradientTape() as tape:                                        # update 1
        _, z_s, z_i = b.representations(x_all)
        cls = b.classifier_terms(z_s, z_i, y_all, n)
        classifier_loss = cls["ce"] + cls["bc"]
    b.minimize(tape, classifier_loss, b.classifier_variables(), b.optimizer)
    with tf.GradientTape() as tape:                                        # T's update
        mine_loss = -b.mine_estimate(tf.stop_gradient(z_s), tf.stop_gradient(z_i), shuffle=T_SHUFFLE)[0]
    b.minimize(tape, mine_loss, b.mine.trainable_variables, b.mine_optimizer)
    with tf.GradientTape() as tape:                                        # update 3, written out
        z = b.features(x_all, training=True)
        z_s, z_i = b.d_s(z), b.d_i(z)
        dom_s = b.c_i(z_s)
        adv = drrdn_losses.alignment_loss(dom_s[:n], dom_s[n:], b.alignment)
        ent = drrdn_losses.entropy_loss(b.c_s(z_i))
        zs_d, zi_d = b.d_s(tf.stop_gradient(z)), b.d_i(tf.stop_gradient(z))
        mi = b.mine_estimate(zs_d, zi_d, shuffle=DISENTANGLER_SHUFFLE)[0]
        rec = drrdn_losses.reconstruction_loss(b.reconstructor((zs_d, zi_d)), tf.stop_gradient(z))
        disentangler_loss = adv + ent + b.lambda_mi * mi + b.lambda_rec * rec
    b.minimize(tape, disentangler_loss, b.disentangler_variables(), b.disentangler_optimizer)

    moved = 0
    for va, vb, v0 in zip(a.weights, b.weights, before):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=2e-4, atol=2e-6, err_msg=va.path)
        moved += not np.array_equal(va.numpy(), v0)
    assert moved > 20
