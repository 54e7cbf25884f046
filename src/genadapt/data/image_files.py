"""Reading image files into uint8 arrays, with errors that name the file."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from genadapt.core.errors import PipelineError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def check_label_count(label_file: Path, n_labels: int, image_dir: Path) -> None:
    """A label file must list every image of its folder: fewer or more lines is an error naming both counts."""
    n_images = sum(1 for p in Path(image_dir).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if Path(image_dir).is_dir() else 0
    if n_images != n_labels:
        raise PipelineError(f"{label_file}: {n_labels} labelled images but {image_dir} holds {n_images} images")


def read_image(path: Path, mode: str, size: int | None = None) -> np.ndarray:
    """One image as (H, W, C) uint8 in ``mode`` ('RGB' or 'L').

    With ``size``, the image is resized so its shorter side is ``size`` and centre-cropped to
    ``size`` x ``size`` (the DCGAN CelebA preprocessing: Resize(size) then CenterCrop(size)).
    """
    try:
        with Image.open(path) as image:
            if size is not None:
                # JPEG: let the decoder downscale by 1/2..1/8 while decoding (much faster).
                image.draft(mode, (size, size))
            image = image.convert(mode)
            if size is not None:
                image = _resize_centre_crop(image, size)
            array = np.asarray(image, np.uint8)
    except FileNotFoundError:
        raise PipelineError(f"{path}: image file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise PipelineError(f"{path}: not a readable image ({exc})") from None
    return array[..., None] if array.ndim == 2 else array


def _resize_centre_crop(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    image = image.resize((new_w, new_h), Image.BILINEAR, reducing_gap=None)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return image.crop((left, top, left + size, top + size))


def _read_chunk(args) -> list[np.ndarray]:
    paths, mode, size = args
    return [read_image(p, mode, size) for p in paths]


def read_images(paths: list[Path], mode: str, size: int | None = None) -> np.ndarray:
    """Many images as (N, H, W, C) uint8, decoded in parallel over the CPU cores.

    All images must share one shape (always true with ``size``); otherwise the first
    different one is named in the error.
    """
    if not paths:
        raise PipelineError("no images to read")
    chunks = [(paths[i:i + 512], mode, size) for i in range(0, len(paths), 512)]
    workers = min(os.cpu_count() or 1, 8, len(chunks))
    if workers == 1:
        arrays = [a for chunk in chunks for a in _read_chunk(chunk)]
    else:
        with ProcessPoolExecutor(workers) as pool:
            arrays = [a for result in pool.map(_read_chunk, chunks) for a in result]
    shape = arrays[0].shape
    for path, array in zip(paths, arrays):
        if array.shape != shape:
            raise PipelineError(f"{path}: image shape {array.shape} differs from {shape} of {paths[0]}")
    return np.stack(arrays)
