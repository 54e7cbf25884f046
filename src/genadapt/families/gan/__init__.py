"""The GAN family: one DCGAN-style generator/discriminator pair and one training loop, with a
kind (``kinds/<kind>.py``: DCGAN, ACGAN, InfoGAN, WGAN-GP) supplying the loss head, the extra
params and the kind's own figures and metrics. Entry points in ``family.py``."""
