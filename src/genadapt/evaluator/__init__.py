"""Evaluator classifiers, one per dataset some model is scored against: the network
(``network.py``), its training loop (``loop.py``), the train-classifier stage (``train.py``: trained
on the train split, weights chosen on validation, scored once on test), the trained evaluator applied
to generated images (``scoring.py``) and its report section (``report.py``).

Digits: a 10-way classifier. Faces: a multi-label classifier over every attribute column. Their
own test accuracy is recorded beside every number they produce (generated-image accuracy,
``fd_classifier``), so a reader knows how far to trust it.
"""
