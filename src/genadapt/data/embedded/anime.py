"""Embedded 64x64 RGB anime-style faces: the second face style, with the cartoon faces' attributes.

The attributes (CelebA names, :data:`genadapt.data.embedded.faces.FACE_ATTRIBUTES`) are sampled as
for the cartoon faces and drawn in another style, so a translation between the two styles can be
scored by what it keeps:

- flat cel shading (one shadow tone under the fringe) and dark outlines around every shape;
- large eyes (taller than wide) with a coloured iris, a dark pupil and two white highlights,
  a tiny nose and a small mouth, on a face that narrows to a pointed chin;
- saturated hair colours (lemon blond, blue-black, chestnut, silver-lavender), a spiky fringe;
- ``Smiling``: a small open "D" mouth with a tongue, versus a short closed line;
- ``Male``: short spiky hair and straight brows, versus long hair falling past the chin;
- ``Eyeglasses``: thin rectangular rims around both eyes joined by a bridge;
- a flat pastel background.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

_HAIR_COLOURS = {  # attribute -> RGB range (low, high): saturated versions of the cartoon colours
    "Blond_Hair": ((245, 205, 40), (255, 235, 110)),
    "Black_Hair": ((25, 25, 60), (50, 45, 95)),
    "Brown_Hair": ((160, 75, 25), (200, 110, 50)),
    "Gray_Hair": ((195, 190, 220), (225, 220, 245)),
}
_IRIS = ((40, 110, 220), (40, 170, 90), (150, 60, 200), (210, 50, 60), (200, 130, 30))
_OUTLINE = (45, 25, 30)
_SCALE = 4  # supersampling factor
_SIZE = 64


def _colour(rng, low, high) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.uniform(low, high))


def _shade(colour, factor: float) -> tuple[int, int, int]:
    return tuple(int(min(255, c * factor)) for c in colour)


def draw_anime_face(attrs: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    """Draw one anime-style face with the given attributes: (64, 64, 3) uint8."""
    s = _SCALE
    side = _SIZE * s
    background = Image.new("RGB", (side, side), _colour(rng, (175, 175, 175), (250, 250, 250)))
    image = Image.new("RGBA", background.size, (0, 0, 0, 0))  # the person, rotated as one layer
    draw = ImageDraw.Draw(image)
    line = int(1.0 * s)
    skin = _colour(rng, (245, 215, 195), (255, 235, 220))
    shadow = _shade(skin, 0.86)
    hair_name = next(name for name in _HAIR_COLOURS if attrs[name])
    hair = _colour(rng, *_HAIR_COLOURS[hair_name])
    male = attrs["Male"]

    cx = 32 + rng.uniform(-2, 2)  # face centre, in 64px units
    cy = 29 + rng.uniform(-1.5, 1.5)
    half_w = rng.uniform(13, 15)
    chin = cy + rng.uniform(17, 19)  # the pointed chin's tip
    turn = rng.uniform(-2, 2)

    def pts(*xy):
        return [(x * s, y * s) for x, y in xy]

    def box(x0, y0, x1, y1):
        return [x0 * s, y0 * s, x1 * s, y1 * s]

    # Shirt and neck, then long hair behind the head.
    shirt = _colour(rng, (0, 0, 0), (255, 255, 255))
    draw.ellipse(box(cx - 24, chin + 2, cx + 24, chin + 36), fill=shirt, outline=_OUTLINE, width=line)
    draw.rectangle(box(cx - 4, chin - 6, cx + 4, chin + 5), fill=shadow, outline=_OUTLINE, width=line)
    if not male:
        draw.polygon(pts((cx - half_w - 4, cy - 10), (cx - half_w - 6, chin + 8), (cx - half_w + 2, chin + 4),
                         (cx + half_w - 2, chin + 4), (cx + half_w + 6, chin + 8), (cx + half_w + 4, cy - 10)),
                     fill=hair, outline=_OUTLINE, width=line)
    # Face: round above the cheeks, straight lines down to a pointed chin.
    cheek_y = cy + 6
    draw.pieslice(box(cx - half_w, cy - 18, cx + half_w, cheek_y + 6), 180, 360, fill=skin)
    draw.rectangle(box(cx - half_w, cy - 6, cx + half_w, cheek_y), fill=skin)
    draw.polygon(pts((cx - half_w, cheek_y), (cx + turn, chin), (cx + half_w, cheek_y)), fill=skin)
    draw.line(pts((cx - half_w, cy - 4), (cx - half_w, cheek_y), (cx + turn, chin), (cx + half_w, cheek_y),
                  (cx + half_w, cy - 4)), fill=_OUTLINE, width=line, joint="curve")
    # The fringe's flat shadow on the forehead, then the hair cap and its spikes.
    draw.rectangle(box(cx - half_w, cy - 12, cx + half_w, cy - 6), fill=shadow)
    draw.chord(box(cx - half_w - 2, cy - 22, cx + half_w + 2, cy - 2), 180, 360, fill=hair, outline=_OUTLINE, width=line)
    n_spikes = 4 if male else 5
    spike_len = rng.uniform(4, 6) if male else rng.uniform(6, 8)
    for k in range(n_spikes):
        x0 = cx - half_w - 1 + k * (2 * half_w + 2) / n_spikes
        x1 = x0 + (2 * half_w + 2) / n_spikes
        tip = (x0 + x1) / 2 + rng.uniform(-1.5, 1.5)
        draw.polygon(pts((x0, cy - 12.5), (tip, cy - 12.5 + spike_len), (x1, cy - 12.5)), fill=hair, outline=_OUTLINE)

    # Eyes: tall, with a coloured iris, pupil and two highlights; lashes on top; brows above.
    eye_y = cy + rng.uniform(-1, 1)
    eye_dx = half_w * rng.uniform(0.45, 0.52)
    eye_w, eye_h = (3.2, 4.0) if male else (3.6, 4.8)
    iris = _IRIS[rng.integers(len(_IRIS))]
    for side_ in (-1, 1):
        ex = cx + turn + side_ * eye_dx
        draw.ellipse(box(ex - eye_w, eye_y - eye_h, ex + eye_w, eye_y + eye_h), fill=(255, 255, 255), outline=_OUTLINE, width=line)
        draw.ellipse(box(ex - eye_w + 0.8, eye_y - eye_h + 1.2, ex + eye_w - 0.8, eye_y + eye_h - 0.2), fill=iris)
        draw.ellipse(box(ex - 1.2, eye_y - 1.0, ex + 1.2, eye_y + 2.2), fill=(20, 15, 30))
        draw.ellipse(box(ex - 2.0, eye_y - 2.8, ex - 0.4, eye_y - 1.2), fill=(255, 255, 255))
        draw.ellipse(box(ex + 0.8, eye_y + 1.4, ex + 1.6, eye_y + 2.2), fill=(255, 255, 255))
        draw.line(box(ex - eye_w - 0.6, eye_y - eye_h + 0.4, ex + eye_w + 0.6, eye_y - eye_h + 0.4), fill=_OUTLINE, width=int(1.6 * s))
        brow_y = eye_y - eye_h - (2.0 if male else 2.6)
        draw.line(box(ex - 2.8, brow_y + (0 if male else side_ * 0.4), ex + 2.8, brow_y - (0 if male else side_ * 0.4)),
                  fill=_shade(hair, 0.6), width=int((1.4 if male else 0.8) * s))
        if attrs["Eyeglasses"]:
            draw.rectangle(box(ex - eye_w - 1.8, eye_y - eye_h - 0.6, ex + eye_w + 1.8, eye_y + eye_h + 0.8),
                           outline=(20, 20, 25), width=int(0.9 * s))
    if attrs["Eyeglasses"]:
        draw.line(box(cx + turn - eye_dx + eye_w + 1.8, eye_y - 1, cx + turn + eye_dx - eye_w - 1.8, eye_y - 1),
                  fill=(20, 20, 25), width=int(0.9 * s))

    # A tiny nose and a small mouth.
    nose_y = eye_y + rng.uniform(5.5, 6.5)
    draw.line(box(cx + turn + 0.3, nose_y, cx + turn + 0.8, nose_y + 1.0), fill=_shade(skin, 0.7), width=int(0.7 * s))
    mouth_y = nose_y + rng.uniform(4.0, 5.0)
    mx = cx + turn
    if attrs["Smiling"]:
        w, d = rng.uniform(2.6, 3.4), rng.uniform(2.6, 3.4)
        draw.chord(box(mx - w, mouth_y - d, mx + w, mouth_y + d), 0, 180, fill=(120, 30, 40), outline=_OUTLINE, width=line)
        draw.chord(box(mx - w * 0.6, mouth_y + d * 0.2, mx + w * 0.6, mouth_y + d * 0.95), 180, 360, fill=(235, 110, 120))
    else:
        w = rng.uniform(1.3, 1.9)
        draw.line(box(mx - w, mouth_y + 0.6, mx + w, mouth_y + 0.6), fill=_OUTLINE, width=int(0.8 * s))

    roll = rng.uniform(-8, 8)
    image = image.rotate(roll, resample=Image.BILINEAR, center=(cx * s, cy * s))
    background.paste(image, (0, 0), image)
    return np.asarray(background.resize((_SIZE, _SIZE), Image.LANCZOS), np.uint8)
