"""What every attack shares: the L_inf threat model (`LinfBall`) and the attack object's plumbing (`Attack`).

Conventions of the whole `drrdn_tf.attacks` package: `model_fn(images) -> logits [B, K]`; images float32
[B, H, W, C] in [0, 1]; labels int [B]; an attack returns x' with |x' - x|_inf <= eps and x' in [0, 1].

Seeds: an attack object draws one int per `perturb` call from a numpy generator seeded by its constructor's
`seed` (`Attack.call_seed`); inside the compiled attack, the random draws of run r use the stateless seed
(call seed, r) (`stateless_seed`). So the same constructor seed and the same batches give the same
adversarial images, and the start of restart r does not depend on how many restarts follow it.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import tensorflow as tf

#: Call seeds are taken modulo this (they must fit an int32 and stay non-negative).
SEED_MODULUS = 2 ** 31 - 1
STARTS = ("uniform", "normal", "none")
NORMAL_START_SCALE = 0.001  # "normal": x + 0.001 N(0, 1), TRADES' reference start


def per_example(values):
    """A per-example vector [B] reshaped to [B, 1, 1, 1], to broadcast against images [B, H, W, C]."""
    return tf.reshape(values, [-1, 1, 1, 1])


def same_shape(new, old):
    """`new` with the static shape of `old`, for loop variables: a loop variable keeps its shape (the logits of
    a loaded SavedModel have an unknown batch size, which would otherwise broadcast a known batch of 1 to an
    unknown one)."""
    new = tf.convert_to_tensor(new)
    new.set_shape(old.shape)
    return new


def stateless_seed(call_seed, index):
    """The stateless seed int32 [2] of draw `index` (a restart, an iteration) of the call seeded `call_seed`."""
    return tf.stack([call_seed, tf.cast(index, tf.int32)])


class LinfBall:
    """The threat model around a batch: the feasible set {x' : |x' - images|_inf <= eps, 0 <= x' <= 1}.

    `start` draws a starting point in it, `project` maps any point onto it and `step` takes one signed-gradient
    ascent step and projects. The feasible box [lo, hi] is computed once per ball:
    clip(clip(x, images - eps, images + eps), 0, 1) = clip(x, lo, hi) holds exactly (the clips only select
    values) whenever images are in [0, 1] and eps >= 0, so one clip per projection suffices.

    Args:
      images: [B, H, W, C] in [0, 1] (float32 unless a float tensor of another type is given).
      eps: the L_inf radius >= 0, a python float or a scalar tensor (cast to the images' dtype).
    """

    def __init__(self, images, eps):
        self.images = tf.convert_to_tensor(images)
        self.eps = tf.cast(eps, self.images.dtype)
        self.lo = tf.maximum(self.images - self.eps, 0.0)
        self.hi = tf.minimum(self.images + self.eps, 1.0)

    def project(self, x):
        """x [B, H, W, C] -> its nearest point of the ball (per coordinate): values in [lo, hi]."""
        return tf.clip_by_value(x, self.lo, self.hi)

    def step(self, x, grad, step_size):
        """One ascent step Proj(x + step_size * sign(grad)); step_size a scalar or [B, 1, 1, 1] (per example)."""
        return self.project(x + step_size * tf.sign(grad))

    def corner(self, signs):
        """The ball's vertex images + eps * signs (signs +-1, broadcast to [B, H, W, C]) clipped to [0, 1]: a
        point at L_inf distance exactly eps wherever [0, 1] allows it (Square's moves)."""
        return tf.clip_by_value(self.images + self.eps * signs, 0.0, 1.0)

    def start(self, kind: str = "uniform", seed=None):
        """A starting point in the ball, [B, H, W, C]:
          "uniform": Proj(images + U(-eps, eps)) (Madry et al.'s start);
          "normal":  Proj(images + 0.001 N(0, 1)) (TRADES' reference start);
          "none":    images itself.
        `seed` (int32 [2]) draws the noise from a stateless generator: the same seed and images give the same
        start. None draws it with one stateful random op (TensorFlow's global seed decides it).
        """
        shape = tf.shape(self.images)
        dtype = self.images.dtype
        if kind == "uniform":
            noise = (tf.random.uniform(shape, -1.0, 1.0, dtype=dtype) if seed is None
                     else tf.random.stateless_uniform(shape, seed, -1.0, 1.0, dtype=dtype))
            return self.project(self.images + noise * self.eps)
        if kind == "normal":
            noise = (tf.random.normal(shape, dtype=dtype) if seed is None
                     else tf.random.stateless_normal(shape, seed, dtype=dtype))
            return self.project(self.images + NORMAL_START_SCALE * noise)
        if kind == "none":
            return self.images
        raise ValueError(f"unknown PGD start {kind!r}: choose one of {', '.join(STARTS)}")


class Attack:
    """Base of the attack objects: `perturb(images, labels, seed=None) -> x'` and `get_config()`.

    A subclass sets `name`, calls `super().__init__(model_fn, eps, seed)`, implements `perturb` (using
    `call_seed` for the call's seed) and lists its parameters in `settings()`; `get_config()` is then
    {"name", "norm", "eps", *settings, "seed"}, in that order.

    Attributes:
      model_fn: images -> logits [B, K].
      eps: the L_inf radius (python float).
      seed: the constructor's seed (None: fresh randomness on every call).
    """

    name = "attack"
    norm = "linf"

    def __init__(self, model_fn: Callable, eps: float, seed=None):
        self.model_fn, self.eps, self.seed = model_fn, float(eps), seed
        self._rng = np.random.default_rng(seed)

    def next_seed(self) -> int:
        """The seed of the next call without an explicit one (reproducible from the constructor's seed)."""
        return int(self._rng.integers(0, SEED_MODULUS))

    def call_seed(self, seed: Optional[int] = None) -> int:
        """The seed of one `perturb` call, in [0, 2^31 - 1): `seed` if given, else `next_seed()`."""
        return (self.next_seed() if seed is None else int(seed)) % SEED_MODULUS

    def settings(self) -> dict:
        """The attack's own parameters for `get_config` (JSON-ready), between "eps" and "seed"."""
        return {}

    def get_config(self) -> dict:
        """The attack's parameters (JSON-ready)."""
        return {"name": self.name, "norm": self.norm, "eps": self.eps, **self.settings(), "seed": self.seed}

    def perturb(self, images, labels, seed=None):
        """images float32 [B, H, W, C] in [0, 1], labels int [B] -> adversarial images of the same shape."""
        raise NotImplementedError


__all__ = ["Attack", "LinfBall", "SEED_MODULUS", "STARTS", "per_example", "same_shape", "stateless_seed"]
