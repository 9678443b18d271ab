"""Attacks on any differentiable `images -> logits` callable (conventions: `base.py`).

Each attack is a small class on `Attack` with one entry point, `perturb(images, labels, seed=None) -> x'`,
compiled once per image size: `FGSM`, `PGD` (CE or CW loss, restarts), `APGD` (CE or DLR) and `APGDT`
(targeted DLR), `Square` (gradient-free) and `Transfer` (crafted on a surrogate). The threat model they share
is `LinfBall` (start, project, step); their objectives live in `losses.py` on the one `margin`. `pgd()` is
the plain function the training step uses.
"""

from drrdn_tf.attacks.apgd import APGD, APGDT, apgd_ce, checkpoints
from drrdn_tf.attacks.base import Attack, LinfBall, same_shape
from drrdn_tf.attacks.losses import ce_loss, cw_loss, dlr_loss, margin, targeted_dlr_loss
from drrdn_tf.attacks.pgd import FGSM, PGD, pgd, pgd_loop, pgd_loop_tracked, project, random_start
from drrdn_tf.attacks.square import Square
from drrdn_tf.attacks.transfer import Transfer

__all__ = ["Attack", "LinfBall", "PGD", "FGSM", "APGD", "APGDT", "Square", "Transfer", "pgd", "pgd_loop",
           "pgd_loop_tracked", "apgd_ce", "ce_loss", "cw_loss", "dlr_loss", "targeted_dlr_loss", "margin",
           "checkpoints", "project", "random_start", "same_shape"]
