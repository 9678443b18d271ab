"""The stability issue's criterion of a steady run, computed from a run's per-epoch history.

A run is steady when, from the first epoch at full eps on, its validation PGD accuracy never falls by more than
`STEADY_POINTS` from one epoch to the next ("max drop") and its last epoch is within `STEADY_POINTS` of its best
("last - best"). Shared by the proxy study (stability.py) and the paper-scale report (paper_scale.py)."""

from __future__ import annotations

from typing import List

#: the criterion's threshold, in points (percent) of validation PGD accuracy
STEADY_POINTS = 2.0


def steadiness(history: List[dict], warmup: int) -> dict:
    """From the per-epoch history (dicts with `epoch` (1-based), `val_acc`, `val_pgd_acc` in [0, 1]):
    validation figures after the warm-up (epochs >= warmup: the first epoch at full eps and every later one),
    in points (percent), and `steady` (the criterion above)."""
    full = [e for e in history if e["epoch"] >= max(warmup, 1)] or history
    pgd = [100 * e["val_pgd_acc"] for e in full]
    drops = [a - b for a, b in zip(pgd, pgd[1:])]
    last = history[-1]
    return {"epochs": len(history), "val_acc": 100 * last["val_acc"], "val_pgd_acc": pgd[-1],
            "best_val_pgd_acc": max(pgd), "max_drop": max([0.0] + drops), "last_minus_best": pgd[-1] - max(pgd),
            "min_train_acc": 100 * min(e.get("acc", e.get("adv_acc", 0.0)) for e in full),
            "dom_acc_s": last.get("dom_acc_s"), "zs_norm": last.get("zs_norm"),
            "steady": max([0.0] + drops) <= STEADY_POINTS and pgd[-1] - max(pgd) >= -STEADY_POINTS}
