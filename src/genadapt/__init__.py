"""genadapt: image generation (VAE, GANs) and digit domain adaptation as one DVC pipeline."""

__version__ = "0.1.0"
