"""Attacks on any differentiable `images -> logits` callable (see `pgd.py` for the conventions)."""

from drrdn_tf.attacks.pgd import PGD, ce_loss, cw_loss, fgsm, pgd, project, random_start

__all__ = ["PGD", "pgd", "fgsm", "ce_loss", "cw_loss", "project", "random_start"]
