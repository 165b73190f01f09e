"""The fine-tuned text model: MiniLM with LoRA adapters, reading the previous utterance,
plus a TF-IDF branch, a logit bias and a temperature per domain.

The network (:class:`~emofuse.models.text_finetuned_net.FineTunedTextNet`) is the packaged
all-MiniLM-L6-v2 adapted end to end; the artefact stores only the trained delta
(``model.safetensors``, a few MB), the TF-IDF branch (``lexical.*``) and ``model.json``,
which names the base weights by sha256: loading rebuilds the network from the installed
base + the delta and refuses other base weights. Two *domains* get their own lexical
weight, logit bias and temperature: ``dialogue`` (a context list was given, even an empty
one: MELD-style conversation) and ``text`` (no context: a written comment, GoEmotions-style).
Same interface as :class:`~emofuse.models.text_head.TextModel`::

    >>> model = FineTunedTextModel.load()                                  # doctest: +SKIP
    >>> p = model.predict_proba(["Oh my God!"], context=[["Ross is back."]])  # doctest: +SKIP
    >>> p.shape                                                            # doctest: +SKIP
    (1, 7)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from ..labels import CANONICAL
from .artifact import WEIGHTS_FILE, ModelMeta, load_meta, save_model
from .calibration import softmax
from .text_base import base_folder, load_tokenizer
from .text_finetuned_inputs import (
    DOMAINS,
    Item,
    batched_logits,
    encode_inputs,
    pad_items,
    read_context,
)
from .text_finetuned_net import FineTunedConfig, FineTunedTextNet

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "weights" / "text_ft"
ARCHITECTURE = "text_finetuned"


class FineTunedTextModel:
    """A loaded fine-tuned text model: network + tokenizer (+ TF-IDF branch) + per-domain
    lexical weight, logit bias and temperature -> probabilities."""

    def __init__(self, net: FineTunedTextNet, tokenizer: Any, meta: ModelMeta, lexical: Any = None):
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.meta = meta
        self.lexical = lexical  # optional TF-IDF branch (emofuse.models.text_lexical)
        #: an onnxruntime session of the network (:mod:`.onnx.finetuned_export`), or None (torch)
        self.session = None
        if list(meta.labels) != list(CANONICAL):
            raise DataError(f"text model labels {meta.labels} are not {list(CANONICAL)}")

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    @property
    def uses_context(self) -> bool:
        return self.net.config.max_context_tokens > 0

    @classmethod
    def load(
        cls, directory: str | Path = DEFAULT_DIR, base_path: str | Path | None = None
    ) -> FineTunedTextModel:
        """Rebuild from the installed base weights (or ``base_path``) + the saved delta.

        Refuses base weights whose sha256 differs from the one recorded at training.
        """
        from safetensors.torch import load_file

        directory = Path(directory)
        meta = load_meta(directory)
        if meta.architecture != ARCHITECTURE:
            raise DataError(
                f"{directory} holds a {meta.architecture!r} model, not {ARCHITECTURE!r}"
            )
        config = FineTunedConfig(**meta.config)
        if base_path is not None:
            config.base = str(base_path)
        if not config.base_sha256:  # artefacts that record the base only in preprocessing
            config.base_sha256 = (meta.preprocessing.get("base") or {}).get("sha256", "")
        net = FineTunedTextNet(config)
        try:
            net.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
        except (OSError, RuntimeError) as e:
            raise DataError(f"{directory / WEIGHTS_FILE} does not fit the network: {e}") from None
        lexical = None
        if meta.preprocessing.get("lexical"):
            from .text_lexical import LexicalModel

            lexical = LexicalModel.load(directory)
        return cls(net, load_tokenizer(base_folder(config.base)), meta, lexical)

    def save(self, directory: str | Path) -> Path:
        """``model.safetensors`` (the delta) + ``model.json`` (+ ``lexical.*``), atomically."""
        self.meta.architecture = ARCHITECTURE
        self.meta.config = dataclasses.asdict(self.net.config)
        save_model(self.net, self.meta, directory)
        if self.lexical is not None:
            self.lexical.save(directory)
        return Path(directory)

    def prepare(
        self, texts: Sequence[str], context: Sequence[Sequence[str] | None] | None
    ) -> tuple[list[Item], list[str]]:
        """Validated, tokenised items and the normalised texts; see :meth:`predict_proba`."""
        norm, previous, domains = read_context(texts, context)
        c = self.net.config
        items = encode_inputs(self.tokenizer, norm, previous, domains, c.max_tokens,
                              c.max_context_tokens)  # fmt: skip
        return items, norm

    def logits(
        self,
        items: Sequence[Item],
        texts: Sequence[str] | None = None,
        batch_size: int = 64,
        network_logits: np.ndarray | None = None,
    ) -> np.ndarray:
        """Network logits (or ``network_logits``, precomputed) + per-domain lexical weight x
        lexical logits (needs the normalised ``texts``) + per-domain bias; no temperature."""
        z = network_logits
        if z is None:
            z = self.network_logits(items, batch_size)
        z = np.array(z, dtype=np.float32)
        bias = self.meta.preprocessing.get("logit_bias") or {}
        lex_weight = (self.meta.preprocessing.get("lexical") or {}).get("weight") or {}
        lex = None
        if self.lexical is not None and any(lex_weight.values()):
            if texts is None or len(texts) != len(items):
                raise UsageError("this text model has a lexical branch: pass the texts too")
            lex = self.lexical.logits(list(texts))
        domain = np.array([d for _, _, d in items], dtype=np.int64)
        for d, name in enumerate(DOMAINS):
            rows = np.flatnonzero(domain == d)
            if not len(rows):
                continue
            if lex is not None and lex_weight.get(name):
                z[rows] += float(lex_weight[name]) * lex[rows]
            if name in bias:
                z[rows] += np.asarray(bias[name], dtype=np.float32)
        return z

    def network_logits(self, items: Sequence[Item], batch_size: int = 64) -> np.ndarray:
        """The network's ``(N, n_classes)`` logits of ``items``: torch, or ``session``."""
        pad = self.tokenizer.pad_token_id or 0
        if self.session is None:
            return batched_logits(self.net, items, batch_size, pad)
        out = np.zeros((len(items), self.net.config.n_classes), dtype=np.float32)
        order = np.argsort([len(ids) for ids, _, _ in items], kind="stable")
        for s in range(0, len(order), batch_size):
            rows = order[s : s + batch_size]
            out[rows] = self.session.run(None, pad_items([items[i] for i in rows], pad))[0]
        return out

    def temperatures(self, items: Sequence[Item]) -> np.ndarray:
        """Each item's temperature (its domain's, else the model's single one)."""
        per = self.meta.preprocessing.get("temperature") or {}
        default = float(self.meta.temperature)
        return np.array([float(per.get(DOMAINS[d], default)) for _, _, d in items])

    def predict_proba(
        self, texts: Sequence[str], context: Sequence[Sequence[str] | None] | None = None
    ) -> np.ndarray:
        """``(N, 7)`` calibrated probabilities; columns follow ``labels`` (CANONICAL).

        ``context``: ``None`` for stand-alone texts, or one list per text of the earlier
        utterances of its conversation, oldest first (may be empty); the last one is read.
        """
        if len(texts) == 0 and not isinstance(texts, str):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        items, norm = self.prepare(texts, context)
        z = self.logits(items, norm)
        return softmax(z / self.temperatures(items)[:, None]).astype(np.float32)
