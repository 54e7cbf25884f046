"""Embedded 64x64 RGB faces drawn procedurally, with CelebA-named binary attributes.

Each face is drawn at 4x resolution with PIL and downsampled (anti-aliased edges). Attributes
are sampled independently and drawn so they are visible in the pixels:

- ``Smiling``: an open, upward-curved mouth showing teeth, versus a closed flat mouth.
- ``Male``: short hair, heavier brows and a squarer jaw (often stubble), versus long hair.
- ``Eyeglasses``: dark rims around both eyes joined by a bridge.
- ``Blond_Hair`` / ``Black_Hair`` / ``Brown_Hair`` / ``Gray_Hair``: one hair colour each.

Nuisance factors vary too: skin tone, face width, pose (roll and a sideways turn), hair volume,
eye and mouth placement, background colour and gradient, shirt colour. Every image depends
only on (seed, split, index), so a split is reproducible in any order.
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageDraw

FACE_ATTRIBUTES = ("Smiling", "Male", "Eyeglasses", "Blond_Hair", "Black_Hair", "Brown_Hair", "Gray_Hair")
_HAIR_COLOURS = {  # attribute -> RGB range (low, high)
    "Blond_Hair": ((200, 160, 70), (250, 215, 130)),
    "Black_Hair": ((10, 8, 8), (45, 35, 30)),
    "Brown_Hair": ((80, 45, 20), (130, 80, 45)),
    "Gray_Hair": ((150, 150, 150), (205, 205, 205)),
}
_HAIR_PROBS = {"Blond_Hair": 0.25, "Black_Hair": 0.3, "Brown_Hair": 0.3, "Gray_Hair": 0.15}
_SCALE = 4  # supersampling factor
_SIZE = 64


def sample_attributes(rng: np.random.Generator) -> dict[str, int]:
    """One face's attributes as 0/1 ints, keyed by CelebA names."""
    hair = rng.choice(list(_HAIR_PROBS), p=list(_HAIR_PROBS.values()))
    attrs = {
        "Smiling": int(rng.random() < 0.5),
        "Male": int(rng.random() < 0.5),
        "Eyeglasses": int(rng.random() < 0.3),
    }
    attrs.update({name: int(name == hair) for name in _HAIR_COLOURS})
    return attrs


def _colour(rng, low, high) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.uniform(low, high))


def _skin(rng) -> tuple[int, int, int]:
    """A skin tone between dark and light, with a little hue jitter."""
    t = rng.uniform(0, 1)
    dark, light = np.array([95, 60, 40]), np.array([250, 215, 185])
    return tuple(int(v) for v in np.clip(dark + t * (light - dark) + rng.normal(0, 6, 3), 0, 255))


def _background(rng) -> Image.Image:
    """A vertical gradient between two random colours, (S*64, S*64)."""
    side = _SIZE * _SCALE
    top, bottom = rng.uniform(0, 255, (2, 3))
    t = np.linspace(0, 1, side)[:, None, None]
    rows = (top * (1 - t) + bottom * t).astype(np.uint8)  # (side, 1, 3)
    return Image.fromarray(np.repeat(rows, side, axis=1), "RGB")


