"""Target only: the labelled target's train split alone (the upper bound; the only method that sees target labels)."""

from genadapt.families.adapt.shared.method import Method

METHOD = Method("target_only", uses_target_labels=True)
