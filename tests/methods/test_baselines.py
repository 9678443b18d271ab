"""Baselines (Standard, Madry, TRADES): their objectives, shared machinery, CLI and export."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import drrdn_tf
from conftest import run_cli
from drrdn_tf import data
from drrdn_tf.nn import backbones
from drrdn_tf.export import load_savedmodel

NO_DROPOUT = {"hidden_units": (32,), "dropout": 0.0}  # deterministic training forward for exact checks


def _model(cls, **kwargs):
    return cls(backbones.small_cnn(), 10, eps=0.3, step_size=0.05, pgd_steps=3, **kwargs)


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_trades_loss_equals_a_hand_computation(demo):
    m = _model(drrdn_tf.TRADES, beta=6.0, head=NO_DROPOUT)
    x, y = demo[0][:16], demo[1][:16]
    x_adv = np.clip(x + np.random.default_rng(0).uniform(-0.3, 0.3, x.shape), 0, 1).astype(np.float32)
    total, ce, kl, _, _ = m.trades_loss(tf.constant(x), tf.constant(x_adv), tf.constant(y), training=False)
    log_p, log_q = _log_softmax(m.predict(x, verbose=0)), _log_softmax(m.predict(x_adv, verbose=0))
    ce_hand = -np.mean(log_p[np.arange(16), y])
    kl_hand = np.mean(np.sum(np.exp(log_p) * (log_p - log_q), -1))
    np.testing.assert_allclose([float(ce), float(kl), float(total)], [ce_hand, kl_hand, ce_hand + 6.0 * kl_hand],
                               rtol=1e-4, atol=1e-6)
    assert kl_hand > 0


def test_trades_attack_maximises_the_kl_inside_the_ball(demo):
    m = _model(drrdn_tf.TRADES, head=NO_DROPOUT)
    m.compile(keras.optimizers.SGD(0.05, momentum=0.9))
    m.fit(data.make_dataset(demo[0][:1024], demo[1][:1024], 64), epochs=1, verbose=0)
    x = tf.constant(demo[2][:64])
    x_adv = m.trades_attack(x).numpy()
    assert np.max(np.abs(x_adv - x.numpy())) <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    logits = m.predict(x.numpy(), verbose=0)
    noise = np.clip(x.numpy() + 0.001 * np.random.default_rng(0).normal(size=x.shape), 0, 1).astype(np.float32)
    kl = lambda a: np.mean(np.sum(np.exp(_log_softmax(logits)) * (_log_softmax(logits) - _log_softmax(a)), -1))  # noqa
    assert kl(m.predict(x_adv, verbose=0)) > 10 * kl(m.predict(noise, verbose=0))


def test_madry_updates_on_adversarial_examples_only(demo):
    m = _model(drrdn_tf.Madry, head=NO_DROPOUT)
    m.compile(keras.optimizers.SGD(1.0))  # plain SGD, lr 1: the weight change is minus the gradient
    x, y = tf.constant(demo[0][:16]), tf.constant(demo[1][:16])
    x_adv = tf.constant(np.clip(demo[0][:16] + 0.3 * np.sign(np.random.default_rng(1).normal(size=x.shape)),
                                0, 1).astype(np.float32))
    m.attack = lambda images, labels, eps=None, steps=None: x_adv  # fix the attack's output

    def grads(images):
        with tf.GradientTape() as tape:
            loss = drrdn_tf.losses.classification_loss(y, m(images, training=True))
        return [g.numpy() for g in tape.gradient(loss, m.trainable_variables)]

    g_adv, g_nat = grads(x_adv), grads(x)
    before = [v.numpy().copy() for v in m.trainable_variables]
    m.train_on_batch(x, y)
    delta = [b - v.numpy() for b, v in zip(before, m.trainable_variables)]
    for d, ga in zip(delta, g_adv):
        np.testing.assert_allclose(d, ga, rtol=1e-3, atol=1e-5)
    assert any(not np.allclose(d, gn, rtol=1e-3, atol=1e-5) for d, gn in zip(delta, g_nat))


@pytest.mark.parametrize("cls", [drrdn_tf.Standard, drrdn_tf.Madry, drrdn_tf.TRADES, drrdn_tf.DRRDN])
def test_every_method_fits_and_exports(cls, demo, tmp_path):
    m = _model(cls, head=backbones.head_for("small_cnn"))
    m.compile(keras.optimizers.SGD(0.01, momentum=0.9))
    hist = m.fit(data.make_dataset(demo[0][:256], demo[1][:256], 64), epochs=1, verbose=0,
                 validation_data=data.make_dataset(demo[2][:64], demo[3][:64], 64))
    assert np.isfinite(hist.history["loss"][0]) and 0 <= hist.history["val_pgd_acc"][0] <= 1
    fn = load_savedmodel(m.export(str(tmp_path / "sm")))
    np.testing.assert_allclose(fn(images=tf.constant(demo[2][:4]))["logits"].numpy(), m.predict(demo[2][:4], verbose=0),
                               rtol=1e-4, atol=1e-4)
    path = str(tmp_path / "m.keras")
    m.save(path)
    assert type(keras.models.load_model(path)) is cls


def test_the_head_is_the_same_as_drrdns_classifier():
    def param_count(layer):
        return sum(int(np.prod(v.shape)) for v in layer.trainable_variables)
    head = backbones.head_for("small_cnn")
    d, s = _model(drrdn_tf.DRRDN, head=head), _model(drrdn_tf.Standard, head=head)
    assert param_count(d.c_s) == param_count(s.classifier)
    assert d.c_s.get_config()["units"] == s.classifier.get_config()["units"]


def test_linear_neck_gives_drrdns_inference_path(demo, tmp_path):
    """linear_neck=True: encoder -> a linear layer of the encoder's width -> head, the same layers and shapes as
    DRRDN's g -> d_s -> c_s; trains, saves and exports like the plain baseline; a DRRDN run refuses it."""
    head = backbones.head_for("small_cnn")
    m, d = _model(drrdn_tf.Madry, head=head, linear_neck=True), _model(drrdn_tf.DRRDN, head=head)
    assert sorted(tuple(v.shape) for v in m.trainable_variables) == sorted(
        tuple(v.shape) for layer in (d.encoder, d.d_s, d.c_s) for v in layer.trainable_variables)
    assert len(_model(drrdn_tf.Madry, head=head).trainable_variables) == len(m.trainable_variables) - 2
    m.compile(keras.optimizers.SGD(0.01, momentum=0.9))
    before = m.neck.trainable_variables[0].numpy()
    m.fit(data.make_dataset(demo[0][:128], demo[1][:128], 64), epochs=1, verbose=0)
    assert not np.allclose(before, m.neck.trainable_variables[0].numpy())   # the neck trains with the rest
    fn = load_savedmodel(m.export(str(tmp_path / "sm")))
    np.testing.assert_allclose(fn(images=tf.constant(demo[2][:4]))["logits"].numpy(), m.predict(demo[2][:4], verbose=0),
                               rtol=1e-4, atol=1e-4)
    m.save(str(tmp_path / "m.keras"))
    assert keras.models.load_model(str(tmp_path / "m.keras")).linear_neck
    with pytest.raises(ValueError, match="linear_neck"):
        drrdn_tf.config.settings_for("mnist", method="drrdn", linear_neck=True)


