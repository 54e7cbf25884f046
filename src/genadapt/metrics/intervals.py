"""Uncertainty of headline numbers: binomial intervals for accuracies, mean and std over seeds."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion (stays inside [0, 1], sane at 0 and n)."""
    if n <= 0:
        raise ValueError("an interval needs n > 0")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_with_interval(correct: np.ndarray, prefix: str) -> dict[str, float]:
    """{prefix, prefix_ci_low, prefix_ci_high, prefix_n} of a boolean array (N,) of correct answers."""
    n, k = len(correct), int(np.sum(correct))
    low, high = wilson_interval(k, n)
    return {prefix: k / n, f"{prefix}_ci_low": low, f"{prefix}_ci_high": high, f"{prefix}_n": n}


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) over seeds."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0
