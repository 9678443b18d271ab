"""The paper's baselines on the same encoder and head as DRRDN's inference path: Standard, Madry, TRADES.

Each is `encoder -> Classifier` (the head DRRDN uses as c_s) and differs from the others only in its
`train_step` objective. `linear_neck=True` puts a linear layer of the encoder's width between them, as DRRDN's
d_s sits between g and c_s: the control that tells what DRRDN's terms add from what its extra layer does. Attack generation, validation, checks and export come from AdversarialModel.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from drrdn_tf.methods import losses
from drrdn_tf.attacks.pgd import pgd
from drrdn_tf.nn.layers import Classifier, Disentangler
from drrdn_tf.methods.base import AdversarialModel, _split_data, head_kwargs


class ClassifierModel(AdversarialModel):
    """encoder g -> flatten -> [linear neck] -> Classifier: the inference path shared by the baselines."""

    def __init__(self, encoder, num_classes: int, linear_neck: bool = False, **kwargs):
        self.linear_neck = bool(linear_neck)
        super().__init__(encoder, num_classes, **kwargs)

    def make_modules(self):
        self.classifier = Classifier(**head_kwargs(self), name="classifier")

    def build_modules(self, input_shape):
        if self.linear_neck:  # its width is the encoder's, known once the encoder has run
            width = int(self.features(tf.zeros((1,) + tuple(input_shape[1:]))).shape[-1])
            self.neck = Disentangler(width, name="neck")
        super().build_modules(input_shape)

    def call(self, images, training=False):
        z = self.features(images, training=training)
        return self.classifier(self.neck(z) if self.linear_neck else z, training=training)

    def inference_layers(self):
        return [self.encoder] + ([self.neck] if self.linear_neck else []) + [self.classifier]

    def get_config(self):
        return {**super().get_config(), "linear_neck": self.linear_neck}


@keras.saving.register_keras_serializable(package="drrdn_tf")
class Standard(ClassifierModel):
    """Natural training: cross-entropy on natural images only (no attack during training)."""

    train_metric_names = ("loss", "acc")

    def train_step(self, data):
        x, y = _split_data(data)
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            loss = losses.classification_loss(y, logits)
        self.minimize(tape, loss, self.trainable_variables, self.optimizer)
        return self.record(loss=loss, acc=self.accuracy(y, logits))


@keras.saving.register_keras_serializable(package="drrdn_tf")
class Madry(ClassifierModel):
    """PGD adversarial training (Madry et al. 2018): cross-entropy on PGD examples only (Eq. 1)."""

    train_metric_names = ("loss", "adv_acc")

    def train_step(self, data):
        x, y = _split_data(data)
        x_adv = self.attack(x, y)
        with tf.GradientTape() as tape:
            logits = self(x_adv, training=True)
            loss = losses.classification_loss(y, logits)
        self.minimize(tape, loss, self.trainable_variables, self.optimizer)
        return self.record(loss=loss, adv_acc=self.accuracy(y, logits))


@keras.saving.register_keras_serializable(package="drrdn_tf")
class TRADES(ClassifierModel):
    """TRADES (Zhang et al. 2019): CE(f(x), y) + beta * KL(f(x) || f(x')), x' maximising the KL by PGD from
    x + 0.001 N(0, 1) (its reference implementation's start)."""

    train_metric_names = ("loss", "ce", "kl", "acc", "adv_acc")

    def __init__(self, encoder, num_classes: int, beta: float = 6.0, trades_start: str = "normal", **kwargs):
        if beta < 0:
            raise ValueError(f"TRADES beta must be >= 0, got {beta}")
        if trades_start not in ("normal", "none"):
            raise ValueError(f"trades_start must be normal or none, got {trades_start!r}")
        self.beta = float(beta)
        self.trades_start = trades_start
        super().__init__(encoder, num_classes, **kwargs)

    def trades_attack(self, x):
        """x' = argmax_{|x'-x|_inf <= eps} KL(f(x) || f(x')), by the shared PGD with a KL loss."""
        natural_logits = tf.stop_gradient(self(x, training=False))
        return pgd(self.inference_fn(), x, natural_logits, self.train_eps, self.step_size,
                   self.pgd_steps, start=self.trades_start, loss=losses.trades_kl)

    def trades_loss(self, x, x_adv, y, training=True):
        """(total, ce, kl, natural logits, adversarial logits) of the TRADES objective on one batch."""
        logits = self(x, training=training)
        adv_logits = self(x_adv, training=training)
        ce = losses.classification_loss(y, logits)
        kl = tf.reduce_mean(losses.trades_kl(logits, adv_logits))
        return ce + self.beta * kl, ce, kl, logits, adv_logits

    def train_step(self, data):
        x, y = _split_data(data)
        x_adv = self.trades_attack(x)
        with tf.GradientTape() as tape:
            loss, ce, kl, logits, adv_logits = self.trades_loss(x, x_adv, y)
        self.minimize(tape, loss, self.trainable_variables, self.optimizer)
        return self.record(loss=loss, ce=ce, kl=kl, acc=self.accuracy(y, logits),
                           adv_acc=self.accuracy(y, adv_logits))

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "trades_start": self.trades_start}
