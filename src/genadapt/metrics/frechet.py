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
    """The Frechet distance of two feature sets (N_a, F) and (N_b, F).

    When a set has fewer samples than features (FID's 2048 Inception features at N <= 2048), the
    covariances are low-rank and the trace term needs no F x F decomposition: with A (N_a, F) and
    B (N_b, F) the centred features, S_a S_b = A^T A B^T B / c (c = (N_a - 1)(N_b - 1)) has the
    nonzero eigenvalues of M M^T, M = A B^T (N_a, N_b), so Tr((S_a S_b)^1/2) is the sum of M's singular
    values over sqrt(c). Exact, and at F = 2048, N = 1000 about 20 times faster on one core than
    the two F x F eigendecompositions (tests/test_metrics.py checks it against pytorch-fid's)."""
    n_a, n_b, dim = len(features_a), len(features_b), features_a.shape[1]
    if min(n_a, n_b) >= dim:
        return frechet_distance_from_statistics(*feature_statistics(features_a), *feature_statistics(features_b))
    features_a, features_b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    a, b = features_a - mu_a, features_b - mu_b  # (N_a, F), (N_b, F)
    trace_sqrt = np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt((n_a - 1) * (n_b - 1))
    diff = mu_a - mu_b
    return float(diff @ diff + (a * a).sum() / (n_a - 1) + (b * b).sum() / (n_b - 1) - 2 * trace_sqrt)
