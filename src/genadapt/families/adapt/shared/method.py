"""The interface of an adaptation method: the hooks the training loop (``genadapt.families.adapt.shared.loop``) calls.

Per step the loop draws a labelled batch ``xs`` (B, C, S, S) from ``labelled(data)`` (seen through
``source_view``) and, for a method that ``adapts``, an unlabelled target batch ``xt`` (B, C, S, S);
``target_view`` may return another view of ``xt`` and a context (e.g. a teacher's predictions).
``forward`` runs source and target through the network (one pass by default, so BatchNorm sees
both domains), and the loss is ``classification + domain_loss + target_loss + input_loss`` (the
gradient-reversal layer turns the domain term into DANN's min-max game; ``input_loss`` may run the
network again on the inputs, e.g. virtual adversarial training). ``make_optimizer`` and
``learning_rate`` give the optimiser and its schedule (DANN's by default). A method with a teacher
(``make_teacher``) has the teacher updated after every step, scored on validation and returned as
the trained model.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from genadapt.core.errors import PipelineError


@dataclass(frozen=True)
class Method:
    name: str
    uses_target_labels: bool = False  # trains on the target's labels: the upper bound, never an adaptation
    adapts: bool = False  # sees unlabelled target batches beside the labelled source
    # This method trains for round(steps_scale x the pair's ``steps``) (settings.<method>.steps_scale): more
    # for a method that keeps improving where the pair's others have stopped. A factor, not a count, so a
    # preset that shrinks or grows the pair's steps (smoke, GPU) scales it too.
    steps_scale: float = 1.0

    def labelled(self, data):
        """The labelled training domain: the source's train split, or the target's for the upper bound."""
        return data.target_train if self.uses_target_labels else data.source_train

    def make_optimizer(self, model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
        """DANN's SGD with momentum; its learning rate is set every step by ``learning_rate``."""
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)

    def learning_rate(self, progress: float, cfg) -> float:
        """DANN's annealing mu_p = mu_0 / (1 + alpha p)^beta at training progress p in [0, 1)."""
        return cfg.lr / (1.0 + cfg.lr_alpha * progress) ** cfg.lr_beta

    def source_view(self, xs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The labelled batch the network trains on (B, C, S, S); the batch itself unless the method augments it."""
        return xs

    def forward(self, model, xs: torch.Tensor, xt: torch.Tensor, lam: float):
        """(features (2B, F), class logits (2B, K), domain logits (2B,)) of source then target: one pass over
        both, so BatchNorm normalises them with shared statistics."""
        return model(torch.cat([xs, xt]), lam)

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

    def input_loss(self, model, xs: torch.Tensor, xt: torch.Tensor, logits: torch.Tensor,
                   generator: torch.Generator) -> tuple[torch.Tensor | None, dict[str, float]]:
        """A loss that runs the network again on the inputs (B, C, S, S) themselves, e.g. on perturbed
        copies, given the step's logits (2B, K) of source then target; or (None, {})."""
        return None, {}


def method_names() -> tuple[str, ...]:
    """The modules of ``methods/``: every method an instance may name."""
    package = importlib.import_module("genadapt.families.adapt.methods")
    return tuple(sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")))


def get_method(name: str, settings: dict | None = None) -> Method:
    """The method module's ``METHOD``, with ``settings`` (an instance's ``settings.<name>``) replacing its defaults."""
    if name not in method_names():
        raise PipelineError(f"unknown adaptation method {name!r}; choose one of {', '.join(method_names())}")
    method = importlib.import_module(f"genadapt.families.adapt.methods.{name}").METHOD
    if not settings:
        return method
    own = {f.name for f in dataclasses.fields(method)} - {f.name for f in dataclasses.fields(Method)} | {"steps_scale"}
    for key, value in settings.items():
        if key not in own:
            raise PipelineError(f"settings.{name}.{key}: not a setting of {name} "
                                f"({', '.join(sorted(own)) or 'it has none'})")
        default = getattr(method, key)
        if type(value) is not type(default) and not (isinstance(default, float) and type(value) is int):
            raise PipelineError(f"settings.{name}.{key}: expected a {type(default).__name__} "
                                f"like the default {default!r}, got {value!r}")
    if settings.get("steps_scale", 1.0) <= 0:
        raise PipelineError(f"settings.{name}.steps_scale: expected a factor > 0, got {settings['steps_scale']}")
    return dataclasses.replace(method, **settings)
