"""The per-example objectives the attacks maximise (or, for Square, minimise), all built on `margin`.

Every function maps (labels int [B], logits float [B, K]) to a per-example value [B] in the logits' dtype.
`margin` is the one "true logit minus best wrong logit" of the package: positive iff the example is
classified correctly; CW, DLR and Square's objective are functions of it.
"""

from __future__ import annotations

import tensorflow as tf

CW_KAPPA = 50.0
DLR_EPS = 1e-12  # keeps the DLR denominators positive when the top logits tie
_WRONG_OFFSET = 1e9  # subtracted from the true logit so that a max over classes picks the best wrong one


def _onehot(labels, logits):
    return tf.one_hot(tf.cast(labels, tf.int32), tf.shape(logits)[-1], dtype=logits.dtype)


def class_logit(labels, logits):
    """The logit of class `labels[b]` per example: z_y [B]."""
    return tf.reduce_sum(_onehot(labels, logits) * logits, -1)


def margin(labels, logits):
    """Per-example margin z_y - max_{k != y} z_k [B]: > 0 iff the example is classified correctly (ties
    count as wrong). Needs K >= 2."""
    onehot = _onehot(labels, logits)
    return tf.reduce_sum(onehot * logits, -1) - tf.reduce_max(logits - onehot * _WRONG_OFFSET, -1)


def _top(logits, k: int):
    return tf.math.top_k(logits, k=k, sorted=True).values


def ce_loss(labels, logits):
    """Per-example cross-entropy [B] (>= 0): the attack increases it."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits)


def cw_loss(labels, logits, kappa: float = CW_KAPPA):
    """Per-example CW margin loss [B] as in Madry et al.'s MNIST challenge: -relu(margin + kappa), in
    [-inf, 0].

    Maximising it raises the best wrong logit above the true one, up to a margin kappa (then it is flat at 0).
    """
    return -tf.nn.relu(margin(labels, logits) + kappa)


def dlr_loss(labels, logits):
    """Per-example DLR loss [B] (Croce & Hein 2020): -margin / (z_pi1 - z_pi3 + 1e-12), pi sorting the logits
    in decreasing order; invariant to shifting and scaling the logits, > 0 iff misclassified. Needs K >= 3."""
    top = _top(logits, 3)
    return -margin(labels, logits) / (top[:, 0] - top[:, 2] + DLR_EPS)


def targeted_dlr_loss(labels, targets, logits):
    """Per-example targeted DLR loss [B]: -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12), for target
    classes `targets` int [B]. Needs K >= 4."""
    top = _top(logits, 4)
    return -(class_logit(labels, logits) - class_logit(targets, logits)) / (
        top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + DLR_EPS)


__all__ = ["CW_KAPPA", "ce_loss", "class_logit", "cw_loss", "dlr_loss", "margin", "targeted_dlr_loss"]
