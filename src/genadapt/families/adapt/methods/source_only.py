"""Source only: the labelled source alone, no adaptation (the lower bound)."""

from genadapt.families.adapt.shared.method import Method

METHOD = Method("source_only")
