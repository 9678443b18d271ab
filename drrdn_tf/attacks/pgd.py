"""The one PGD (Eq. 2): L_inf projected gradient ascent with sign steps, used by training and evaluation.

`pgd(...)` is plain TensorFlow (a `tf.while_loop`), so it runs inside a model's compiled `train_step`;
`PGD` wraps it as a `tf.function` for stand-alone use (evaluation), adds seeded restarts with the per-example
worst case kept (best iterate within a run, first fooling restart across runs), and never retraces for new
batches of the same image size. FGSM is PGD with one step and no random start. Both go through `pgd_loop`,
the one PGD loop of the package.

Conventions: `model_fn(images) -> logits [B, K]`; images float32 [B, H, W, C] in [0, 1]; labels int [B];
the result x' satisfies |x' - x|_inf <= eps and x' in [0, 1].
"""

from __future__ import annotations

import copy
from typing import Callable, Optional, Union

import numpy as np
import tensorflow as tf

LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]  # (labels or target, logits [B, K]) -> per-example [B]
CW_KAPPA = 50.0


def ce_loss(labels, logits):
    """Per-example cross-entropy [B]: the attack increases it."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits)


def cw_loss(labels, logits, kappa: float = CW_KAPPA):
    """Per-example CW margin loss [B] as in Madry et al.'s MNIST challenge: -relu(z_y - max_{i!=y} z_i + kappa).

    Maximising it raises the best wrong logit above the true one, up to a margin kappa (then it is flat).
    """
    num_classes = tf.shape(logits)[-1]
    onehot = tf.one_hot(tf.cast(labels, tf.int32), num_classes, dtype=logits.dtype)
    correct = tf.reduce_sum(onehot * logits, axis=-1)
    wrong = tf.reduce_max(logits - onehot * 1e9, axis=-1)
    return -tf.nn.relu(correct - wrong + kappa)


LOSSES = {"ce": ce_loss, "cw": cw_loss}
STARTS = ("uniform", "normal", "none")


def _loss_fn(loss: Union[str, LossFn]) -> LossFn:
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown PGD loss {loss!r}: choose one of {', '.join(LOSSES)} or pass a callable")
    return LOSSES[loss]


def random_start(images, eps, start: str = "uniform", seed=None):
    """The starting point of PGD: x + U(-eps, eps) ("uniform", Madry), x + 0.001 N(0, 1) ("normal", TRADES'
    reference start) or x ("none"); clipped to the eps-ball and [0, 1]. `seed` (int32 [2]) draws it from a
    stateless generator: the same seed and images give the same start; None draws fresh randomness."""
    shape = tf.shape(images)
    if start == "uniform":
        noise = (tf.random.uniform(shape, -1.0, 1.0, dtype=images.dtype) if seed is None
                 else tf.random.stateless_uniform(shape, seed, -1.0, 1.0, dtype=images.dtype))
        x = images + noise * eps
    elif start == "normal":
        noise = (tf.random.normal(shape, dtype=images.dtype) if seed is None
                 else tf.random.stateless_normal(shape, seed, dtype=images.dtype))
        x = images + 0.001 * noise
    elif start == "none":
        return images
    else:
        raise ValueError(f"unknown PGD start {start!r}: choose one of {', '.join(STARTS)}")
    return project(x, images, eps)


def project(x, images, eps):
    """Projection onto the L_inf eps-ball around `images`, then onto the image box [0, 1]."""
    return tf.clip_by_value(tf.clip_by_value(x, images - eps, images + eps), 0.0, 1.0)


def pgd(model_fn: Callable, images, labels, eps, step_size, steps, start: str = "uniform",
        loss: Union[str, LossFn] = "ce", seed=None):
    """Eq. 2: `steps` iterations of x <- Proj(x + step_size * sign(grad_x loss(model_fn(x), labels))).

    Args:
      model_fn: images -> logits [B, K]; called in inference mode by the caller's choice.
      images: float32 [B, H, W, C] in [0, 1].
      labels: int [B] for "ce"/"cw", or whatever a callable `loss` takes as its first argument (TRADES passes
        the natural logits).
      eps, step_size: python floats or scalar tensors (tensors do not retrace when they change).
      steps: int or scalar int tensor.
      start: "uniform" | "normal" | "none" (see `random_start`).
      loss: "ce", "cw" or a callable (target, logits) -> per-example loss [B] that the attack maximises.
      seed: int32 [2] stateless seed of the random start (None: fresh randomness).
    Returns:
      x' float32 [B, H, W, C], |x' - images|_inf <= eps, in [0, 1], with no gradient to the inputs.
    """
    loss_fn = _loss_fn(loss)
    images = tf.convert_to_tensor(images, tf.float32)
    eps = tf.cast(eps, images.dtype)
    return pgd_loop(model_fn, images, labels, eps, step_size, steps, random_start(images, eps, start, seed), loss_fn)


def same_shape(new, old):
    """`new` with the static shape of `old` (a loop variable keeps its shape: logits of a loaded SavedModel have
    an unknown batch size, which would otherwise broadcast a known batch of 1 to an unknown one)."""
    new = tf.convert_to_tensor(new)
    new.set_shape(old.shape)
    return new


def pgd_loop(model_fn: Callable, images, labels, eps, step_size, steps, x, loss_fn: LossFn, track_labels=None):
    """The PGD iterations themselves (the package's one PGD loop), from the starting point `x`.

    Without `track_labels` this is exactly the loop of `pgd` and returns the last iterate x_T. With
    `track_labels` (class indices [B]) it also watches every iterate x_0 .. x_T at no extra gradient cost (the
    logits of x_t are those of the step from x_t; x_T costs one more forward pass) and returns
    `(x_best, fooled)`: per example, the misclassified iterate with the highest loss if any iterate was
    misclassified (fooled = True), else x_T. So T' > T steps from the same start never fool fewer examples.
    When tracking, a gradient that does not reach the input counts as zero (a gradient-masking model is then
    reported as robust, not as a crash).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    eps = tf.cast(eps, images.dtype)
    step_size = tf.cast(step_size, images.dtype)
    track = track_labels is not None
    # The feasible box of `project`, once: clip(clip(x, x0 - eps, x0 + eps), 0, 1) = clip(x, lo, hi), as
    # x0 in [0, 1] and eps >= 0. One clip per step instead of two.
    lo, hi = tf.maximum(images - eps, 0.0), tf.minimum(images + eps, 1.0)

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = model_fn(x)
            per_example = loss_fn(labels, logits)
            objective = tf.reduce_sum(per_example)
        if track:
            grad = tape.gradient(objective, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        else:
            grad = tape.gradient(objective, x)
        return tf.clip_by_value(x + step_size * tf.sign(grad), lo, hi), logits, per_example

    if not track:
        def body(i, x):
            return i + 1, step(x)[0]

        _, x = tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), x), parallel_iterations=1)
        return tf.stop_gradient(x)

    track_labels = tf.cast(track_labels, tf.int32)

    def keep(x, logits, per_example, best, best_loss, fooled):
        wrong = tf.not_equal(tf.argmax(logits, -1, output_type=tf.int32), track_labels)
        per_example = tf.cast(per_example, best_loss.dtype)
        better = tf.logical_and(wrong, tf.logical_or(tf.logical_not(fooled), per_example > best_loss))
        return (tf.where(tf.reshape(better, [-1, 1, 1, 1]), x, best), tf.where(better, per_example, best_loss),
                tf.logical_or(fooled, wrong))

    def tracked_body(i, x, best, best_loss, fooled):
        x_next, logits, per_example = step(x)
        out = (i + 1, x_next) + keep(x, logits, per_example, best, best_loss, fooled)
        return tuple(same_shape(new, old) for new, old in zip(out, (i, x, best, best_loss, fooled)))

    batch = tf.shape(images)[0]
    state = (tf.constant(0), x, x, tf.fill([batch], tf.constant(-float("inf"), tf.float32)), tf.zeros([batch], tf.bool))
    _, x, best, best_loss, fooled = tf.while_loop(lambda i, *_: i < steps, tracked_body, state,
                                                  parallel_iterations=1)
    logits = model_fn(x)
    best, _, fooled = keep(x, logits, loss_fn(labels, logits), best, best_loss, fooled)
    return tf.stop_gradient(tf.where(tf.reshape(fooled, [-1, 1, 1, 1]), best, x)), fooled


