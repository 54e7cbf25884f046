"""Domain adaptation between digit domains, one instance per domain pair (``models.adapt``; the
pixel-level variant, whose source is translated by a CycleGAN, is the ``pixel`` family).

Each method is a module of ``methods/`` defining ``METHOD``, a :class:`~genadapt.families.adapt.method.Method`
(what it trains on, its loss terms, an optional teacher); the one training loop (``loop.py``) calls
those hooks, with no per-method branch. An instance's ``methods`` names the methods to run; adding a
method is one module there, its name in params.yaml, and its test. A method's own settings are fields of
its dataclass, with the published values as defaults; an instance's ``settings.<method>`` overrides them."""
