"""The pixel family's part of the report: the adaptation family's, with the translator named."""

from genadapt.families.adapt.report import report_section

__all__ = ["report_section"]
