"""LoRA adapters: a zero start, only the adapters train, merging keeps the function."""

from __future__ import annotations

import torch
from torch import nn

from emofuse.models.lora import LoRALinear, inject_lora, merge_lora


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8)), nn.Linear(8, 3)
    )


def test_starts_as_the_base_and_trains_only_the_adapters():
    net, x = _net(), torch.randn(4, 6)
    want = net(x)
    names = inject_lora(net, ["0", "2.0"], r=2, alpha=4.0, where=lambda n: n != "3")
    assert names == ["0", "2.0"] and isinstance(net[2][0], LoRALinear)
    assert isinstance(net[3], nn.Linear)  # excluded by ``where``
    torch.testing.assert_close(net(x), want, rtol=0, atol=0)  # B = 0 at init
    trainable = sorted(n for n, p in net.named_parameters() if p.requires_grad)
    assert trainable == ["0.lora_a", "0.lora_b", "2.0.lora_a", "2.0.lora_b", "3.bias", "3.weight"]
    net(x).sum().backward()
    assert net[0].lora_b.grad is not None and net[0].base.weight.grad is None


def test_merge_keeps_the_function():
    net, x = _net(), torch.randn(5, 6)
    inject_lora(net, ["0", "2.0", "3"], r=3, alpha=6.0)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, LoRALinear):
                m.lora_b.normal_()
    adapted = net(x).detach()
    assert not torch.allclose(adapted, _net()(x))  # the adapters change the output
    assert merge_lora(net) == 3
    assert not any(isinstance(m, LoRALinear) for m in net.modules())
    torch.testing.assert_close(net(x), adapted, rtol=1e-5, atol=1e-6)
    assert not any(p.requires_grad for p in net.parameters())
