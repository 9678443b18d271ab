"""DRRDN's training diagnostics that need extra passes: the encoder-gradient norm of each term."""

from __future__ import annotations

import tensorflow as tf

#: gradient norms on the encoder measured every `probe_every` steps (effective: weights included).
PROBED_TERMS = ("ce", "bc", "adv", "ent")


def probe(model, x_all, y_all, n) -> None:
    """Every `probe_every` steps: the norm of each term's effective (weighted) gradient on the encoder,
    recorded into the gnorm_* trackers (their epoch value is the mean over the probed steps). Under
    tf.distribute each replica measures its own local-batch gradient (a collective cannot run inside the
    probe's conditional), and the logs average these norms over replicas."""
    every = tf.constant(model.probe_every, tf.int64)
    due = tf.equal(tf.math.floormod(tf.cast(model.optimizer.iterations, tf.int64) - 1, every), 0)

    def measure():
        theta = model.encoder.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            z, z_s, z_i = model.representations(x_all)
            cls = model.classifier_terms(z_s, z_i, y_all, n, training=False)
            dis = model.disentangler_terms(z, z_s, z_i, n, frozen=True, with_mi_rec=False)
            weighted = {"ce": (1.0, cls["ce"]),
                        "bc": (model.bc_encoder_weight, model.bc_encoder_scale() * cls["bc"]),
                        "adv": (model.lambda_adv, model.adv_weight() * dis["adv"]),
                        "ent": (model.lambda_ent, model.lambda_ent * dis["ent"])}
        # A term whose weight is 0 has a zero gradient: no backward pass for it.
        norms = [tf.linalg.global_norm([g if g is not None else tf.zeros_like(v)
                                        for g, v in zip(tape.gradient(weighted[t][1], theta), theta)])
                 if weighted[t][0] else tf.constant(0.0) for t in PROBED_TERMS]
        del tape
        return tf.stack(norms)

    norms = tf.cond(due, measure, lambda: tf.zeros([len(PROBED_TERMS)]))
    weight = tf.cast(due, tf.float32)
    for i, t in enumerate(PROBED_TERMS):
        model._trackers[f"gnorm_{t}"].update_state(norms[i], sample_weight=weight)
