"""DRRDN's modules besides the encoder, as Keras layers (Fig. 1 of the paper).

Sizes the paper defers to its supplement are ours (all dense, as the paper says):
  - Disentangler d_s / d_i: one linear Dense(D), D = the encoder's feature width by default, so c_s sees
    a vector of the same width as the baselines' classifier does and can be exactly the same head
    (linear, not ReLU: docs/design_notes.md). c_s starts with a ReLU layer anyway.
  - Classifier c_s (and the baselines' head): `backbones.head_for(backbone)` — TRADES' 200-200 MLP with
    dropout 0.5 for SmallCNN, a single dense layer for WRN.
  - DomainDiscriminator c_i: Dense(256)-ReLU-Dense(1) -> logit of "natural" (c_i in [0, 1] is its sigmoid),
    optionally spectral-normalised (Miyato et al. 2018: each kernel divided by its largest singular value).
  - MineStatistics T: Dense(256)-ReLU-Dense(256)-ReLU-Dense(1) on the concatenation [z_s, z_i].
  - Reconstructor r: Dense(512)-ReLU-Dense(D) on [z_s, z_i].
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf
from keras import layers


class _MLP(layers.Layer):
    """Dense layers with ReLU between them; the last layer is linear unless `final_activation` is given."""

    def __init__(self, units: Sequence[int], final_activation=None, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = tuple(int(u) for u in units)
        self.final_activation = final_activation
        self.dropout = float(dropout)
        self.dense = [layers.Dense(u, activation="relu" if i < len(self.units) - 1 else final_activation,
                                   name=f"dense_{i}") for i, u in enumerate(self.units)]
        # As in TRADES' SmallCNN head: dropout after the first hidden layer only.
        self.drop = layers.Dropout(self.dropout) if self.dropout and len(self.units) > 1 else None

    def build(self, input_shape):
        shape = tuple(input_shape)
        for i, d in enumerate(self.dense):
            d.build(shape)
            shape = shape[:-1] + (d.units,)

    def call(self, x, training=False):
        return self.call_from(x, 0, training=training)

    def call_from(self, x, start: int, training=False):
        """The MLP from its dense layer number `start` on (x is what that layer takes)."""
        for i, d in enumerate(self.dense[start:], start):
            x = d(x)
            if i == 0 and self.drop is not None:
                x = self.drop(x, training=training)
        return x

    def call_frozen(self, x):
        """The same function in inference mode with every weight behind a stop-gradient: a loss computed
        through it moves the layer's input (the representation) but never the layer's own parameters."""
        for i, d in enumerate(self.dense):
            kernel, bias = self.kernel_and_bias(i, training=False)
            x = tf.matmul(x, tf.stop_gradient(kernel))
            if bias is not None:
                x = x + tf.stop_gradient(bias)
            x = d.activation(x)
        return x

    def kernel_and_bias(self, i: int, training=False):
        """The weights dense layer i computes with: kernel [in, out] and bias [out] (or None)."""
        d = self.dense[i]
        return d.kernel, d.bias if d.use_bias else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.units[-1],)

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "final_activation": self.final_activation,
                "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="drrdn_tf")
class Disentangler(_MLP):
    """d_s or d_i (Eqs. 3, 5): z [B, D] -> disentangled representation [B, units] (one Dense layer,
    linear unless `activation` is given)."""

    def __init__(self, units: int, activation=None, final_activation=None, **kwargs):
        kwargs.pop("dropout", None)
        u = units[0] if isinstance(units, (list, tuple)) else units
        super().__init__((u,), final_activation=activation or final_activation, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg["units"] = self.units[0]
        return cfg


@keras.saving.register_keras_serializable(package="drrdn_tf")
class Classifier(_MLP):
    """Class classifier c_s (Eq. 4), also the baselines' head: [B, D] -> logits [B, K]."""

    def __init__(self, num_classes: int = None, hidden_units: Sequence[int] = (), dropout: float = 0.0,
                 units=None, **kwargs):
        kwargs.pop("final_activation", None)
        if units is None:  # from_config passes `units` back
            units = tuple(hidden_units) + (num_classes,)
        super().__init__(units, final_activation=None, dropout=dropout, **kwargs)
        self.num_classes = self.units[-1]


