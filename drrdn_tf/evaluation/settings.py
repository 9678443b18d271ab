"""What each preset runs with: the preset names, the data sets' attack settings (from the registry), the
masking report's budgets, the autoattack preset's default budget and the transfer attack's settings.

All eps and step sizes are L_inf distances in the [0, 1] pixel scale of the images.
"""

from __future__ import annotations

from typing import Optional, Tuple

from drrdn_tf import datasets
from drrdn_tf.datasets import AttackSettings

PRESETS = ("paper", "autoattack", "quick")

# Masking-report budgets per preset (ours): PGD steps of the eps sweep, sweep points as multiples of eps
# (eps = 1.0, unbounded, is always added), Square queries for the gradient-free check (None: the autoattack
# preset's own Square column is used instead of a separate run).
MASKING_SETTINGS = {
    "paper": dict(sweep_steps=20, sweep_factors=(0.0, 0.25, 0.5, 1.0, 2.0), square_queries=1000),
    "autoattack": dict(sweep_steps=20, sweep_factors=(0.0, 0.25, 0.5, 1.0, 2.0), square_queries=None),
    "quick": dict(sweep_steps=10, sweep_factors=(0.0, 0.5, 1.0), square_queries=200),
}

# The autoattack preset's budget: AutoAttack's standard one (APGD steps, APGD-T target classes, Square queries).
# `evaluate(autoattack_budget=...)` overrides single keys (tests use a tiny budget).
AUTOATTACK_BUDGET = {"apgd_steps": 100, "n_target_classes": 9, "square_queries": 5000}

# A budget that only checks the autoattack chain's code paths (the --tiny runs of the experiment commands).
TINY_AUTOATTACK_BUDGET = {"apgd_steps": 2, "n_target_classes": 1, "square_queries": 4}


def settings_for(dataset: str) -> AttackSettings:
    """The threat model and attack settings of `dataset` (its registry entry in `drrdn_tf.datasets`).

    Raises ValueError (from the registry) for an unknown data set."""
    return datasets.get(dataset).attack


def transfer_settings(preset: str, s: AttackSettings, eps: float) -> Tuple[int, float]:
    """(steps, step size) of the PGD run on a surrogate for a transfer column: the quick preset's PGD-10 of
    step eps/4, otherwise the data set's transfer attack."""
    return (10, eps / 4) if preset == "quick" else (s.transfer_steps, s.transfer_step)


def autoattack_budget_with(overrides: Optional[dict] = None) -> dict:
    """The autoattack preset's budget: `AUTOATTACK_BUDGET` with the keys of `overrides` replaced."""
    return {**AUTOATTACK_BUDGET, **(overrides or {})}
