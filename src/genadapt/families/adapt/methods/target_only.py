"""Target only: the labelled target's train split alone (the upper bound; the only method that sees
target labels). With ``augment`` it learns from the strong views the adaptation methods give the
target (FixMatch's: translation, colour per channel, intensity flip, noise), so the gap between an
augmented adaptation method and its bound is not the augmentation's."""

from __future__ import annotations

from dataclasses import dataclass

from genadapt.families.adapt.methods.fixmatch import strong_view
from genadapt.families.adapt.shared.method import Method


@dataclass(frozen=True)
class TargetOnly(Method):
    augment: bool = False

    def source_view(self, xs, generator):
        return strong_view(xs, generator) if self.augment else xs


METHOD = TargetOnly("target_only", uses_target_labels=True)
