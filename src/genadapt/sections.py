"""The report's building block: a :class:`Section` per model or study (each family builds its own)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field


@dataclass
class Section:
    title: str
    params: dict[str, object]
    metrics: dict[str, object]
    metric_notes: dict[str, str]
    architecture: str = ""
    html_table: str = ""  # an extra pre-rendered table shown before the metrics
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, PNG bytes)


def png_of_figure(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