@keras.saving.register_keras_serializable(package="drrdn_tf")
class DomainDiscriminator(_MLP):
    """c_i (Eq. 6): representation [B, D] -> logit [B] that it is natural (sigmoid -> c_i in [0, 1]).

    spectral_norm=True divides each kernel by an estimate of its largest singular value (one power iteration
    per training call, the estimate's vectors kept between calls and behind a stop-gradient, as in Miyato et
    al. 2018), so c_i is 1-Lipschitz in its input per layer: the alignment game cannot be won by a
    discriminator whose logits grow without bound, and its gradients on z_s stay bounded.
    """

    def __init__(self, hidden_units: Sequence[int] = (256,), units=None, spectral_norm: bool = False, **kwargs):
        kwargs.pop("final_activation", None)
        super().__init__(units if units is not None else tuple(hidden_units) + (1,), **kwargs)
        self.spectral_norm = bool(spectral_norm)

    def build(self, input_shape):
        super().build(input_shape)
        if self.spectral_norm:
            # The left singular-vector estimates u_i [1, out_i]. Every replica computes the same update from
            # the same (mirrored) kernel, so the first replica's value is kept.
            self.singular_vectors = [
                self.add_weight(shape=(1, d.units), initializer=keras.initializers.RandomNormal(stddev=1.0),
                                trainable=False, name=f"u_{i}", aggregation="only_first_replica")
                for i, d in enumerate(self.dense)]

    def kernel_and_bias(self, i: int, training=False):
        kernel, bias = super().kernel_and_bias(i)
        if not self.spectral_norm:
            return kernel, bias
        u = self.singular_vectors[i]
        v = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(u, kernel, transpose_b=True)))   # [1, in]
        u_new = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(v, kernel)))                  # [1, out]
        if training:
            u.assign(u_new)
        sigma = tf.reduce_sum(tf.matmul(v, kernel) * u_new)                                  # ~ ||kernel||_2
        return kernel / sigma, bias

    def call_from(self, x, start: int, training=False):
        if not self.spectral_norm:
            return super().call_from(x, start, training=training)
        for i, d in enumerate(self.dense[start:], start):
            kernel, bias = self.kernel_and_bias(i, training=training)
            x = d.activation(tf.matmul(x, kernel) + (bias if bias is not None else 0.0))
        return x

    def call(self, x, training=False):
        return super().call(x, training=training)[:, 0]

    def call_frozen(self, x):
        return super().call_frozen(x)[:, 0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1]

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


class _PairMLP(_MLP):
    """An MLP on the concatenation [z_s, z_i] of two [B, D] representations."""

    def build(self, input_shape):
        zs_shape, zi_shape = input_shape
        super().build(tuple(zs_shape)[:-1] + (zs_shape[-1] + zi_shape[-1],))

    def call(self, inputs, training=False):
        z_s, z_i = inputs
        return super().call(keras.ops.concatenate([z_s, z_i], axis=-1), training=training)

    def call_frozen(self, inputs):
        z_s, z_i = inputs
        return super().call_frozen(keras.ops.concatenate([z_s, z_i], axis=-1))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])[:-1] + (self.units[-1],)


@keras.saving.register_keras_serializable(package="drrdn_tf")
class MineStatistics(_PairMLP):
    """MINE's statistics network T (Eq. 9): ([B, D], [B, D]) -> scores [B]."""

    def __init__(self, hidden_units: Sequence[int] = (256, 256), units=None, **kwargs):
        kwargs.pop("final_activation", None)
        super().__init__(units if units is not None else tuple(hidden_units) + (1,), **kwargs)

    def call(self, inputs, training=False):
        return super().call(inputs, training=training)[:, 0]

    def call_frozen(self, inputs):
        return super().call_frozen(inputs)[:, 0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])[:-1]


@keras.saving.register_keras_serializable(package="drrdn_tf")
class Reconstructor(_PairMLP):
    """r (Eq. 10): ([B, D_s], [B, D_i]) -> restored integral representation [B, output_dim]."""

    def __init__(self, output_dim: int = None, hidden_units: Sequence[int] = (512,), units=None, **kwargs):
        kwargs.pop("final_activation", None)
        super().__init__(units if units is not None else tuple(hidden_units) + (output_dim,), **kwargs)
