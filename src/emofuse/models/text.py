"""The text model at inference: MiniLM embeddings -> a small head (+ lexical branch), in numpy.

The head (:class:`~emofuse.models.text_head.TextHead`, trained in torch) is a linear layer
or a one-hidden-layer GELU MLP; here it runs in numpy from its safetensors, so predicting
needs neither torch nor scikit-learn. The encoder is MiniLM on onnxruntime when
``emofuse export-onnx`` has exported it, else on torch (:func:`..encoders.minilm_onnx.load_minilm`).

The bundled default text model is the fine-tuned one (:mod:`.text_finetuned`); this
architecture (``text_head``) is what :mod:`emofuse.train.text` trains: a lighter recipe
(minutes, not an hour) that loads the same way (:mod:`.bundled`).

>>> model = TextModel.load("runs/text_head")                           # doctest: +SKIP
>>> p = model.predict_proba(["I can't believe we won!", "Leave me alone."])  # doctest: +SKIP
>>> [model.labels[i] for i in p.argmax(1)]                              # doctest: +SKIP
['happiness', 'anger']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from ..media.text import check_texts, normalize_text
from .artifact import WEIGHTS_FILE, ModelMeta, load_meta
from .calibration import softmax

ARCHITECTURE = "text_head"
A5 = 1.061405429


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU ``x * Phi(x)``, with erf to 1.5e-7 (Abramowitz & Stegun 7.1.26).

    >>> [round(float(v), 4) for v in gelu(np.array([-1.0, 0.0, 2.0]))]
    [-0.1587, 0.0, 1.9545]
    """
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * A5))))
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return 0.5 * x * (1.0 + erf)


