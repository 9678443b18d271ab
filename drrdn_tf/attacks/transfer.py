"""Transfer (black-box) attack: adversarial examples crafted on a surrogate model, then shown to the target.

The target is never queried while crafting; `Transfer.perturb` returns the surrogate's adversarial images
and the caller evaluates them on the target model (`drrdn_tf.evaluation` does). By default the surrogate's
attack is the plain PGD loop (last iterate of each run, as in the usual transfer protocol); any attack
object with `perturb(images, labels, seed=None)` built on the surrogate can be passed instead.
"""

from __future__ import annotations

from typing import Callable, Optional

from drrdn_tf.attacks.pgd import PGD


class Transfer:
    """`Transfer(surrogate_fn, eps, step_size, steps).perturb(images, labels) -> x'` crafted on the surrogate.

    Args:
      surrogate_fn: the surrogate's images -> logits.
      eps, step_size, steps, restarts, loss, start, seed: its PGD (see `PGD`); ignored if `attack` is given.
      attack: a ready attack on the surrogate (e.g. `APGD(surrogate_fn, ...)`).
    """

    name = "transfer"

    def __init__(self, surrogate_fn: Optional[Callable], eps: float, step_size: float = 0.01, steps: int = 40,
                 restarts: int = 1, loss: str = "ce", start: str = "uniform", seed=None, attack=None):
        self.surrogate_fn = surrogate_fn
        if attack is None:
            if surrogate_fn is None:
                raise ValueError("Transfer needs a surrogate model function or a ready attack on the surrogate")
            attack = PGD(surrogate_fn, eps, step_size, steps, restarts=restarts, start=start, loss=loss, seed=seed,
                         keep_best=False)
        elif abs(float(getattr(attack, "eps", eps)) - float(eps)) > 1e-12:
            raise ValueError(f"the surrogate attack's eps {attack.eps} differs from the transfer eps {eps}")
        self.attack, self.eps = attack, float(eps)

    def get_config(self) -> dict:
        return {"name": self.name, "eps": self.eps, "surrogate_attack": self.attack.get_config()}

    def perturb(self, images, labels, seed=None):
        """Adversarial images for the surrogate (|x' - x|_inf <= eps, in [0, 1]), to be evaluated on the target."""
        return self.attack.perturb(images, labels, seed=seed)


__all__ = ["Transfer"]
