"""Pixel-level domain adaptation (CyCADA's pixel + feature-level recipe): the adaptation family's
training on the source translated into the target's style by a CycleGAN (a ``models.cyclegan``
instance), one instance per domain pair under ``models.pixel``. A family of its own because its
stage depends on the translator's weights, which a DVC ``foreach`` cannot add to only some items."""
