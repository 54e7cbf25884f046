"""Frechet distance between two feature sets (the FID formula, in any feature space)."""

from __future__ import annotations

import numpy as np
from pytorch_fid.fid_score import calculate_frechet_distance


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) of features (N, F)."""
    return features.mean(0), np.cov(features, rowvar=False)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2), via pytorch-fid's implementation."""
    mu_a, sigma_a = feature_statistics(features_a)
    mu_b, sigma_b = feature_statistics(features_b)
    return float(calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b))
