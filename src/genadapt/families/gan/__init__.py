"""The GAN family: one DCGAN-style generator/discriminator pair and one training loop, with a
kind (``kinds/<kind>.py``: DCGAN, ACGAN, InfoGAN, WGAN-GP, SNGAN) supplying the loss head, the extra
params and the kind's own figures and metrics. A module per stage verb: ``train.py``, ``generate.py``,
``evaluate.py``, ``report.py`` (what they share in ``stored.py``)."""
