"""Sampling noise of accuracies measured on a finite set of test images: when is a gap between two models
more than the choice of images? One place for the rule the reports use to call a gap a tie."""

from __future__ import annotations

import math


def two_standard_errors(a: float, b: float, n: int) -> float:
    """Two standard errors, in points, of the difference a - b of two accuracies (in %) each measured on the
    same n test images, taken as independent samples: conservative, since the pairing on the same images only
    makes the true error smaller. It covers the choice of test images, not the spread over training seeds."""
    p, q = a / 100, b / 100
    return 200 * math.sqrt((p * (1 - p) + q * (1 - q)) / n)


def gap_words(a: float, b: float, n: int) -> str:
    """"+x.xx ±y.yy" for the gap a - b (accuracies in %, n images) and its two-standard-error band."""
    return f"{a - b:+.2f} ±{two_standard_errors(a, b, n):.2f}"


def verdict(a: float, b: float, n: int) -> str:
    """"below", "above" or "tie": where the gap a - b lies against its two-standard-error band."""
    band = two_standard_errors(a, b, n)
    return "below" if a - b < -band else "above" if a - b > band else "tie"
