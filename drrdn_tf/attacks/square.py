"""Square attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020), L_inf: score-based and gradient-free.

Written from the paper (Algorithms 1 and 2, Section 4):
  - start: vertical stripes, x_0 = clip(x + eps * s) with one random sign s per column and channel;
  - each iteration changes one random square window of side h = round(sqrt(p * H * W)) (at least 1, at most
    the image side): inside it, channel c becomes clip(x + rho_c eps), rho_c = +-1 at random (the projection of
    x_hat + delta, delta = +-2 eps on the window, back to the ball);
  - the candidate is kept if it lowers the margin loss z_y - max_{k != y} z_k (the model's logits);
  - p starts at p_init (0.8 for MNIST-like data, 0.05 on CIFAR-10 in the paper) and is halved at iterations
    10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of a 10,000-query run; for another budget the schedule is
    rescaled to it (`rescale_schedule=True`, as in the paper) or used as is.
Only still-robust examples (margin > 0) consume queries: an example stops, and stops counting, as soon as
it is misclassified; examples misclassified at x are not attacked (0 queries). The clean evaluation is not
counted; the stripe start is the first query. All examples of a batch run in one fixed-shape loop (so
no retracing), which ends when every example is fooled or the budget is spent; `last_queries` holds the
per-example query counts of the last call.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from drrdn_tf.attacks.pgd import same_shape

P_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
SCHEDULE_QUERIES = 10000


def margin(labels, logits):
    """Per-example margin z_y - max_{k != y} z_k [B]: > 0 iff the example is classified correctly."""
    onehot = tf.one_hot(tf.cast(labels, tf.int32), tf.shape(logits)[-1], dtype=logits.dtype)
    return tf.reduce_sum(onehot * logits, -1) - tf.reduce_max(logits - onehot * 1e9, -1)


def p_schedule(p_init: float, iteration: int, n_queries: int, rescale: bool = True) -> float:
    """The fraction p of pixels changed at `iteration` (python version of the schedule used in the loop)."""
    it = int(iteration * SCHEDULE_QUERIES // n_queries) if rescale else int(iteration)
    return p_init / 2 ** sum(it > t for t in P_HALVINGS)


def square_side(p: float, height: int, width: int) -> int:
    """Side of the square window for fraction p of an H x W image."""
    return int(min(max(round(float(np.sqrt(p * height * width))), 1), min(height, width)))


def stripes_start(images, eps, seed):
    """The vertical-stripe start: x + eps * s, s = +-1 per (column, channel), the same on every row; clipped."""
    shape = tf.shape(images)
    u = tf.random.stateless_uniform(tf.stack([shape[0], 1, shape[2], shape[3]]), seed)
    signs = tf.where(u < 0.5, -1.0, 1.0)
    return tf.clip_by_value(images + eps * signs, 0.0, 1.0)


class Square:
    """`Square(model_fn, eps, n_queries=5000, p_init=0.8).perturb(images, labels) -> x'` (L_inf).

    Args:
      model_fn: images -> logits [B, K]; only its outputs are used (no gradients).
      eps: L_inf radius.
      n_queries: per-example query budget (the stripe start included).
      p_init: initial fraction of pixels per square (0.8 MNIST-like, 0.05 CIFAR-10).
      seed: seeds the per-call seeds (None: fresh randomness).
      rescale_schedule: rescale the p schedule (given for 10,000 queries) to `n_queries` (the paper), or
        not (then a run with a larger budget repeats a smaller one's iterations exactly, from the same seed).
    """

    name = "square"

    def __init__(self, model_fn: Callable, eps: float, n_queries: int = 5000, p_init: float = 0.8, seed=None,
                 rescale_schedule: bool = True):
        if eps < 0 or n_queries < 1 or not 0 < p_init <= 1:
            raise ValueError(f"bad Square settings: eps={eps}, n_queries={n_queries}, p_init={p_init} "
                             "(need eps >= 0, n_queries >= 1, 0 < p_init <= 1)")
        self.model_fn, self.eps, self.n_queries, self.p_init = model_fn, float(eps), int(n_queries), float(p_init)
        self.seed, self.rescale_schedule = seed, bool(rescale_schedule)
        self._rng = np.random.default_rng(seed)
        self._run = tf.function(self._run_impl, reduce_retracing=True)
        self.last_queries = None
        self.last_fooled = None

    def get_config(self) -> dict:
        return {"name": self.name, "norm": "linf", "eps": self.eps, "n_queries": self.n_queries,
                "p_init": self.p_init, "loss": "margin", "init": "vertical_stripes",
                "rescale_schedule": self.rescale_schedule, "seed": self.seed}

    def _p(self, i):
        it = i * SCHEDULE_QUERIES // self.n_queries if self.rescale_schedule else i
        halvings = tf.add_n([tf.cast(it > t, tf.float32) for t in P_HALVINGS])
        return self.p_init / tf.pow(2.0, halvings)

    def _run_impl(self, images, labels, seed, eps):
        labels = tf.cast(labels, tf.int32)
        shape = tf.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        channels = images.shape[-1] if images.shape[-1] is not None else shape[3]
        margin_clean = margin(labels, self.model_fn(images))
        robust = margin_clean > 0
        x_init = stripes_start(images, eps, tf.stack([seed, 0]))
        margin_init = margin(labels, self.model_fn(x_init))
        x_best = tf.where(tf.reshape(robust, [-1, 1, 1, 1]), x_init, images)
        m_best = tf.where(robust, margin_init, margin_clean)
        queries = tf.cast(robust, tf.int32)
        rows = tf.range(height)[None, :]
        cols = tf.range(width)[None, :]
        hw = tf.cast(height * width, tf.float32)
        side_max = tf.minimum(height, width)

        def cond(i, x_best, m_best, queries):
            return tf.logical_and(i < self.n_queries, tf.reduce_any(m_best > 0))

        def body(i, x_best, m_best, queries):
            active = m_best > 0
            side = tf.cast(tf.round(tf.sqrt(self._p(i) * hw)), tf.int32)
            side = tf.clip_by_value(side, 1, side_max)
            u = tf.random.stateless_uniform(tf.stack([batch, 2 + channels]), tf.stack([seed, i]))
            top = tf.cast(tf.floor(u[:, 0] * tf.cast(height - side + 1, tf.float32)), tf.int32)
            left = tf.cast(tf.floor(u[:, 1] * tf.cast(width - side + 1, tf.float32)), tf.int32)
            top = tf.minimum(top, height - side)[:, None]
            left = tf.minimum(left, width - side)[:, None]
            in_rows = tf.logical_and(rows >= top, rows < top + side)  # [B, H]
            in_cols = tf.logical_and(cols >= left, cols < left + side)  # [B, W]
            window = tf.logical_and(in_rows[:, :, None, None], in_cols[:, None, :, None])  # [B, H, W, 1]
            signs = tf.where(u[:, 2:] < 0.5, -1.0, 1.0)[:, None, None, :]  # [B, 1, 1, C]
            candidate = tf.where(window, tf.clip_by_value(images + eps * signs, 0.0, 1.0), x_best)
            m_new = margin(labels, self.model_fn(candidate))
            accept = tf.logical_and(active, m_new < m_best)
            out = (i + 1, tf.where(tf.reshape(accept, [-1, 1, 1, 1]), candidate, x_best),
                   tf.where(accept, m_new, m_best), queries + tf.cast(active, tf.int32))
            return tuple(same_shape(a, b) for a, b in zip(out, (i, x_best, m_best, queries)))

        _, x_best, m_best, queries = tf.while_loop(cond, body, (tf.constant(1), x_best, m_best, queries),
                                                   parallel_iterations=1)
        return tf.stop_gradient(x_best), m_best <= 0, queries

    def next_seed(self) -> int:
        return int(self._rng.integers(0, 2 ** 31 - 1))

    def perturb(self, images, labels, seed=None):
        """images float32 [B, H, W, C] in [0, 1], labels int [B] -> adversarial images of the same shape.

        Sets `last_queries` (numpy int [B]: queries used per example) and `last_fooled` (numpy bool [B]).
        """
        seed = (self.next_seed() if seed is None else int(seed)) % (2 ** 31 - 1)
        x, fooled, queries = self._run(tf.convert_to_tensor(images, tf.float32),
                                       tf.convert_to_tensor(labels, tf.int32), tf.constant(seed, tf.int32),
                                       tf.constant(self.eps, tf.float32))
        self.last_queries, self.last_fooled = queries.numpy(), fooled.numpy()
        return x


__all__ = ["Square", "margin", "p_schedule", "square_side", "stripes_start"]
