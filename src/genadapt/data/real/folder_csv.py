"""The course layout: ``<root>/<split>/`` image files plus ``<root>/<split>.csv``.

The CSV has an ``image_name`` column and either a ``label`` column (digits) or one column per
attribute (faces; values 0/1, or CelebA-style 1/-1). Faces are resized/centre-cropped to the
requested size; digits keep their native size, which must be the same for every image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genadapt.core.errors import PipelineError
from genadapt.data.format.prepared import SOURCE_SPLITS, PreparedSplit
from genadapt.data.image_files import check_label_count, read_images


def load_folder_csv(root: Path, kind: str, limits: dict[str, int], size: int | None) -> dict[str, PreparedSplit]:
    root, out = Path(root), {}
    for split in SOURCE_SPLITS:
        csv = root / f"{split}.csv"
        if not csv.exists():
            raise PipelineError(f"{csv}: not found (expected <root>/{split}.csv beside <root>/{split}/)")
        try:
            table = pd.read_csv(csv)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise PipelineError(f"{csv}: not a readable CSV ({exc})") from None
        if "image_name" not in table.columns:
            raise PipelineError(f"{csv}: no 'image_name' column")
        check_label_count(csv, len(table), root / split)
        if limits[split]:
            table = table.iloc[: limits[split]]
        table = table.rename(columns={"image_name": "image_id"}).reset_index(drop=True)
        values = table.drop(columns="image_id")
        if kind == "digits":
            if "label" not in values.columns:
                raise PipelineError(f"{csv}: digit datasets need a 'label' column")
            if not values["label"].between(0, 9).all():
                raise PipelineError(f"{csv}: 'label' must hold digits 0-9")
            table = table[["image_id", "label"]]
        else:
            if not values.isin([0, 1, -1]).all().all():
                raise PipelineError(f"{csv}: attribute columns must hold 0/1 or 1/-1")
            table[values.columns] = (values == 1).astype(np.int64)
        mode = "RGB" if kind == "faces" else None
        paths = [root / split / name for name in table["image_id"]]
        images = read_images(paths, mode or _digit_mode(paths[0]), size if kind == "faces" else None)
        out[split] = PreparedSplit(images, table)
    return out


def _digit_mode(first: Path) -> str:
    """Keep grey digits grey and colour digits colour, judged by the first image."""
    from PIL import Image

    try:
        with Image.open(first) as image:
            return "L" if image.mode in {"L", "1", "I;16", "I"} else "RGB"
    except OSError as exc:
        raise PipelineError(f"{first}: not a readable image ({exc})") from None
