"""The CycleGAN family (unpaired image translation, both directions): ResNet generators, PatchGAN
discriminators, LSGAN, cycle and identity losses (Zhu et al. 2017), optionally CyCADA's semantic
consistency. Networks in ``model.py``, the loop in ``training.py``, a module per stage verb (``train.py``,
``generate.py``, ``evaluate.py``, ``report.py``; what they share in ``stored.py``)."""
