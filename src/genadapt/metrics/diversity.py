"""Diversity of a set of images, to detect mode collapse: the mean pairwise Euclidean distance of
their features (e.g. an evaluator classifier's), and its ratio to a reference set's. A translator
that collapses maps many inputs to few outputs: the ratio of its translations' diversity to the
real target's falls towards 0; identical images have diversity exactly 0."""

from __future__ import annotations

import numpy as np
import torch


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean of ||f_i - f_j|| over the N(N-1)/2 pairs i < j of features (N, D), N >= 2."""
    if len(features) < 2:
        raise ValueError(f"diversity needs at least 2 feature vectors, got {len(features)}")
    return float(torch.pdist(torch.as_tensor(features, dtype=torch.float64)).mean())


def diversity_ratio(features: np.ndarray, reference: np.ndarray) -> float:
    """Diversity of ``features`` relative to ``reference``'s (1: as diverse; near 0: collapsed)."""
    return mean_pairwise_distance(features) / mean_pairwise_distance(reference)
