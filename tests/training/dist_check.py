"""Run in a fresh process (tests/test_distribute.py): one training step of a method on one device and on a
MirroredStrategy over 2 logical CPU devices, same weights, same global batch; prints the largest differences
of the step's metrics and updated weights as JSON. Randomness is switched off (PGD start "none", no dropout).
With 0 PGD steps the two runs must agree up to float error; with 2 steps, PGD's sign() of gradient components
near zero can turn last-bit differences into different pixels, so they agree only closely."""

import json
import sys

import numpy as np

from drrdn_tf import distribute

distribute.split_cpu(2)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import drrdn_tf  # noqa: E402
from drrdn_tf import data  # noqa: E402
from drrdn_tf.nn import backbones
from drrdn_tf.attacks.pgd import pgd_loop  # noqa: E402

METHODS = {"drrdn": drrdn_tf.DRRDN, "standard": drrdn_tf.Standard, "madry": drrdn_tf.Madry,
           "trades": drrdn_tf.TRADES, "drrdn_knobs": drrdn_tf.DRRDN}
#: DRRDN with every stability knob away from its default, in the single formulation (one tape).
KNOBS = dict(formulation="single", discriminator_spectral_norm=True, discriminator_steps=2, mine_ema=0.01,
             probe_every=1, alignment="one_sided", ce_adv_weight=0.75, bc_encoder_weight=0.5, lambda_adv=0.5)


def _deterministic_trades_attack(m):
    """TRADES' attack from a fixed start x + 0.01 sign(0.5 - x) instead of x + 0.001 N(0, 1): without noise, its
    reference start x' = x has an exactly-zero KL gradient, whose sign is decided by last-bit float noise."""
    def attack(x):
        natural = tf.stop_gradient(m(x, training=False))
        start = tf.clip_by_value(x + 0.01 * tf.sign(0.5 - x), 0.0, 1.0)
        return pgd_loop(lambda v: m(v, training=False), x, natural, m.train_eps, m.step_size, m.pgd_steps, start,
                        drrdn_tf.losses.trades_kl)
    return attack


def build(method, strategy, weights=None, steps=2):
    with strategy.scope():
        kwargs = dict(eps=0.3, step_size=0.05, pgd_steps=steps, attack_start="none",
                      head={"hidden_units": (64,), "dropout": 0.0})
        if method == "trades":
            kwargs["trades_start"] = "none"
        if method == "drrdn":
            kwargs.update(drrdn_tf.config.DRRDN_AS_PRINTED)  # every term on
        if method == "drrdn_knobs":
            kwargs.update({**drrdn_tf.config.DRRDN_AS_PRINTED, **KNOBS})
        m = METHODS[method](backbones.small_cnn(), 10, **kwargs)
        if method == "trades":
            m.trades_attack = _deterministic_trades_attack(m)
        if weights is not None:
            m.set_weights(weights)
        m.compile(keras.optimizers.SGD(0.05, momentum=0.9))
    return m


def main(method, mirrored, steps):
    raw = data.load_raw("demo")
    x, y = data.to_float(raw.train.images[:64]), raw.train.labels[:64]  # one epoch = two steps of 32
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    one = build(method, tf.distribute.get_strategy(), steps=steps)
    w0 = one.get_weights()
    two = build(method, mirrored, w0, steps=steps)
    assert two.distribute_strategy.num_replicas_in_sync == 2
    logs = {}
    for name, m in (("one", one), ("two", two)):
        h = m.fit(ds, epochs=1, verbose=0, shuffle=False)
        logs[name] = {k: v[0] for k, v in h.history.items()}
    w1, w2 = one.get_weights(), two.get_weights()
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w0))

    def norm(ws, vs):
        return float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(ws, vs))))
    return {
        "method": method, "pgd_steps": steps, "logs_one": logs["one"], "logs_two": logs["two"],
        "max_metric_diff": max(abs(logs["one"][k] - logs["two"][k]) for k in logs["one"]
                               if not k.startswith("gnorm_")),
        "max_weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w2)),
        "max_weight_update": moved, "weight_diff_norm": norm(w1, w2), "weight_update_norm": norm(w1, w0)}


if __name__ == "__main__":
    strategy = distribute.make_strategy("mirrored", ["/cpu:0", "/cpu:1"])
    print(json.dumps([main(method, strategy, steps) for method in sys.argv[1:] for steps in (0, 2)]))