def fgsm(model_fn: Callable, images, labels, eps, step_size=None, loss: Union[str, LossFn] = "ce"):
    """FGSM: one signed-gradient step of `step_size` (default eps) from x, projected to the eps-ball."""
    return pgd(model_fn, images, labels, eps, eps if step_size is None else step_size, 1, start="none", loss=loss)


class PGD:
    """PGD as a compiled attack object: `PGD(model_fn, eps=0.3, step_size=0.01, steps=40).perturb(x, y) -> x'`.

    Per example the worst case is kept: within a run, the misclassified iterate with the highest loss
    (`keep_best`, see `pgd_loop`); across `restarts`, the first restart that fooled the model (else the last
    one). Random starts are drawn from stateless generators seeded by (call seed, restart), so two attacks
    built with the same `seed` start from the same points on the same batches: then more steps or more
    restarts can never fool fewer examples. The compiled function is traced once per image size (eps and
    the call seed are tensors), so new batches of the same shape never retrace.

    Args:
      model_fn: images -> logits [B, K] (a Keras model in inference mode, a SavedModel signature wrapped as
        `lambda x: fn(images=x)["logits"]`, ...).
      eps, step_size, steps: L_inf radius, step size, number of signed-gradient steps.
      restarts: independent random starts (>= 1).
      start: "uniform" (x + U(-eps, eps)), "normal" (x + 0.001 N(0, 1)) or "none" (x).
      loss: "ce", "cw" (Madry's clipped margin) or a callable (labels, logits) -> per-example loss [B].
      seed: seeds the per-call seeds (None: fresh randomness).
      keep_best: track the best iterate (True) or return each run's last iterate (False, the plain loop).
    """

    name = "pgd"

    def __init__(self, model_fn: Callable, eps: float, step_size: float, steps: int, restarts: int = 1,
                 start: str = "uniform", loss: Union[str, LossFn] = "ce", seed=None, keep_best: bool = True):
        if eps < 0 or step_size < 0 or steps < 0 or restarts < 1:
            raise ValueError(f"bad PGD settings: eps={eps}, step_size={step_size}, steps={steps}, "
                             f"restarts={restarts} (need eps, step_size, steps >= 0 and restarts >= 1)")
        self.loss_fn = _loss_fn(loss)
        if start not in STARTS:
            raise ValueError(f"unknown PGD start {start!r}: choose one of {', '.join(STARTS)}")
        self.model_fn, self.eps, self.step_size, self.steps = model_fn, float(eps), float(step_size), int(steps)
        self.restarts, self.start, self.loss, self.keep_best = int(restarts), start, loss, bool(keep_best)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._perturb = tf.function(self._perturb_impl, reduce_retracing=True)

    def get_config(self) -> dict:
        """The attack's parameters (JSON-ready)."""
        return {"name": self.name, "norm": "linf", "eps": self.eps, "step_size": self.step_size,
                "steps": self.steps, "restarts": self.restarts, "random_start": self.start,
                "loss": self.loss if isinstance(self.loss, str) else getattr(self.loss, "__name__", "custom"),
                "keep_best": self.keep_best, "seed": self.seed}

    def _start_point(self, images, eps, seed, restart: int):
        stateless_seed = tf.stack([seed, tf.constant(restart, tf.int32)])
        if self.start == "uniform":
            x = images + tf.random.stateless_uniform(tf.shape(images), stateless_seed, -1.0, 1.0) * eps
        elif self.start == "normal":
            x = images + 0.001 * tf.random.stateless_normal(tf.shape(images), stateless_seed)
        else:
            return images
        return project(x, images, eps)

    def _perturb_impl(self, images, labels, seed, eps, step_size):
        labels = tf.cast(labels, tf.int32)
        best = fooled = None
        for r in range(self.restarts):
            x0 = self._start_point(images, eps, seed, r)
            if self.keep_best:
                x, wrong = pgd_loop(self.model_fn, images, labels, eps, step_size, self.steps, x0, self.loss_fn,
                                    track_labels=labels)
            else:
                x = pgd_loop(self.model_fn, images, labels, eps, step_size, self.steps, x0, self.loss_fn)
                wrong = tf.not_equal(tf.argmax(self.model_fn(x), -1, output_type=tf.int32), labels)
            if best is None:
                best, fooled = x, wrong
            else:
                best = tf.where(tf.reshape(fooled, [-1, 1, 1, 1]), best, x)
                fooled = tf.logical_or(fooled, wrong)
        return best

    def with_eps(self, eps: float, step_size: Optional[float] = None) -> "PGD":
        """The same attack at another eps (and step size), sharing this one's compiled function: no retrace."""
        if eps < 0 or (step_size is not None and step_size < 0):
            raise ValueError(f"bad PGD settings: eps={eps}, step_size={step_size} (need >= 0)")
        other = copy.copy(self)
        other.eps = float(eps)
        other.step_size = self.step_size if step_size is None else float(step_size)
        return other

    def next_seed(self) -> int:
        """The seed of the next call without an explicit one (reproducible from the constructor's seed)."""
        return int(self._rng.integers(0, 2 ** 31 - 1))

    def perturb(self, images, labels, seed=None):
        """images float32 [B, H, W, C] in [0, 1], labels int [B] -> adversarial images of the same shape.

        `seed` (an int) fixes the random starts of this call; by default it comes from the attack's seed.
        """
        seed = self.next_seed() if seed is None else int(seed)
        return self._perturb(tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(labels, tf.int32),
                             tf.constant(seed % (2 ** 31 - 1), tf.int32), tf.constant(self.eps, tf.float32),
                             tf.constant(self.step_size, tf.float32))


class FGSM(PGD):
    """FGSM (Goodfellow et al. 2015): one signed-gradient step of `step_size` from x (no random start).

    `step_size=None` is the standard step = eps; the paper's "x10 step" setting passes 10x the PGD step (e.g.
    0.1 on MNIST), which is still projected to the eps-ball. With `keep_best`, an example already
    misclassified at x counts as fooled (the clean point is iterate 0).
    """

    name = "fgsm"

    def __init__(self, model_fn: Callable, eps: float, step_size: Optional[float] = None,
                 loss: Union[str, LossFn] = "ce", keep_best: bool = True):
        super().__init__(model_fn, eps, eps if step_size is None else step_size, 1, restarts=1, start="none",
                         loss=loss, keep_best=keep_best)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("restarts", "random_start", "seed"):
            config.pop(key)
        return config
