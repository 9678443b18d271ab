"""APGD (Croce & Hein, ICML 2020): Auto-PGD with the CE or DLR loss, and APGD-T with the targeted DLR loss.

Written from the paper (Algorithm 1 and Section 3), L_inf only:
  - initial step eta = 2 eps; momentum alpha = 0.75 (no momentum on the first step):
      z = P(x_k + eta sign(grad f(x_k))),  x_{k+1} = P(x_k + alpha (z - x_k) + (1 - alpha)(x_k - x_{k-1}));
  - checkpoints w_j = ceil(p_j N) with p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06);
  - at a checkpoint the step is halved, and the iterate restarts from the best point found so far, if
      (1) fewer than rho = 0.75 of the steps since the last checkpoint increased the loss, or
      (2) the step was not reduced at the last checkpoint and the best loss has not improved since;
  - DLR = -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12) (pi sorts the logits in decreasing order);
    targeted DLR = -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12);
  - APGD-T runs once per target t = the class ranked 2, 3, ..., n_target_classes + 1 by the clean logits.
Everything is per example (step size, checkpoint conditions, best point), so an example's trajectory does
not depend on the rest of its batch. Each example keeps the first iterate that fooled the model (or, if
none did, the point of highest loss); across restarts and targets the first run that fooled it wins.
"""

from __future__ import annotations

import math
from typing import Callable, List

import numpy as np
import tensorflow as tf

from drrdn_tf.attacks.base import Attack, LinfBall, per_example, same_shape, stateless_seed
from drrdn_tf.attacks.losses import ce_loss, dlr_loss, targeted_dlr_loss

RHO = 0.75
ALPHA = 0.75


def checkpoints(steps: int) -> List[int]:
    """The APGD checkpoints w_0 = 0 < w_1 < ... <= steps, as iteration counts (ceil(p_j * steps))."""
    p = [0.0, 0.22]
    while True:
        nxt = round(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06), 10)
        if nxt > 1.0:
            break
        p.append(nxt)
    return sorted({int(math.ceil(round(pj * steps, 6))) for pj in p if pj * steps <= steps})


