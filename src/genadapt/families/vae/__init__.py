"""The VAE family: a convolutional VAE (Kingma & Welling 2014). Entry points in ``family.py``."""
