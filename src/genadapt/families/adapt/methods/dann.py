"""DANN (Ganin & Lempitsky 2015, https://arxiv.org/abs/1409.7495): labelled source + unlabelled
target; a domain classifier behind a gradient-reversal layer whose weight follows
lambda_p = 2 / (1 + exp(-gamma p)) - 1, the learning rate mu_p = mu_0 / (1 + alpha p)^beta (sec. 5.2).
The base :class:`~genadapt.families.adapt.method.Method`'s domain loss is DANN's."""

from genadapt.families.adapt.shared.method import Method

METHOD = Method("dann", adapts=True)
