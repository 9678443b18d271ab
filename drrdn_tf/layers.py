"""DRRDN's modules besides the encoder, as Keras layers (Fig. 1 of the paper).

Sizes the paper defers to its supplement are ours (all dense, as the paper says):
  - Disentangler d_s / d_i: one linear Dense(D), D = the encoder's feature width by default, so c_s sees
    a vector of the same width as the baselines' classifier does and can be exactly the same head.
    (With a ReLU output, d_s died within 2 epochs under the alignment term of Eq. 7 in our MNIST runs,
    even at eps = 0; linear, the same run learned steadily. c_s starts with a ReLU layer anyway.)
  - Classifier c_s (and the baselines' head): `backbones.head_for(backbone)` — TRADES' 200-200 MLP with
    dropout 0.5 for SmallCNN, a single dense layer for WRN.
  - DomainDiscriminator c_i: Dense(256)-ReLU-Dense(1) -> logit of "natural" (c_i in [0, 1] is its sigmoid).
  - MineStatistics T: Dense(256)-ReLU-Dense(256)-ReLU-Dense(1) on the concatenation [z_s, z_i].
  - Reconstructor r: Dense(512)-ReLU-Dense(D) on [z_s, z_i].
"""

from __future__ import annotations

from typing import Sequence

import keras
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
    """c_i (Eq. 6): representation [B, D] -> logit [B] that it is natural (sigmoid -> c_i in [0, 1])."""

    def __init__(self, hidden_units: Sequence[int] = (256,), units=None, **kwargs):
        kwargs.pop("final_activation", None)
        super().__init__(units if units is not None else tuple(hidden_units) + (1,), **kwargs)

    def call(self, x, training=False):
        return super().call(x, training=training)[:, 0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1]


class _PairMLP(_MLP):
    """An MLP on the concatenation [z_s, z_i] of two [B, D] representations."""

    def build(self, input_shape):
        zs_shape, zi_shape = input_shape
        super().build(tuple(zs_shape)[:-1] + (zs_shape[-1] + zi_shape[-1],))

    def call(self, inputs, training=False):
        z_s, z_i = inputs
        return super().call(keras.ops.concatenate([z_s, z_i], axis=-1), training=training)

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

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])[:-1]


@keras.saving.register_keras_serializable(package="drrdn_tf")
class Reconstructor(_PairMLP):
    """r (Eq. 10): ([B, D_s], [B, D_i]) -> restored integral representation [B, output_dim]."""

    def __init__(self, output_dim: int = None, hidden_units: Sequence[int] = (512,), units=None, **kwargs):
        kwargs.pop("final_activation", None)
        super().__init__(units if units is not None else tuple(hidden_units) + (output_dim,), **kwargs)
