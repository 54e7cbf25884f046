"""VAE params: defaults and ranges. An instance in params.yaml gives only what differs from these."""

from __future__ import annotations

from genadapt.core.params import Dataset, Device, Flag, Section, Text, count, real


class VAEParams(Section):
    dataset: Dataset  # a dataset whose prepared images have a power-of-two side (faces, usps, svhn)
    latent_dim: count(ge=1) = 128
    base_channels: count(ge=1) = 32  # width of the first conv; doubled at each downsampling
    batch_size: count(ge=1) = 64
    steps: count(ge=1) = 500
    lr: real(gt=0.0) = 1.0e-3
    kl_weight: real(ge=0.0) = 1.0  # beta in loss = recon + beta * KL
    kl_anneal_steps: count(ge=0) = 200  # linear warm-up of the KL weight from 0; 0 disables
    checkpoint_every: count(ge=0) = 100  # steps between resumable checkpoints (checkpoints/<name>); 0 disables
    n_reconstructions: count(ge=1) = 10  # test images shown over their reconstructions
    n_samples: count(ge=1) = 32  # random samples in the sample grid
    tsne_by: Text = "Smiling"  # test-table column colouring the latent t-SNE: an attribute, or label for digits
    tsne_points: count(ge=10) = 1000  # test images in the latent t-SNE
    amp: Flag = True  # bf16 autocast where the device computes bf16 natively (runtime.mixed_precision)
    channels_last: Flag = True  # channels-last memory format: ~8% faster on a 2-core CPU
    device: Device = "auto"


def validate(raw: dict) -> VAEParams:
    return VAEParams.model_validate(raw)


def cross_check(cfg: VAEParams, data) -> str | None:
    """The VAE halves the image down to 4x4, so the prepared side must be a power of two >= 8."""
    size = data.prepared_size(cfg.dataset)
    if size is not None and (size < 8 or size & (size - 1)):
        return (f"dataset: {cfg.dataset} images are {size}x{size} with source {data.get(cfg.dataset).source!r}; "
                "the VAE needs a power-of-two side (e.g. faces, usps, svhn)")
    return None
