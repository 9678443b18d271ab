"""DRRDN's single formulation (formulation="single"): every term in one forward pass and one gradient, each
still routed to the parameters of its superscript (c_i, c_s and T frozen where they must not move)."""

from __future__ import annotations

import tensorflow as tf

from drrdn_tf.methods.drrdn.schedules import scale_gradient


def single_step(model, x_all, y_all, n):
    """Every term in one forward pass and one gradient. Each still moves only its superscript: c_i, c_s and
    T appear frozen (`call_frozen`) in the terms that must not move them, and T's own term (-MI on
    sg(z_s), sg(z_i)) is the only one that reaches psi. Returns (classifier terms, Eq. 11 terms, MI)."""
    with tf.GradientTape() as tape:
        cls, dis, mine = single_terms(model, x_all, y_all, n)
        total = cls["ce"] + cls["bc"] + model.disentangler_objective(dis) - mine["objective"]
    grads = model.replica_gradients(tape, total, model.trainable_variables)
    psi = {id(v) for v in model.mine.trainable_variables}
    model.apply(model.optimizer, [(g, v) for g, v in grads if id(v) not in psi])
    model.apply(model.mine_optimizer, [(g, v) for g, v in grads if id(v) in psi])
    model.update_mine_average(mine["mean_exp"])
    model.extra_discriminator_steps(tf.stop_gradient(mine["z_s"]), tf.stop_gradient(mine["z_i"]), n)
    return cls, dis, mine["bound"]


def single_terms(model, x_all, y_all, n):
    """The single formulation's terms from one forward pass of [x; x'] (2n images): the classifier terms
    (Eqs. 4, 6), Eq. 11's terms against frozen c_i, c_s, T, and T's own estimate (on sg(z_s), sg(z_i))."""
    z = model.features(x_all, training=True)
    z_s, z_i = model.d_s(z), model.d_i(z)
    z_i_bc = model.d_i(scale_gradient(z, model.bc_encoder_scale()))
    cls = model.classifier_terms(z_s, z_i_bc, y_all, n)
    dis = model.disentangler_terms(z, z_s, z_i, n, frozen=True)
    bound, objective, mean_exp = model.mine_estimate(tf.stop_gradient(z_s), tf.stop_gradient(z_i),
                                                     shuffle=model.T_SHUFFLE)
    return cls, dis, {"bound": bound, "objective": objective, "mean_exp": mean_exp, "z_s": z_s, "z_i": z_i}
