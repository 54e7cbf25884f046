"""The VAE family: a convolutional VAE (Kingma & Welling 2014). A module per stage verb:
``train.py``, ``generate.py``, ``evaluate.py``, ``report.py`` (the saved model in ``stored.py``)."""