@pytest.mark.parametrize("method", ["standard", "madry", "trades"])
def test_cli_trains_each_baseline(method, tmp_path):
    out = str(tmp_path / method)
    neck = ["--linear_neck"] if method == "madry" else []   # the flag reaches the model (config.json, layers)
    res = run_cli("drrdn_tf.train", f"--method={method}", "--dataset=mnist", "--train_examples=128", "--epochs=1",
                  "--batch_size=64", "--pgd_steps=2", "--val_examples=32", "--test_examples=64", "--verbose=2",
                  f"--output_dir={out}", *neck)
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads(open(os.path.join(out, "results.json")).read())
    assert results["method"] == method and os.path.exists(os.path.join(out, "savedmodel", "saved_model.pb"))
    assert json.loads(open(os.path.join(out, "config.json")).read())["settings"]["linear_neck"] == bool(neck)
    # ...and the evaluation CLI accepts its export.
    ev = run_cli("drrdn_tf.evaluate", f"--model={out}/savedmodel", "--dataset=mnist", "--preset=quick",
                 "--num_examples=32", "--nomasking", "--noprogress", f"--output={out}/eval.json")
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert 0.0 <= json.loads(open(os.path.join(out, "eval.json")).read())["accuracy"]["pgd10"] <= 1.0
