"""The one PGD (Eq. 2): L_inf projected gradient ascent with sign steps, used by training and evaluation.

`pgd(...)` is plain TensorFlow (a `tf.while_loop`), so it runs inside a model's compiled `train_step`;
`PGD` wraps it as a `tf.function` for stand-alone use (evaluation), adds seeded restarts with the per-example
worst case kept (best iterate within a run, first fooling restart across runs), and never retraces for new
batches of the same image size. FGSM is PGD with one step and no random start. All of them iterate with
`pgd_loop` (last iterate) or `pgd_loop_tracked` (best iterate), which take their steps on a `LinfBall`.

Conventions: see `drrdn_tf.attacks.base` (images float32 [B, H, W, C] in [0, 1], labels int [B], x' in the
eps-ball and in [0, 1]).
"""

from __future__ import annotations

import copy
from typing import Callable, Optional, Union

import tensorflow as tf

from drrdn_tf.attacks.base import STARTS, Attack, LinfBall, per_example, same_shape, stateless_seed
from drrdn_tf.attacks.losses import ce_loss, cw_loss

LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]  # (labels or target, logits [B, K]) -> per-example [B]
LOSSES = {"ce": ce_loss, "cw": cw_loss}


def _loss_fn(loss: Union[str, LossFn]) -> LossFn:
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown PGD loss {loss!r}: choose one of {', '.join(LOSSES)} or pass a callable")
    return LOSSES[loss]


def _loss_name(loss: Union[str, LossFn]) -> str:
    return loss if isinstance(loss, str) else getattr(loss, "__name__", "custom")


def random_start(images, eps, start: str = "uniform", seed=None):
    """The starting point of PGD, [B, H, W, C] in the eps-ball and [0, 1]: x + U(-eps, eps) ("uniform",
    Madry), x + 0.001 N(0, 1) ("normal", TRADES' reference start) or x ("none"), projected. `seed` (int32 [2])
    draws it from a stateless generator: the same seed and images give the same start; None draws fresh
    randomness (see `LinfBall.start`)."""
    return LinfBall(images, eps).start(start, seed)


def project(x, images, eps):
    """Projection of x [B, H, W, C] onto the L_inf eps-ball around `images` intersected with [0, 1]."""
    return LinfBall(images, eps).project(x)


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
    ball = LinfBall(tf.convert_to_tensor(images, tf.float32), eps)
    return _last_iterate(model_fn, ball, labels, step_size, steps, ball.start(start, seed), loss_fn)


def _ascent(model_fn: Callable, ball: LinfBall, labels, step_size, loss_fn: LossFn, unconnected):
    """One PGD step as a function x -> (next x, logits of x, per-example loss of x)."""
    step_size = tf.cast(step_size, ball.images.dtype)

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = model_fn(x)
            per_example_loss = loss_fn(labels, logits)
            objective = tf.reduce_sum(per_example_loss)
        grad = tape.gradient(objective, x, unconnected_gradients=unconnected)
        return ball.step(x, grad, step_size), logits, per_example_loss

    return step


def _last_iterate(model_fn, ball, labels, step_size, steps, x, loss_fn):
    step = _ascent(model_fn, ball, labels, step_size, loss_fn, tf.UnconnectedGradients.NONE)

    def body(i, x):
        return i + 1, same_shape(step(x)[0], x)   # a SavedModel's unknown batch size must not leak into x

    _, x = tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), x), parallel_iterations=1)
    return tf.stop_gradient(x)


def pgd_loop(model_fn: Callable, images, labels, eps, step_size, steps, x, loss_fn: LossFn):
    """The PGD iterations from the starting point `x` [B, H, W, C] (in the ball): returns the last iterate
    x_T [B, H, W, C] in the eps-ball around `images` and in [0, 1], with no gradient to the inputs.

    A gradient that does not reach the input is an error here (TensorFlow's None gradient).
    """
    ball = LinfBall(tf.convert_to_tensor(images, tf.float32), eps)
    return _last_iterate(model_fn, ball, labels, step_size, steps, x, loss_fn)


