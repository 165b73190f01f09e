"""Low-rank adapters (LoRA, Hu et al. 2021) on the linear layers of a frozen network.

``LoRALinear`` computes ``base(x) + (alpha / r) * B(A(x))`` with ``base`` frozen and ``B``
zero at init, so an adapted network starts as its base. :func:`merge_lora` folds the
adapters back into plain ``nn.Linear`` layers (``W + (alpha / r) B A``): the merged network
computes the same function with the base's shape and cost, so it exports like the base::

    >>> lin = torch.nn.Linear(4, 3)
    >>> adapted = LoRALinear(lin, r=2, alpha=4.0)
    >>> x = torch.randn(5, 4)
    >>> torch.equal(adapted(x), lin(x))          # B = 0: the base, exactly
    True
    >>> with torch.no_grad():
    ...     _ = adapted.lora_b.normal_()
    >>> torch.allclose(adapted.merged()(x), adapted(x), atol=1e-6)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * B(A(dropout(x)))`` with ``base`` frozen and ``B`` zero-init."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad = False
        self.lora_a = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scaling = alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + ((self.dropout(x) @ self.lora_a.T) * self.scaling) @ self.lora_b.T

    def merged_weight(self) -> torch.Tensor:
        """``W + (alpha / r) B A``: the weight of the equivalent plain linear layer."""
        delta = (self.lora_b.detach() @ self.lora_a.detach()) * self.scaling
        return self.base.weight.detach() + delta.to(self.base.weight.dtype)

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` computing what this layer computes (in eval mode)."""
        out = nn.Linear(self.base.in_features, self.base.out_features, self.base.bias is not None)
        with torch.no_grad():
            out.weight.copy_(self.merged_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias.detach())
        return out.requires_grad_(False)


def inject_lora(
    module: nn.Module,
    targets: Iterable[str],
    r: int,
    alpha: float,
    dropout: float = 0.0,
    where: Callable[[str], bool] = lambda name: True,
) -> list[str]:
    """Replace each ``nn.Linear`` whose name ends with one of ``targets`` (and passes
    ``where``) by a :class:`LoRALinear` around it; the names replaced."""
    targets = tuple(targets)
    names = [
        n
        for n, m in module.named_modules()
        if isinstance(m, nn.Linear) and n.endswith(targets) and where(n)
    ]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = module.get_submodule(parent_name)
        setattr(parent, child, LoRALinear(getattr(parent, child), r, alpha, dropout))
    return names


def merge_lora(module: nn.Module) -> int:
    """Replace every :class:`LoRALinear` inside ``module`` by its merged ``nn.Linear``
    (in place); the number merged."""
    names = [n for n, m in module.named_modules() if isinstance(m, LoRALinear)]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, child, getattr(parent, child).merged())
    return len(names)
