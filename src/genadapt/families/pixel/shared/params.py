"""Pixel-level adaptation params: the adaptation family's (``families/adapt/shared/params.py``) plus the
translator and how its translations are used. Columns: ``pixel`` trains a classifier on the
translated source (as source_only does on the originals); ``pixel_st`` adds DANN and self-training on
the unlabelled target (as dann_st does), starting from the same seed's ``pixel`` network."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from genadapt.core.params import Flag, Name, Text
from genadapt.families.adapt.shared.params import AdaptParams, Mode

REQUIRES = ("cyclegan",)  # validated with it: the translator instance it names
MODES = {"pixel": Mode("source_only"), "pixel_st": Mode("dann_st", warm_start_from="pixel")}


class PixelParams(AdaptParams):
    translator: Name  # a models.cyclegan instance translating source <-> target
    methods: Annotated[list[Text], Field(min_length=1)] = list(MODES)
    # PixelDA's recipe: the classifier trains on the source images as well as on their translations,
    # so that a translator's one style does not become the only one it knows.
    with_source: Flag = True
    # CyCADA's order: pixel_st starts from the same seed's trained pixel network (the classifier of
    # the translated source) rather than from scratch, then adapts its features to the target.
    warm_start: Flag = True

    def mode(self, name: str) -> Mode:
        mode = MODES[name]
        return mode if self.warm_start else Mode(mode.method)

    def known_modes(self) -> tuple[str, ...]:
        return tuple(MODES)


def validate(raw: dict) -> PixelParams:
    return PixelParams.model_validate(raw)


def cross_check(cfg: PixelParams, data) -> str | None:
    return None
