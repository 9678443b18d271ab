"""Attacks on any differentiable `images -> logits` callable (see `pgd.py` for the conventions).

Each attack is a small class with one entry point, `perturb(images, labels, seed=None) -> x'`, compiled once
per image size: `FGSM`, `PGD` (CE or CW loss, restarts), `APGD` (CE or DLR) and `APGDT` (targeted DLR),
`Square` (gradient-free) and `Transfer` (crafted on a surrogate). `pgd()` is the plain function the
training step uses.
"""

from drrdn_tf.attacks.apgd import APGD, APGDT, apgd_ce, apgd_dlr, checkpoints, dlr_loss, targeted_dlr_loss
from drrdn_tf.attacks.pgd import FGSM, PGD, ce_loss, cw_loss, fgsm, pgd, pgd_loop, project, random_start
from drrdn_tf.attacks.square import Square, margin
from drrdn_tf.attacks.transfer import Transfer

__all__ = ["PGD", "FGSM", "APGD", "APGDT", "Square", "Transfer", "pgd", "pgd_loop", "fgsm", "apgd_ce", "apgd_dlr",
           "ce_loss", "cw_loss", "dlr_loss", "targeted_dlr_loss", "margin", "checkpoints", "project",
           "random_start"]
