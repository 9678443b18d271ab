"""The one PGD (Eq. 2): L_inf projected gradient ascent with sign steps, used by training and evaluation.

`pgd(...)` is plain TensorFlow (a `tf.while_loop`), so it runs inside a model's compiled `train_step`;
`PGD` wraps it as a `tf.function` for stand-alone use (evaluation), adds restarts with the per-example worst
case kept, and never retraces for new batches of the same image size. FGSM is PGD with one step and no
random start.

Conventions: `model_fn(images) -> logits [B, K]`; images float32 [B, H, W, C] in [0, 1]; labels int [B];
the result x' satisfies |x' - x|_inf <= eps and x' in [0, 1].
"""

from __future__ import annotations

from typing import Callable, Union

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


def random_start(images, eps, start: str = "uniform"):
    """The starting point of PGD: x + U(-eps, eps) ("uniform", Madry), x + 0.001 N(0, 1) ("normal", TRADES'
    reference start) or x ("none"); clipped to the eps-ball and [0, 1]."""
    if start == "uniform":
        x = images + tf.random.uniform(tf.shape(images), -eps, eps, dtype=images.dtype)
    elif start == "normal":
        x = images + 0.001 * tf.random.normal(tf.shape(images), dtype=images.dtype)
    elif start == "none":
        return images
    else:
        raise ValueError(f"unknown PGD start {start!r}: choose one of {', '.join(STARTS)}")
    return project(x, images, eps)


def project(x, images, eps):
    """Projection onto the L_inf eps-ball around `images`, then onto the image box [0, 1]."""
    return tf.clip_by_value(tf.clip_by_value(x, images - eps, images + eps), 0.0, 1.0)


def pgd(model_fn: Callable, images, labels, eps, step_size, steps, start: str = "uniform",
        loss: Union[str, LossFn] = "ce"):
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
    Returns:
      x' float32 [B, H, W, C], |x' - images|_inf <= eps, in [0, 1], with no gradient to the inputs.
    """
    loss_fn = _loss_fn(loss)
    images = tf.convert_to_tensor(images, tf.float32)
    eps = tf.cast(eps, images.dtype)
    step_size = tf.cast(step_size, images.dtype)
    x = random_start(images, eps, start)

    def body(i, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            objective = tf.reduce_sum(loss_fn(labels, model_fn(x)))
        grad = tape.gradient(objective, x)
        return i + 1, project(x + step_size * tf.sign(grad), images, eps)

    _, x = tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), x), parallel_iterations=1)
    return tf.stop_gradient(x)


def fgsm(model_fn: Callable, images, labels, eps, step_size=None, loss: Union[str, LossFn] = "ce"):
    """FGSM: one signed-gradient step of `step_size` (default eps) from x, projected to the eps-ball."""
    return pgd(model_fn, images, labels, eps, eps if step_size is None else step_size, 1, start="none", loss=loss)


class PGD:
    """PGD as a compiled attack object: `PGD(model_fn, eps=0.3, ...).perturb(images, labels) -> x'`.

    With `restarts > 1`, each restart starts afresh and each example keeps its first misclassified
    x' (or the last one if none fools the model): the per-example worst case.
    """

    def __init__(self, model_fn: Callable, eps: float, step_size: float, steps: int, restarts: int = 1,
                 start: str = "uniform", loss: Union[str, LossFn] = "ce"):
        if eps < 0 or step_size < 0 or steps < 0 or restarts < 1:
            raise ValueError(f"bad PGD settings: eps={eps}, step_size={step_size}, steps={steps}, "
                             f"restarts={restarts} (need eps, step_size, steps >= 0 and restarts >= 1)")
        _loss_fn(loss)
        if start not in STARTS:
            raise ValueError(f"unknown PGD start {start!r}: choose one of {', '.join(STARTS)}")
        self.model_fn, self.eps, self.step_size, self.steps = model_fn, eps, step_size, steps
        self.restarts, self.start, self.loss = restarts, start, loss
        self._perturb = tf.function(self._perturb_impl, reduce_retracing=True)

    def _perturb_impl(self, images, labels):
        best = None
        fooled = None
        for _ in range(self.restarts):
            x = pgd(self.model_fn, images, labels, self.eps, self.step_size, self.steps, self.start, self.loss)
            wrong = tf.not_equal(tf.argmax(self.model_fn(x), -1, output_type=tf.int32), tf.cast(labels, tf.int32))
            if best is None:
                best, fooled = x, wrong
            else:
                keep = tf.reshape(fooled, [-1, 1, 1, 1])
                best = tf.where(keep, best, x)
                fooled = tf.logical_or(fooled, wrong)
        return best

    def perturb(self, images, labels):
        """images float32 [B, H, W, C] in [0, 1], labels int [B] -> adversarial images of the same shape."""
        return self._perturb(tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(labels, tf.int32))