def draw_face(attrs: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    """Draw one face with the given attributes: (64, 64, 3) uint8."""
    s = _SCALE
    background = _background(rng)
    # The person is drawn on a transparent layer so that the head roll leaves the background whole.
    image = Image.new("RGBA", background.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    skin = _skin(rng)
    hair_name = next(name for name in _HAIR_COLOURS if attrs[name])
    hair = _colour(rng, *_HAIR_COLOURS[hair_name])
    male = attrs["Male"]

    cx = 32 + rng.uniform(-2, 2)  # face centre, in 64px units
    cy = 30 + rng.uniform(-2, 2)
    half_w = rng.uniform(12.5, 15.5) + (1.0 if male else 0.0)
    half_h = rng.uniform(16.5, 19)
    turn = rng.uniform(-3, 3)  # sideways turn: shifts the features within the face

    def box(x0, y0, x1, y1):
        return [x0 * s, y0 * s, x1 * s, y1 * s]

    # Shoulders and neck, then long hair behind the head (drawn before the face).
    shirt = _colour(rng, (0, 0, 0), (255, 255, 255))
    draw.ellipse(box(cx - 26, cy + half_h + 4, cx + 26, cy + half_h + 40), fill=shirt)
    draw.rectangle(box(cx - 6, cy + half_h - 6, cx + 6, cy + half_h + 8), fill=skin)
    volume = rng.uniform(2, 5)
    if not male:
        draw.rounded_rectangle(
            box(cx - half_w - volume, cy - half_h - volume, cx + half_w + volume, cy + half_h + 12),
            radius=12 * s, fill=hair,
        )
    # Face: a rounder chin for long-haired faces, a squarer jaw otherwise.
    if male:
        draw.rounded_rectangle(box(cx - half_w, cy - half_h, cx + half_w, cy + half_h), radius=9 * s, fill=skin)
        if rng.random() < 0.6:  # stubble shadow on the jaw
            stubble = tuple(int(c * 0.72) for c in skin)
            draw.chord(box(cx - half_w, cy - 2, cx + half_w, cy + half_h), 20, 160, fill=stubble)
    else:
        draw.ellipse(box(cx - half_w, cy - half_h, cx + half_w, cy + half_h), fill=skin)
    # Hair on top: a short cap for short hair, a fuller fringe for long hair.
    cap_drop = rng.uniform(3, 6) if male else rng.uniform(5, 9)
    draw.chord(
        box(cx - half_w - 1.5, cy - half_h - volume, cx + half_w + 1.5, cy - half_h + 2 * cap_drop + 4),
        180, 360, fill=hair,
    )

    # Eyes, brows and glasses.
    eye_y = cy - rng.uniform(2, 4)
    eye_dx = half_w * rng.uniform(0.42, 0.5)
    iris = _colour(rng, (20, 20, 20), (90, 110, 140))
    brow_w = 2.2 if male else 1.2
    for side in (-1, 1):
        ex = cx + turn + side * eye_dx
        draw.ellipse(box(ex - 3, eye_y - 1.8, ex + 3, eye_y + 1.8), fill=(245, 245, 245))
        draw.ellipse(box(ex - 1.5 + turn * 0.2, eye_y - 1.5, ex + 1.5 + turn * 0.2, eye_y + 1.5), fill=iris)
        draw.line(box(ex - 3.5, eye_y - 4.5, ex + 3.5, eye_y - 4.5 - side * 0.3), fill=hair, width=int(brow_w * s))
        if attrs["Eyeglasses"]:
            draw.ellipse(box(ex - 5, eye_y - 4, ex + 5, eye_y + 4), outline=(15, 15, 15), width=int(1.4 * s))
    if attrs["Eyeglasses"]:
        draw.line(box(cx + turn - eye_dx + 5, eye_y, cx + turn + eye_dx - 5, eye_y), fill=(15, 15, 15), width=int(1.3 * s))

    # Nose and mouth.
    nose = tuple(int(c * 0.8) for c in skin)
    draw.line(box(cx + turn, eye_y + 2, cx + turn + 1.2, eye_y + 7), fill=nose, width=int(1.0 * s))
    mouth_y = cy + rng.uniform(8.5, 10.5)
    mouth_w = rng.uniform(4.5, 6.5)
    lips = (150, 50, 55)
    mx = cx + turn
    if attrs["Smiling"]:
        # Open smile: a lower half-disc with a band of teeth, corners turned up.
        depth = rng.uniform(4, 6)
        draw.chord(box(mx - mouth_w - 1, mouth_y - depth, mx + mouth_w + 1, mouth_y + depth), 0, 180, fill=(90, 20, 25))
        draw.chord(box(mx - mouth_w, mouth_y - depth + 1, mx + mouth_w, mouth_y + depth - 2.5), 0, 180, fill=(250, 250, 245))
        draw.arc(box(mx - mouth_w - 1, mouth_y - depth, mx + mouth_w + 1, mouth_y + depth), 0, 180, fill=lips, width=int(1.0 * s))
    else:
        draw.line(box(mx - mouth_w * 0.8, mouth_y + 1, mx + mouth_w * 0.8, mouth_y + 1), fill=lips, width=int(1.6 * s))

    roll = rng.uniform(-12, 12)
    image = image.rotate(roll, resample=Image.BILINEAR, center=(cx * s, cy * s))
    background.paste(image, (0, 0), image)
    image = background.resize((_SIZE, _SIZE), Image.LANCZOS)
    return np.asarray(image, np.uint8)


FACE_STYLES = ("cartoon", "anime")  # the "faces" dataset is cartoon; "anime" is the second style


def make_faces(split: str, n: int, seed: int, style: str = "cartoon") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Generate one split of faces in ``style``: images (N, 64, 64, 3) uint8 and attribute -> (N,) 0/1 int64.
    The two styles draw from different streams: anime face i is not cartoon face i redrawn."""
    from genadapt.data.embedded.anime import draw_anime_face  # the second style, kept in its own module

    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; choose train or test")
    if style not in FACE_STYLES:
        raise ValueError(f"unknown face style {style!r}; choose one of {', '.join(FACE_STYLES)}")
    draw = draw_face if style == "cartoon" else draw_anime_face
    images = np.empty((n, _SIZE, _SIZE, 3), np.uint8)
    table = {name: np.empty(n, np.int64) for name in FACE_ATTRIBUTES}
    split_key = zlib.crc32(split.encode())
    style_key = zlib.crc32(b"faces" if style == "cartoon" else style.encode())

    def face(i: int) -> tuple[dict[str, int], np.ndarray]:
        rng = np.random.default_rng([seed, style_key, split_key, i])
        attrs = sample_attributes(rng)
        return attrs, draw(attrs, rng)

    # Threads: PIL's rotate and resize release the GIL, and each face has its own generator,
    # so the result is the same as drawing them one by one.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for i, (attrs, image) in enumerate(pool.map(face, range(n), chunksize=64)):
            images[i] = image
            for name, value in attrs.items():
                table[name][i] = value
    return images, table