class APGD(Attack):
    """Untargeted APGD: `APGD(model_fn, eps, steps=100, loss="ce"|"dlr").perturb(images, labels) -> x'`.

    Args:
      model_fn: images -> logits [B, K].
      eps: L_inf radius.
      steps: iterations N (each costs one forward+backward pass; one more for the start point).
      restarts: runs from independent random starts x + U(-eps, eps).
      loss: "ce" or "dlr".
      rho, alpha: the checkpoint threshold and momentum (0.75 and 0.75 in the paper).
      seed: seeds the per-call seeds (None: fresh randomness); the start of restart r on a call with seed s
        depends only on (s, r), so runs are reproducible and restarts are nested.
    """

    name = "apgd"
    targeted = False
    losses = ("ce", "dlr")

    def __init__(self, model_fn: Callable, eps: float, steps: int = 100, restarts: int = 1, loss: str = "ce",
                 rho: float = RHO, alpha: float = ALPHA, seed=None):
        if eps < 0 or steps < 1 or restarts < 1 or not 0 < rho <= 1 or not 0 < alpha <= 1:
            raise ValueError(f"bad APGD settings: eps={eps}, steps={steps}, restarts={restarts}, rho={rho}, "
                             f"alpha={alpha} (need eps >= 0, steps >= 1, restarts >= 1, rho and alpha in (0, 1])")
        if loss not in self.losses:
            raise ValueError(f"unknown {type(self).__name__} loss {loss!r}: choose one of {', '.join(self.losses)}")
        super().__init__(model_fn, eps, seed)
        self.steps, self.restarts = int(steps), int(restarts)
        self.loss, self.rho, self.alpha = loss, float(rho), float(alpha)
        lengths = np.zeros(self.steps + 1, np.float32)
        w = checkpoints(self.steps)
        for prev, cur in zip(w[:-1], w[1:]):
            lengths[cur] = cur - prev
        self._checkpoint_lengths = lengths  # [N + 1]: w_j - w_{j-1} at t = w_j, else 0
        self._run = tf.function(self._run_impl, reduce_retracing=True)
        self._logits = tf.function(lambda x: self.model_fn(x), reduce_retracing=True)
        self.last_fooled = None
        self.last_step_size = None

    # ------------------------------------------------------------------ description

    def settings(self) -> dict:
        return {"steps": self.steps, "restarts": self.restarts, "loss": self.loss, "rho": self.rho,
                "alpha": self.alpha, "initial_step": 2 * self.eps, "checkpoints": checkpoints(self.steps)}

    def _per_example_loss(self, labels, targets, logits):
        if self.targeted:
            return targeted_dlr_loss(labels, targets, logits)
        return dlr_loss(labels, logits) if self.loss == "dlr" else ce_loss(labels, logits)

    def _runs(self, num_classes: int):
        """(target rank, restart) of every run, in order (rank 0: untargeted)."""
        return [(0, r) for r in range(self.restarts)]

    # ------------------------------------------------------------------ one run (compiled)

    def _run_impl(self, images, labels, fooled_before, target_rank, seed, restart, eps):
        """One APGD run from the uniform random start of (seed, restart): returns x' [B, H, W, C] in the ball,
        fooled by this run bool [B] and the final step sizes eta [B]. The loop stops once every example is
        fooled (by this run or, `fooled_before` [B], by an earlier one)."""
        labels = tf.cast(labels, tf.int32)
        batch = tf.shape(images)[0]
        if self.targeted:
            order = tf.argsort(self.model_fn(images), axis=-1, direction="DESCENDING", stable=True)
            targets = tf.gather(order, target_rank - 1, axis=1)
        else:
            targets = labels
        lengths = tf.constant(self._checkpoint_lengths)

        def value_and_grad(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                logits = self.model_fn(x)
                loss = self._per_example_loss(labels, targets, logits)
                objective = tf.reduce_sum(loss)
            grad = tape.gradient(objective, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            wrong = tf.not_equal(tf.argmax(logits, -1, output_type=tf.int32), labels)
            return tf.cast(loss, tf.float32), grad, wrong

        ball = LinfBall(images, eps)
        x0 = ball.start("uniform", stateless_seed(seed, restart))
        loss0, grad0, wrong0 = value_and_grad(x0)
        eta = tf.fill([batch], 2.0 * eps)
        state = dict(
            t=tf.constant(0), x=x0, x_prev=x0, grad=grad0, loss=loss0,
            x_max=x0, grad_max=grad0, f_max=loss0,
            eta=eta, count=tf.zeros([batch]), f_max_last=loss0, reduced_last=tf.zeros([batch], tf.bool),
            x_adv=tf.where(per_example(wrong0), x0, images), fooled=wrong0)

        def cond(s):
            return tf.logical_and(s["t"] < self.steps,
                                  tf.logical_not(tf.reduce_all(tf.logical_or(s["fooled"], fooled_before))))

        def body(s):
            t = s["t"]
            x, x_prev = s["x"], s["x_prev"]
            alpha = tf.where(tf.equal(t, 0), 1.0, self.alpha)
            z = ball.step(x, s["grad"], per_example(s["eta"]))
            x_new = ball.project(x + alpha * (z - x) + (1.0 - alpha) * (x - x_prev))
            loss, grad, wrong = value_and_grad(x_new)
            newly = tf.logical_and(wrong, tf.logical_not(s["fooled"]))
            x_adv = tf.where(per_example(newly), x_new, s["x_adv"])
            fooled = tf.logical_or(s["fooled"], wrong)
            count = s["count"] + tf.cast(loss > s["loss"], tf.float32)
            improved = loss > s["f_max"]
            x_max = tf.where(per_example(improved), x_new, s["x_max"])
            grad_max = tf.where(per_example(improved), grad, s["grad_max"])
            f_max = tf.where(improved, loss, s["f_max"])
            # A checkpoint after t + 1 steps halves eta where too few steps improved or the best loss stalled.
            length = lengths[t + 1]
            at_checkpoint = length > 0
            few_successes = count < self.rho * length
            stalled = tf.logical_and(tf.logical_not(s["reduced_last"]), f_max <= s["f_max_last"])
            halve = tf.logical_and(at_checkpoint, tf.logical_or(few_successes, stalled))
            restart_here = per_example(halve)
            return [{k: same_shape(v, s[k]) for k, v in dict(
                t=t + 1,
                x=tf.where(restart_here, x_max, x_new), x_prev=tf.where(restart_here, x_max, x),
                grad=tf.where(restart_here, grad_max, grad), loss=tf.where(halve, f_max, loss),
                x_max=x_max, grad_max=grad_max, f_max=f_max,
                eta=tf.where(halve, s["eta"] / 2.0, s["eta"]),
                count=tf.where(at_checkpoint, 0.0, count),
                f_max_last=tf.where(at_checkpoint, f_max, s["f_max_last"]),
                reduced_last=tf.where(at_checkpoint, halve, s["reduced_last"]),
                x_adv=x_adv, fooled=fooled).items()}]

        (final,) = tf.while_loop(cond, body, [state], parallel_iterations=1)
        x_out = tf.where(per_example(final["fooled"]), final["x_adv"], final["x_max"])
        return tf.stop_gradient(x_out), final["fooled"], final["eta"]

    # ------------------------------------------------------------------ entry point

    def perturb(self, images, labels, seed=None):
        """images float32 [B, H, W, C] in [0, 1], labels int [B] -> adversarial images of the same shape.

        Examples the model already misclassifies are returned unchanged; the runs stop early once every
        example of the batch is fooled. `self.last_fooled` holds the per-example result (numpy bool [B]) and
        `self.last_step_size` the step sizes at the end of the last run (numpy [B]).
        """
        seed = self.call_seed(seed)
        images = tf.convert_to_tensor(images, tf.float32)
        labels = tf.convert_to_tensor(labels, tf.int32)
        logits = self._logits(images)
        num_classes = int(logits.shape[-1])
        needed = 4 if self.targeted else (3 if self.loss == "dlr" else 2)
        if num_classes < needed:
            raise ValueError(f"{self.name} needs at least {needed} classes, the model has {num_classes}")
        fooled = tf.not_equal(tf.argmax(logits, -1, output_type=tf.int32), labels)
        x_out = images
        eps = tf.constant(self.eps, tf.float32)
        for rank, restart in self._runs(num_classes):
            if bool(tf.reduce_all(fooled)):
                break
            x, wrong, eta = self._run(images, labels, fooled, tf.constant(rank, tf.int32),
                                      tf.constant(seed, tf.int32), tf.constant(restart, tf.int32), eps)
            x_out = tf.where(per_example(fooled), x_out, x)
            fooled = tf.logical_or(fooled, wrong)
            self.last_step_size = eta.numpy()
        self.last_fooled = fooled.numpy()
        return x_out


class APGDT(APGD):
    """APGD-T: APGD with the targeted DLR loss, once per target class ranked 2 .. n_target_classes + 1 by the
    clean logits (AutoAttack's default: 9 targets on 10 classes, 100 iterations, 1 restart per target).

    `n_target_classes` is capped at K - 1 for a K-class model.
    """

    name = "apgd-t"
    targeted = True
    losses = ("dlr",)

    def __init__(self, model_fn: Callable, eps: float, steps: int = 100, restarts: int = 1,
                 n_target_classes: int = 9, rho: float = RHO, alpha: float = ALPHA, seed=None,
                 loss: str = "dlr"):
        if n_target_classes < 1:
            raise ValueError(f"n_target_classes must be >= 1, got {n_target_classes}")
        self.n_target_classes = int(n_target_classes)
        super().__init__(model_fn, eps, steps=steps, restarts=restarts, loss=loss, rho=rho, alpha=alpha, seed=seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "loss": "dlr-targeted", "n_target_classes": self.n_target_classes}

    def _runs(self, num_classes: int):
        ranks = range(2, min(self.n_target_classes, num_classes - 1) + 2)
        return [(rank, r) for rank in ranks for r in range(self.restarts)]


def apgd_ce(model_fn: Callable, eps: float, steps: int = 100, restarts: int = 1, seed=None) -> APGD:
    """AutoAttack's APGD-CE."""
    attack = APGD(model_fn, eps, steps=steps, restarts=restarts, loss="ce", seed=seed)
    attack.name = "apgd-ce"
    return attack


__all__ = ["APGD", "APGDT", "apgd_ce", "checkpoints"]
