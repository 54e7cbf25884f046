"""DVC stage train-pixel@<pair>: the adaptation family's training on the translated source."""

from genadapt.families.adapt.train import train

__all__ = ["train"]