def _best_iterate(model_fn, ball, labels, step_size, steps, x, loss_fn, track_labels):
    step = _ascent(model_fn, ball, labels, step_size, loss_fn, tf.UnconnectedGradients.ZERO)
    track_labels = tf.cast(track_labels, tf.int32)

    def keep(x, logits, per_example_loss, best, best_loss, fooled):
        wrong = tf.not_equal(tf.argmax(logits, -1, output_type=tf.int32), track_labels)
        per_example_loss = tf.cast(per_example_loss, best_loss.dtype)
        better = tf.logical_and(wrong, tf.logical_or(tf.logical_not(fooled), per_example_loss > best_loss))
        return (tf.where(per_example(better), x, best), tf.where(better, per_example_loss, best_loss),
                tf.logical_or(fooled, wrong))

    def body(i, x, best, best_loss, fooled):
        x_next, logits, per_example_loss = step(x)
        out = (i + 1, x_next) + keep(x, logits, per_example_loss, best, best_loss, fooled)
        return tuple(same_shape(new, old) for new, old in zip(out, (i, x, best, best_loss, fooled)))

    batch = tf.shape(ball.images)[0]
    state = (tf.constant(0), x, x, tf.fill([batch], tf.constant(-float("inf"), tf.float32)), tf.zeros([batch], tf.bool))
    _, x, best, best_loss, fooled = tf.while_loop(lambda i, *_: i < steps, body, state, parallel_iterations=1)
    logits = model_fn(x)  # x_T is judged too: one forward pass more than the steps
    best, _, fooled = keep(x, logits, loss_fn(labels, logits), best, best_loss, fooled)
    return tf.stop_gradient(tf.where(per_example(fooled), best, x)), fooled


def pgd_loop_tracked(model_fn: Callable, images, labels, eps, step_size, steps, x, loss_fn: LossFn, track_labels):
    """`pgd_loop` that also watches every iterate x_0 .. x_T against the classes `track_labels` int [B].

    The logits of x_t are those of the step from x_t, so the watching costs no extra gradient (x_T costs one
    more forward pass). Returns `(x_best, fooled)`: per example, the misclassified iterate with the highest
    loss if any iterate was misclassified (fooled [B] True), else x_T. So T' > T steps from the same start
    never fool fewer examples. A gradient that does not reach the input counts as zero (a gradient-masking
    model is then reported as robust, not as a crash).
    """
    ball = LinfBall(tf.convert_to_tensor(images, tf.float32), eps)
    return _best_iterate(model_fn, ball, labels, step_size, steps, x, loss_fn, track_labels)


class PGD(Attack):
    """PGD as a compiled attack object: `PGD(model_fn, eps=0.3, step_size=0.01, steps=40).perturb(x, y) -> x'`.

    Per example the worst case is kept: within a run, the misclassified iterate with the highest loss
    (`keep_best`, see `pgd_loop_tracked`); across `restarts`, the first restart that fooled the model (else
    the last one). Random starts are drawn from stateless generators seeded by (call seed, restart), so two
    attacks built with the same `seed` start from the same points on the same batches: then more steps or
    more restarts can never fool fewer examples. The compiled function is traced once per image size (eps
    and the call seed are tensors), so new batches of the same shape never retrace.

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
        super().__init__(model_fn, eps, seed)
        self.step_size, self.steps = float(step_size), int(steps)
        self.restarts, self.start, self.loss, self.keep_best = int(restarts), start, loss, bool(keep_best)
        self._perturb = tf.function(self._perturb_impl, reduce_retracing=True)

    def tracing_count(self) -> int:
        """How many times the compiled attack has been traced (one per new input signature)."""
        return self._perturb.experimental_get_tracing_count()

    def settings(self) -> dict:
        return {"step_size": self.step_size, "steps": self.steps, "restarts": self.restarts,
                "random_start": self.start, "loss": _loss_name(self.loss), "keep_best": self.keep_best}

    def _perturb_impl(self, images, labels, seed, eps, step_size):
        labels = tf.cast(labels, tf.int32)
        ball = LinfBall(images, eps)
        best = fooled = None
        for r in range(self.restarts):
            x0 = ball.start(self.start, stateless_seed(seed, r))
            if self.keep_best:
                x, wrong = _best_iterate(self.model_fn, ball, labels, step_size, self.steps, x0, self.loss_fn,
                                         labels)
            else:
                x = _last_iterate(self.model_fn, ball, labels, step_size, self.steps, x0, self.loss_fn)
                wrong = tf.not_equal(tf.argmax(self.model_fn(x), -1, output_type=tf.int32), labels)
            if best is None:
                best, fooled = x, wrong
            else:
                best = tf.where(per_example(fooled), best, x)
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

    def perturb(self, images, labels, seed=None):
        """images float32 [B, H, W, C] in [0, 1], labels int [B] -> adversarial images of the same shape.

        `seed` (an int) fixes the random starts of this call; by default it comes from the attack's seed.
        """
        return self._perturb(tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(labels, tf.int32),
                             tf.constant(self.call_seed(seed), tf.int32), tf.constant(self.eps, tf.float32),
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


__all__ = ["FGSM", "LOSSES", "PGD", "pgd", "pgd_loop", "pgd_loop_tracked", "project", "random_start"]
