"""The fine-tuned text network: a BERT base (MiniLM) with LoRA adapters, reading the
previous utterance, pooled over the utterance's own tokens.

The base weights come from ``config.base`` (the packaged all-MiniLM-L6-v2 by default,
checked against ``config.base_sha256``); the adapters of the blocks above
``frozen_layers``, their LayerNorms (and token-type embeddings when no block is frozen), a
linear classifier and a bias per *domain* are trained. The frozen base weights are held as
non-persistent buffers, so ``state_dict()`` is exactly the trained delta: ``save_model``
writes a few MB, :func:`~emofuse.models.artifact.load_model` rebuilds the base from the
config and loads the delta, and training checkpoints stay small::

    >>> net = FineTunedTextNet(FineTunedConfig())                        # doctest: +SKIP
    >>> sorted(net.state_dict())[:2]                                     # doctest: +SKIP
    ['classifier.bias', 'classifier.weight']
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import torch
from torch import nn

from ..errors import DataError
from .lora import inject_lora, merge_lora
from .registry import register_architecture
from .text_base import base_folder, check_base, load_encoder
from .text_finetuned_config import LORA_TARGETS, FineTunedConfig

__all__ = ["LORA_TARGETS", "FineTunedConfig", "FineTunedTextNet"]


def _block(name: str) -> int | None:
    """Index of the transformer block a parameter/module name belongs to (None: not in one)."""
    for a, b in itertools.pairwise(name.split(".")):
        if a == "layer" and b.isdigit():
            return int(b)
    return None


def _adapted(name: str, config: FineTunedConfig) -> bool:
    """Whether ``name`` lies above the frozen blocks (embeddings count as frozen when any
    block is)."""
    block = _block(name)
    return config.frozen_layers == 0 if block is None else block >= config.frozen_layers


@register_architecture("text_finetuned")
class FineTunedTextNet(nn.Module):
    """BERT encoder (+ LoRA) -> mean over segment A -> dropout -> linear + domain bias.

    ``forward(input_ids, attention_mask, token_type_ids, domain) -> (N, n_classes)`` logits;
    :mod:`emofuse.models.text_finetuned_inputs` builds the inputs from texts.
    """

    Config = FineTunedConfig

    def __init__(self, config: FineTunedConfig, encoder: nn.Module | None = None):
        super().__init__()
        self.config = config
        if encoder is None:
            folder = base_folder(config.base)
            check_base(folder, config.base_sha256)
            encoder = load_encoder(folder)
        n_layers = len(encoder.encoder.layer)
        if not 0 <= config.frozen_layers < n_layers:
            raise DataError(f"frozen_layers must be in [0, {n_layers}), not {config.frozen_layers}")
        self.encoder = encoder
        self.base_keys = tuple(encoder.state_dict())  # the base's own weights, by HF name
        self.encoder.requires_grad_(False)
        for m in self.encoder.modules():  # BERT's attention reads ``.p`` too
            if isinstance(m, nn.Dropout):
                m.p = config.encoder_dropout
        inject_lora(self.encoder, config.lora_targets, config.lora_r, config.lora_alpha,
                    config.lora_dropout, where=lambda n: _adapted(n, config))  # fmt: skip
        for name, p in self.encoder.named_parameters():
            if _adapted(name, config) and (
                (config.train_layernorm and "LayerNorm" in name)
                or (config.train_token_types and "token_type_embeddings" in name)
            ):
                p.requires_grad = True
        hidden = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(config.head_dropout)
        self.classifier = nn.Linear(hidden, config.n_classes)
        self.domain_bias = nn.Parameter(torch.zeros(config.n_domains, config.n_classes))
        _freeze_into_buffers(self)

    @classmethod
    def example_inputs(cls, config: FineTunedConfig) -> tuple[torch.Tensor, ...]:
        """Two items (the second with a context segment) for contract tests."""
        ids = torch.tensor([[101, 7592, 999, 102, 0, 0], [101, 2054, 102, 7592, 2088, 102]])
        types = torch.tensor([[0] * 6, [0, 0, 0, 1, 1, 1]])
        return ids, (ids > 0).long(), types, torch.tensor([0, 1])

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        domain: torch.Tensor,
    ) -> torch.Tensor:
        h = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return self.head(h, attention_mask, token_type_ids, domain)

    def head(self, h, attention_mask, token_type_ids, domain) -> torch.Tensor:
        """Mean over the utterance's own tokens (segment A) -> dropout -> linear + bias."""
        own = (attention_mask * (token_type_ids == 0)).unsqueeze(-1).to(h.dtype)
        pooled = (h * own).sum(1) / own.sum(1).clamp(min=1.0)
        return self.classifier(self.dropout(pooled)) + self.domain_bias[domain]

    def bottom(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        """Hidden states after the ``frozen_layers`` bottom blocks (they never change, so a
        trainer may compute them once and train :meth:`top` on them)."""
        with _only_blocks(self.encoder, 0, self.config.frozen_layers):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state  # fmt: skip

    def top(
        self,
        hidden: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        domain: torch.Tensor,
    ) -> torch.Tensor:
        """Logits from :meth:`bottom`'s hidden states: ``top(bottom(x)) == forward(x)``."""
        n = len(self.encoder.encoder.layer)
        with _only_blocks(self.encoder, self.config.frozen_layers, n, embeddings=False):
            h = self.encoder(inputs_embeds=hidden, attention_mask=attention_mask).last_hidden_state
        return self.head(h, attention_mask, token_type_ids, domain)

    def merged(self) -> FineTunedTextNet:
        """A copy with the adapters folded into plain linear layers (eval mode): the same
        function with the base's shape and speed, for export (see :mod:`.lora`)."""
        out = copy.deepcopy(self).eval()
        merge_lora(out.encoder)
        return out

    def merged_state_dict(self) -> dict[str, torch.Tensor]:
        """Every weight of the fine-tuned network with the adapters merged: the encoder's
        under Hugging Face ``BertModel`` names (``encoder.``-prefixed), then ``classifier.*``
        and ``domain_bias``. Loading the ``encoder.*`` part into a ``BertModel`` of the base's
        config gives the adapted encoder as a plain BERT (e.g. for an ONNX export)."""
        net = self.merged()
        tensors = dict(net.encoder.named_parameters()) | dict(net.encoder.named_buffers())
        state = {f"encoder.{k}": tensors[k] for k in self.base_keys}
        state |= {k: v for k, v in net.state_dict().items() if not k.startswith("encoder.")}
        return {k: v.detach().clone().contiguous() for k, v in state.items()}


def _freeze_into_buffers(module: nn.Module) -> None:
    """Turn every frozen parameter into a non-persistent buffer and every buffer
    non-persistent: ``state_dict()`` then holds the trainable parameters only."""
    for m in module.modules():
        for name, p in list(m._parameters.items()):
            if p is not None and not p.requires_grad:
                del m._parameters[name]
                m.register_buffer(name, p.detach(), persistent=False)
        m._non_persistent_buffers_set.update(m._buffers)


class _Passthrough(nn.Module):
    """Stands in for BERT's embeddings: returns ``inputs_embeds`` (hidden states) as they are."""

    def forward(self, *args: Any, inputs_embeds: torch.Tensor | None = None, **kw: Any):
        return inputs_embeds


class _only_blocks:
    """Run only blocks ``[start, stop)`` of a BertModel (and optionally not its embeddings)."""

    def __init__(self, bert: nn.Module, start: int, stop: int, embeddings: bool = True):
        self.bert, self.start, self.stop, self.embeddings = bert, start, stop, embeddings

    def __enter__(self) -> None:
        self.layers, self.emb = self.bert.encoder.layer, self.bert.embeddings
        self.bert.encoder.layer = nn.ModuleList(list(self.layers)[self.start : self.stop])
        if not self.embeddings:
            self.bert.embeddings = _Passthrough()

    def __exit__(self, *exc: Any) -> None:
        self.bert.encoder.layer, self.bert.embeddings = self.layers, self.emb
