"""The interface of an adaptation method: the hooks the training loop (``genadapt.training.dann``) calls.

Per step the loop draws a labelled batch ``xs`` (B, C, S, S) from ``labelled(data)`` and, for a
method that ``adapts``, an unlabelled target batch ``xt`` (B, C, S, S); ``target_view`` may
return another view of ``xt`` and a context (e.g. a teacher's predictions on the clean view).
Source and target then go through the network in one pass (so BatchNorm sees both domains), and
the loss is ``classification + domain_loss + target_loss`` (the gradient-reversal layer turns
the domain term into DANN's min-max game). A method with a teacher (``make_teacher``) has the
teacher updated after every step, scored on validation and returned as the trained model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Method:
    name: str
    uses_target_labels: bool = False  # trains on the target's labels: the upper bound, never an adaptation
    adapts: bool = False  # sees unlabelled target batches beside the labelled source

    def labelled(self, data):
        """The labelled training domain: the source's train split, or the target's for the upper bound."""
        return data.target_train if self.uses_target_labels else data.source_train

    def make_teacher(self, model: torch.nn.Module, cfg) -> torch.nn.Module | None:
        """An averaged copy of ``model`` that is updated after each step and tested, or None."""
        return None

    def target_view(self, xt: torch.Tensor, teacher, generator: torch.Generator) -> tuple[torch.Tensor, object]:
        """The target batch the student sees, and what ``target_loss`` needs from the clean one."""
        return xt, None

    def domain_loss(self, model, features: torch.Tensor, logits: torch.Tensor, domain_logits: torch.Tensor,
                    domain_target: torch.Tensor, n_source: int, lam: float) -> torch.Tensor:
        """DANN's domain-classification loss on the (2B,) domain logits (0 = source, 1 = target)."""
        return F.binary_cross_entropy_with_logits(domain_logits, domain_target)

    def target_loss(self, target_logits: torch.Tensor, context, cfg, lam: float,
                    class_balance: float) -> tuple[torch.Tensor | None, dict[str, float]]:
        """An extra loss on the target batch's logits (B, K) and the values to log, or (None, {})."""
        return None, {}
