"""genadapt: image generation (VAE, GANs) and digit domain adaptation as one DVC pipeline."""
