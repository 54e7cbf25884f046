"""Embedded digit domains generated offline from scikit-learn's bundled data.

Four domains with real shifts between them, all labelled 0-9:

- ``mnist``  (28, 28, 1): handwritten 8x8 digits upsampled, jittered, thin white strokes on black.
- ``usps``   (16, 16, 1): the same writers scaled to fill the frame, thick blurred strokes.
- ``mnistm`` (28, 28, 3): the MNIST-M recipe (Ganin & Lempitsky 2015): |photo patch - digit|,
  patches cut from scikit-learn's bundled sample photographs.
- ``svhn``   (32, 32, 3): the SynDigits recipe: a digit *rendered* with a font shipped with
  matplotlib, coloured on a coloured background, neighbouring digits as distractors, blur, noise.

Train and test images come from disjoint source pools (the last writers of ``load_digits``
are held out for test; fonts are shared but the random renderings differ), so test accuracy
measures generalisation. Every image depends only on (seed, domain, split, index).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from sklearn.datasets import load_digits, load_sample_images

DIGIT_DOMAINS = ("mnist", "usps", "mnistm", "svhn")
# load_digits is ordered by writer; the last 400 images (different writers) feed the test split.
_N_TEST_SOURCES = 400
_SVHN_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf",
    "cmr10.ttf", "cmss10.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif-Italic.ttf",
)


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """An RNG determined by the seed and a path of keys (domain, split, ...), order-independent."""
    words = [seed] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(words)


def _source_pool(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits of one split: (N, 8, 8) float32 in [0, 1], (N,) int64."""
    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    cut = len(images) - _N_TEST_SOURCES
    return (images[:cut], labels[:cut]) if split == "train" else (images[cut:], labels[cut:])


def _balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    """n labels with each class appearing n // 10 or n // 10 + 1 times, shuffled."""
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    return labels.astype(np.int64)


def _pick_sources(labels: np.ndarray, pool: tuple[np.ndarray, np.ndarray], rng) -> np.ndarray:
    """For each wanted label, a random pool image of that class: (N, 8, 8)."""
    images, pool_labels = pool
    picked = np.empty((len(labels), 8, 8), np.float32)
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        candidates = np.flatnonzero(pool_labels == digit)
        picked[where] = images[rng.choice(candidates, size=len(where))]
    return picked


def _random_affine(n: int, rng, rotate_deg: float, scale: tuple, shear: float, shift: float):
    """Batch of 2x3 affine matrices for F.affine_grid in normalised coordinates: (N, 2, 3)."""
    angle = np.deg2rad(rng.uniform(-rotate_deg, rotate_deg, n))
    s = rng.uniform(*scale, n)
    sh = rng.uniform(-shear, shear, n)
    tx, ty = rng.uniform(-shift, shift, (2, n))
    cos, sin = np.cos(angle), np.sin(angle)
    # Output->input sampling map: inverse scale, rotation, shear.
    theta = np.zeros((n, 2, 3), np.float32)
    theta[:, 0, 0] = cos / s
    theta[:, 0, 1] = (-sin + sh) / s
    theta[:, 1, 0] = sin / s
    theta[:, 1, 1] = cos / s
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    return torch.from_numpy(theta)


