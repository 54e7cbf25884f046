"""Frechet distance between two feature sets (the FID formula, in any feature space)."""

from __future__ import annotations

import numpy as np


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) of features (N, F)."""
    return features.mean(0), np.cov(features, rowvar=False)


def frechet_distance_from_statistics(mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2): pytorch-fid's ``calculate_frechet_distance``.

    Tr((S_a S_b)^1/2) is the sum of the square roots of the eigenvalues of S_a S_b, which are those
    of the symmetric PSD matrix S_a^1/2 S_b S_a^1/2: two symmetric eigendecompositions instead of
    scipy's general matrix square root, several times faster at F = 2048 and no less accurate
    (tests/test_metrics.py compares it with pytorch-fid's)."""
    w, v = np.linalg.eigh(sigma_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S_a^1/2, (F, F); clip: rounding below 0
    middle = root_a @ sigma_b @ root_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    diff = mu_a - mu_b
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_sqrt)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """The Frechet distance of two feature sets (N_a, F) and (N_b, F)."""
    return frechet_distance_from_statistics(*feature_statistics(features_a), *feature_statistics(features_b))
