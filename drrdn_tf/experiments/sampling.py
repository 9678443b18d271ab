"""Sampling noise of accuracies measured on a finite set of test images: when is a gap between two models
more than the choice of images? One place for the rule the reports use to call a gap a tie."""

from __future__ import annotations

import math

import numpy as np


def two_standard_errors(a: float, b: float, n: int) -> float:
    """Two standard errors, in points, of the difference a - b of two accuracies (in %) each measured on the
    same n test images, taken as independent samples: conservative, since the pairing on the same images only
    makes the true error smaller. It covers the choice of test images, not the spread over training seeds."""
    p, q = a / 100, b / 100
    return 200 * math.sqrt((p * (1 - p) + q * (1 - q)) / n)


def paired_two_standard_errors(a, b) -> float:
    """Two standard errors, in points, of the difference of two accuracies measured on the same images, from the
    per-example flags a, b (bool [n], True = correct): the standard error of the mean of the per-image
    differences a_i - b_i, so only the images on which the two models disagree add to it (McNemar's setting).
    Smaller than `two_standard_errors` of the same accuracies when the two models tend to fail on the same
    images (as two robust models do), and much smaller when they fail on mostly the same ones."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"need two flag vectors [n] of one length n >= 2, got shapes {a.shape} and {b.shape}")
    d = a - b
    return 200 * math.sqrt(float(np.mean(d ** 2) - np.mean(d) ** 2) / len(d))


def gap_words(a: float, b: float, n: int, band: float = None) -> str:
    """"+x.xx ±y.yy" for the gap a - b (accuracies in %, n images) and its two-standard-error band (the
    unpaired one of `two_standard_errors` unless `band` is given, e.g. `paired_two_standard_errors`)."""
    return f"{a - b:+.2f} ±{two_standard_errors(a, b, n) if band is None else band:.2f}"


def verdict(a: float, b: float, n: int, band: float = None) -> str:
    """"below", "above" or "tie": where the gap a - b lies against its two-standard-error band (as in
    `gap_words`)."""
    band = two_standard_errors(a, b, n) if band is None else band
    return "below" if a - b < -band else "above" if a - b > band else "tie"