def _warp(strokes: torch.Tensor, theta: torch.Tensor, size: int) -> torch.Tensor:
    """Apply affine maps to (N, 1, h, w) images, producing (N, 1, size, size)."""
    grid = F.affine_grid(theta, [len(strokes), 1, size, size], align_corners=False)
    return F.grid_sample(strokes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _mnist_strokes(sources: np.ndarray, rng) -> torch.Tensor:
    """MNIST-like digits: (N, 1, 28, 28) float in [0, 1], digit ~20px tall centred in 28px."""
    x = torch.from_numpy(sources)[:, None]  # (N, 1, 8, 8)
    x = F.interpolate(x, size=(20, 20), mode="bicubic", align_corners=False).clamp(0, 1)
    x = F.pad(x, (4, 4, 4, 4))  # (N, 1, 28, 28)
    x = _warp(x, _random_affine(len(x), rng, 15, (0.85, 1.1), 0.25, 0.08), 28)
    # Sharpen into pen strokes: MNIST strokes saturate at 1 with thin soft edges.
    return ((x - 0.25) * 2.2).clamp(0, 1)


def _usps_strokes(sources: np.ndarray, rng) -> torch.Tensor:
    """USPS-like digits: (N, 1, 16, 16), tall in the frame with bold, soft-edged strokes."""
    x = torch.from_numpy(sources)[:, None]
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    x = _warp(x, _random_affine(len(x), rng, 8, (0.65, 0.8), 0.15, 0.05), 16)
    gain = torch.from_numpy(rng.uniform(1.3, 1.7, (len(x), 1, 1, 1)).astype(np.float32))
    return (x * gain).clamp(0, 1)


def _photo_bank() -> list[np.ndarray]:
    """scikit-learn's bundled colour photos as float arrays (H, W, 3) in [0, 1]."""
    return [img.astype(np.float32) / 255.0 for img in load_sample_images().images]


def _mnistm_blend(strokes: torch.Tensor, rng) -> np.ndarray:
    """MNIST-M: out = |patch - digit| per channel, patch a random 28x28 crop of a photo."""
    photos = _photo_bank()
    digits = strokes[:, 0].numpy()  # (N, 28, 28)
    out = np.empty(digits.shape + (3,), np.float32)
    for i, digit in enumerate(digits):
        photo = photos[rng.integers(len(photos))]
        top = rng.integers(photo.shape[0] - 28)
        left = rng.integers(photo.shape[1] - 28)
        patch = photo[top:top + 28, left:left + 28]
        out[i] = np.abs(patch - digit[..., None])
    return out


def _font_paths() -> list[Path]:
    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return [font_dir / name for name in _SVHN_FONTS if (font_dir / name).exists()]


def _contrasting_colours(rng) -> tuple[np.ndarray, np.ndarray]:
    """A background and a foreground RGB colour (0-255) whose luminances differ clearly."""
    while True:
        bg, fg = rng.uniform(0, 255, (2, 3))
        lum = np.array([0.299, 0.587, 0.114])
        if abs(bg @ lum - fg @ lum) > 70:
            return bg, fg


def _render_syndigit(label: int, fonts: list[Path], rng) -> np.ndarray:
    """One SynDigits-style image: (32, 32, 3) float in [0, 1], the centre digit is ``label``."""
    canvas = 64  # render at 2x and downsample, for anti-aliased edges
    bg, fg = _contrasting_colours(rng)
    image = Image.new("RGB", (canvas * 2, canvas), tuple(int(v) for v in bg))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(fonts[rng.integers(len(fonts))]), int(rng.uniform(40, 56)))
    # House-number strip: the label in the middle, random neighbours left and right.
    digits = [int(rng.integers(10)), label, int(rng.integers(10))]
    widths = [draw.textlength(str(d), font=font) for d in digits]
    gap = rng.uniform(0, 6)
    x = canvas - widths[1] / 2 - widths[0] - gap
    y = canvas / 2 + rng.uniform(-4, 4)
    for digit, width in zip(digits, widths):
        draw.text((x, y), str(digit), font=font, fill=tuple(int(v) for v in fg), anchor="lm")
        x += width + gap
    image = image.rotate(
        rng.uniform(-10, 10), resample=Image.BILINEAR, center=(canvas, canvas / 2),
        fillcolor=tuple(int(v) for v in bg),
    )
    crop_w = canvas * rng.uniform(0.8, 1.0)  # keep the centre digit whole, neighbours partly
    left = canvas - crop_w / 2 + rng.uniform(-3, 3)
    image = image.crop((int(left), 0, int(left + crop_w), canvas)).resize((32, 32), Image.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.0)))
    pixels = np.asarray(image, np.float32) / 255.0
    pixels += rng.normal(0, rng.uniform(0.0, 0.06), pixels.shape).astype(np.float32)
    return pixels.clip(0, 1)


def make_digit_domain(domain: str, split: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate one split of a digit domain.

    Returns images (N, H, W, C) uint8 and labels (N,) int64, balanced over the 10 classes.
    """
    if domain not in DIGIT_DOMAINS:
        raise ValueError(f"unknown digit domain {domain!r}; choose one of {', '.join(DIGIT_DOMAINS)}")
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; choose train or test")
    rng = _rng(seed, domain, split)
    labels = _balanced_labels(n, rng)
    if domain == "svhn":
        fonts = _font_paths()
        pixels = np.stack([_render_syndigit(int(y), fonts, rng) for y in labels])
    else:
        sources = _pick_sources(labels, _source_pool(split), rng)
        if domain == "usps":
            pixels = _usps_strokes(sources, rng)[:, 0, :, :, None].numpy()
        else:
            strokes = _mnist_strokes(sources, rng)
            pixels = strokes[:, 0, :, :, None].numpy() if domain == "mnist" else _mnistm_blend(strokes, rng)
    images = np.round(pixels * 255).astype(np.uint8)
    return images, labels
