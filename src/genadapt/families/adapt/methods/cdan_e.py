"""CDAN+E (Long et al. 2018, https://arxiv.org/abs/1705.10667): the domain classifier sees the
multilinear map of features and (detached) class probabilities, and each example's domain loss is
weighted by 1 + exp(-entropy) of its prediction, normalised per domain, so that confident
(transferable) examples dominate the alignment. DANN's schedules."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from genadapt.families.adapt.shared.method import Method


@dataclass(frozen=True)
class CDANE(Method):
    def domain_loss(self, model, features, logits, domain_logits, domain_target, n_source, lam):
        probs = F.softmax(logits, dim=1).detach()  # (2B, K)
        domain_logits = model.conditional_domain_logits(features, probs, lam)  # (2B,)
        entropy = -(probs * torch.log(probs + 1e-8)).sum(1)
        weight = 1.0 + torch.exp(-entropy)
        n = n_source
        weight = torch.cat([weight[:n] / weight[:n].sum(), weight[n:] / weight[n:].sum()]) / 2
        return (weight * F.binary_cross_entropy_with_logits(domain_logits, domain_target, reduction="none")).sum()


METHOD = CDANE("cdan_e", adapts=True)