@dataclass
class NumpyHead:
    """A :class:`TextHead` at inference: ``[(W, b), ...]`` linear layers with GELU between."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    config: Any

    @classmethod
    def load(cls, directory: str | Path, meta: ModelMeta) -> NumpyHead:
        from safetensors.numpy import load_file

        state = load_file(str(Path(directory) / WEIGHTS_FILE))
        names = sorted(
            {k.rsplit(".", 1)[0] for k in state if k.startswith("net.")},
            key=lambda n: int(n.split(".")[1]),
        )
        layers = [(state[f"{n}.weight"].astype(np.float32), state[f"{n}.bias"]) for n in names]
        return cls(layers, _Config(**meta.config))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, dtype=np.float32)
        for k, (w, b) in enumerate(self.layers):
            if k:
                h = gelu(h)
            h = h @ w.T + b
        return h.astype(np.float32)


@dataclass
class _Config:
    """The fields of :class:`~emofuse.models.text_head.TextHeadConfig` (without torch)."""

    in_dim: int = 384
    hidden: int = 0
    dropout: float = 0.1
    n_classes: int = 7
    context: int = 0


class TextModel:
    """A loaded text model: encoder + head (+ lexical branch) + temperature -> probabilities.

    Models trained with dialogue context (``config.context``) read ``[e_t, e_prev, flag]``:
    the embedding of the text, of the previous utterance (zeros when there is none) and
    whether there was one. Models with a lexical branch add ``weight * lexical logits``;
    ``preprocessing["logit_bias"]`` (tuned on held-out training data) is added last.
    """

    def __init__(self, head: Any, meta: ModelMeta, encoder: Any, lexical: Any = None):
        self.head = head.eval() if hasattr(head, "eval") else head
        self.meta = meta
        self.encoder = encoder
        self.lexical = lexical

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    @property
    def uses_context(self) -> bool:
        return bool(getattr(self.head.config, "context", 0))

    @classmethod
    def find_onnx_export(cls, directory: str | Path) -> Path | None:
        """The current ONNX export of MiniLM (the network this model runs), or ``None``."""
        from ..encoders.minilm_onnx import find_export
        from ..encoders.text import default_model_path

        return find_export(default_model_path())

    @classmethod
    def load(
        cls,
        directory: str | Path,
        encoder: Any = None,
        backend: str = "auto",
        batch: int | None = None,
    ) -> TextModel:
        """Load a ``text_head`` artefact; ``encoder`` defaults to the one its metadata names.

        ``backend`` picks MiniLM's runtime (see :func:`..encoders.minilm_onnx.load_minilm`);
        ``batch`` is accepted for a uniform loader signature.
        """
        meta = load_meta(directory)
        if meta.architecture != ARCHITECTURE:
            raise DataError(
                f"{directory} holds a {meta.architecture!r} model, not {ARCHITECTURE!r}"
            )
        if encoder is None:
            name = meta.preprocessing.get("encoder", "minilm")
            if name != "minilm":
                raise DataError(f"unknown text encoder {name!r} in {directory}/model.json")
            from ..encoders.minilm_onnx import load_minilm

            encoder = load_minilm(backend=backend)
        lexical = None
        if meta.preprocessing.get("lexical"):
            from .text_lexical import LexicalModel

            lexical = LexicalModel.load(directory)
        return cls(NumpyHead.load(directory, meta), meta, encoder, lexical)

    def features(
        self, embeddings: np.ndarray, context_embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Head input: the embeddings, plus ``[e_prev, has_context]`` for context models.

        ``context_embeddings`` rows that are all zeros (or ``None``) mean "no context".
        """
        e = np.asarray(embeddings, dtype=np.float32)
        if not self.uses_context:
            return e
        c = np.zeros_like(e) if context_embeddings is None else np.asarray(context_embeddings)
        flag = np.abs(c).sum(1, keepdims=True) > 0
        return np.hstack([e, c.astype(np.float32), flag.astype(np.float32)])

    def logits(
        self,
        embeddings: np.ndarray,
        texts: list[str] | None = None,
        context_embeddings: np.ndarray | None = None,
    ) -> np.ndarray:
        """Uncalibrated logits for precomputed (normalised) embeddings.

        ``texts`` (normalised) are needed when the model has a lexical branch.
        """
        x = self.features(embeddings, context_embeddings)
        if isinstance(self.head, NumpyHead):
            z = self.head(x)
        else:  # a torch TextHead (training)
            import torch

            with torch.inference_mode():
                z = self.head(torch.as_tensor(x)).numpy().astype(np.float32)
        if self.lexical is not None:
            if texts is None or len(texts) != len(z):
                raise UsageError("this text model has a lexical branch: pass the texts too")
            z = z + float(self.meta.preprocessing["lexical"]["weight"]) * self.lexical.logits(texts)
        bias = self.meta.preprocessing.get("logit_bias")
        if bias is not None:
            z = z + np.asarray(bias, dtype=np.float32)
        return z

    def predict_proba(
        self, texts: list[str], context: Sequence[Sequence[str] | None] | None = None
    ) -> np.ndarray:
        """``(N, len(labels))`` temperature-scaled probabilities; columns follow ``labels``.

        ``context``: optional, one list per text of the previous utterances of the same
        conversation, oldest first (may be empty). Texts get the same normalisation as
        the training data (ASCII quotes, repaired mojibake) before they are embedded. Only
        the last non-empty earlier utterance is read, and each distinct string is embedded
        once, so a transcript costs time linear in its length.
        """
        check_texts(texts, context)
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        norm = [normalize_text(t) for t in texts]
        prev: list[str | None] = [None] * len(texts)
        if context is not None and self.uses_context:
            prev = [_last_utterance(ctx) for ctx in context]
        unique = list(dict.fromkeys([*norm, *(p for p in prev if p is not None)]))
        where = {t: k for k, t in enumerate(unique)}
        emb = self.encoder.encode(unique)
        ctx_emb = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
        rows = [i for i, p in enumerate(prev) if p is not None]
        ctx_emb[rows] = emb[[where[prev[i]] for i in rows]]
        e = emb[[where[t] for t in norm]]
        z = self.logits(e, norm, ctx_emb if self.uses_context else None)
        return softmax(z, self.meta.temperature).astype(np.float32)


def _last_utterance(ctx: Sequence[str] | None) -> str | None:
    """The normalised last non-empty string of ``ctx`` (scanned from the end), or ``None``."""
    if isinstance(ctx, str):
        raise UsageError("each context is a list of previous utterances")
    for c in reversed(ctx if isinstance(ctx, Sequence) else list(ctx or [])):
        if isinstance(c, str):
            c = normalize_text(c)
            if c:
                return c
    return None
