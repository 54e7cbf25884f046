"""2-D t-SNE embeddings (scikit-learn) and their figures: by class and by domain (DANN), by one
label or attribute (VAE latent codes)."""

from __future__ import annotations

import numpy as np
from sklearn.manifold import TSNE

from genadapt.figures import plt


def tsne_2d(features: np.ndarray, seed: int) -> np.ndarray:
    """(N, F) -> (N, 2) with PCA initialisation (stable layouts across runs)."""
    perplexity = min(30.0, (len(features) - 1) / 3)
    return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(features)


def tsne_figure(points: np.ndarray, classes: np.ndarray, domains: np.ndarray, domain_names: tuple[str, str], title: str):
    """Left: points coloured by class (0-9); right: by domain (0 = first name, 1 = second)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6))
    scatter = left.scatter(points[:, 0], points[:, 1], c=classes, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    fig.colorbar(scatter, ax=left, ticks=range(10), label="class")
    left.set_title("by class")
    for value, colour in ((0, "tab:blue"), (1, "tab:red")):
        mask = domains == value
        right.scatter(points[mask, 0], points[mask, 1], s=6, c=colour, label=domain_names[value], alpha=0.6)
    right.legend(markerscale=3)
    right.set_title("by domain")
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def tsne_by_value_figure(points: np.ndarray, values: np.ndarray, name: str, title: str):
    """One panel, points (N, 2) coloured by an integer column (N,): a 0/1 attribute or a digit class."""
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    for value in np.unique(values):
        mask = values == value
        ax.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.6, label=f"{name}={value}",
                   c=[plt.get_cmap("tab10")(int(value) % 10)])
    ax.legend(markerscale=3, fontsize="small")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize="medium")
    fig.tight_layout()
    return fig
