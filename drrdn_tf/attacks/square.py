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

import tensorflow as tf

from drrdn_tf.attacks.base import Attack, LinfBall, per_example, same_shape, stateless_seed
from drrdn_tf.attacks.losses import margin

P_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
SCHEDULE_QUERIES = 10000


def stripe_signs(images, seed):
    """The stripe pattern s = +-1 [B, 1, W, C]: one random sign per (column, channel), the same on every row;
    seed int32 [2] (stateless)."""
    shape = tf.shape(images)
    u = tf.random.stateless_uniform(tf.stack([shape[0], 1, shape[2], shape[3]]), seed)
    return tf.where(u < 0.5, -1.0, 1.0)


def stripes_start(images, eps, seed):
    """The vertical-stripe start [B, H, W, C]: the ball's corner x + eps * s for the stripe signs s (see
    `stripe_signs`), clipped to [0, 1]."""
    return LinfBall(images, eps).corner(stripe_signs(images, seed))


class Square(Attack):
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
        super().__init__(model_fn, eps, seed)
        self.n_queries, self.p_init, self.rescale_schedule = int(n_queries), float(p_init), bool(rescale_schedule)
        self._run = tf.function(self._run_impl, reduce_retracing=True)
        self.last_queries = None
        self.last_fooled = None

    def settings(self) -> dict:
        return {"n_queries": self.n_queries, "p_init": self.p_init, "loss": "margin", "init": "vertical_stripes",
                "rescale_schedule": self.rescale_schedule}

    def _p(self, i):
        """The fraction p of pixels a square covers at iteration i (int32 scalar tensor) -> float32 scalar:
        p_init halved once per passed entry of P_HALVINGS (on the 10,000-query scale if rescaled)."""
        it = i * SCHEDULE_QUERIES // self.n_queries if self.rescale_schedule else i
        halvings = tf.add_n([tf.cast(it > t, tf.float32) for t in P_HALVINGS])
        return self.p_init / tf.pow(2.0, halvings)

    @staticmethod
    def _side(p, height, width):
        """The side of the square window covering a fraction p (float32 scalar) of an H x W image: int32
        round(sqrt(p H W)), in [1, min(H, W)]."""
        side = tf.cast(tf.round(tf.sqrt(p * tf.cast(height * width, tf.float32))), tf.int32)
        return tf.clip_by_value(side, 1, tf.minimum(height, width))

    def _run_impl(self, images, labels, seed, eps):
        labels = tf.cast(labels, tf.int32)
        shape = tf.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        channels = images.shape[-1] if images.shape[-1] is not None else shape[3]
        margin_clean = margin(labels, self.model_fn(images))
        robust = margin_clean > 0
        ball = LinfBall(images, eps)
        x_init = ball.corner(stripe_signs(images, stateless_seed(seed, 0)))
        margin_init = margin(labels, self.model_fn(x_init))
        x_best = tf.where(per_example(robust), x_init, images)
        m_best = tf.where(robust, margin_init, margin_clean)
        queries = tf.cast(robust, tf.int32)
        rows = tf.range(height)[None, :]
        cols = tf.range(width)[None, :]

        def cond(i, x_best, m_best, queries):
            return tf.logical_and(i < self.n_queries, tf.reduce_any(m_best > 0))

        def body(i, x_best, m_best, queries):
            active = m_best > 0
            side = self._side(self._p(i), height, width)
            u = tf.random.stateless_uniform(tf.stack([batch, 2 + channels]), stateless_seed(seed, i))
            top = tf.cast(tf.floor(u[:, 0] * tf.cast(height - side + 1, tf.float32)), tf.int32)
            left = tf.cast(tf.floor(u[:, 1] * tf.cast(width - side + 1, tf.float32)), tf.int32)
            top = tf.minimum(top, height - side)[:, None]
            left = tf.minimum(left, width - side)[:, None]
            in_rows = tf.logical_and(rows >= top, rows < top + side)  # [B, H]
            in_cols = tf.logical_and(cols >= left, cols < left + side)  # [B, W]
            window = tf.logical_and(in_rows[:, :, None, None], in_cols[:, None, :, None])  # [B, H, W, 1]
            signs = tf.where(u[:, 2:] < 0.5, -1.0, 1.0)[:, None, None, :]  # [B, 1, 1, C]
            candidate = tf.where(window, ball.corner(signs), x_best)
            m_new = margin(labels, self.model_fn(candidate))
            accept = tf.logical_and(active, m_new < m_best)
            out = (i + 1, tf.where(per_example(accept), candidate, x_best),
                   tf.where(accept, m_new, m_best), queries + tf.cast(active, tf.int32))
            return tuple(same_shape(a, b) for a, b in zip(out, (i, x_best, m_best, queries)))

        _, x_best, m_best, queries = tf.while_loop(cond, body, (tf.constant(1), x_best, m_best, queries),
                                                   parallel_iterations=1)
        return tf.stop_gradient(x_best), m_best <= 0, queries

    def perturb(self, images, labels, seed=None):
        """images float32 [B, H, W, C] in [0, 1], labels int [B] -> adversarial images of the same shape.

        Sets `last_queries` (numpy int [B]: queries used per example) and `last_fooled` (numpy bool [B]).
        """
        seed = self.call_seed(seed)
        x, fooled, queries = self._run(tf.convert_to_tensor(images, tf.float32),
                                       tf.convert_to_tensor(labels, tf.int32), tf.constant(seed, tf.int32),
                                       tf.constant(self.eps, tf.float32))
        self.last_queries, self.last_fooled = queries.numpy(), fooled.numpy()
        return x


__all__ = ["Square", "stripe_signs", "stripes_start"]
