"""The report's building block: a :class:`Section` per model or study (each family builds its own)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Headline:
    """One row of the report's opening summary: a model's headline number with its N and uncertainty."""

    model: str
    task: str  # what was modelled, on which data, e.g. "DCGAN, faces (embedded)"
    metric: str
    value: str
    n: str  # the sample sizes behind the number
    uncertainty: str = ""  # a 95% interval, a std over subsets or seeds
    course: str = ""  # the course reports' figure for the same task, with its setting


@dataclass
class Section:
    title: str
    params: dict[str, object]
    metrics: dict[str, object]
    metric_notes: dict[str, str]
    architecture: str = ""
    html_table: str = ""  # an extra pre-rendered table shown before the metrics
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, PNG bytes)
    headlines: list[Headline] = field(default_factory=list)  # rows of the report's summary table
    thumbnails: dict[str, bytes] = field(default_factory=dict)  # a headline's task -> a PNG of its samples or translations
    # Sections of one study (e.g. the adaptation pairs) share their own summary table under this title,
    # a row per section with its own columns, instead of rows in the models' table.
    study: str = ""


def png_of_figure(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
