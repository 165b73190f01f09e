"""The fine-tuned text model (the bundled default): MiniLM with LoRA adapters, reading the
previous utterance, plus a TF-IDF branch, a logit bias and a temperature per domain.

The network (:class:`~emofuse.models.text_finetuned_net.FineTunedTextNet`) is the packaged
all-MiniLM-L6-v2 adapted end to end; the artefact stores only the trained delta
(``model.safetensors``, a few MB), the TF-IDF branch (``lexical.*``) and ``model.json``,
which names the base weights by sha256: loading rebuilds the network from the installed
base + the delta and refuses other base weights. Two *domains* get their own lexical
weight, logit bias and temperature: ``dialogue`` (a context list was given, even an empty
one: MELD-style conversation) and ``text`` (no context: a written comment, GoEmotions-style).

Two runtimes, one model. ``emofuse export-onnx`` writes the network with its adapters
merged into the user cache (:mod:`.onnx.finetuned_export`), keyed like MiniLM's export by
the base weights plus the delta and config (:func:`onnx_export_dir`); while that export
matches, the model loads and predicts with ``tokenizers`` + onnxruntime + numpy and never
imports torch. Without it (or with ``backend="torch"``) the network is rebuilt in torch.
Same interface as :class:`~emofuse.models.text.TextModel`::

    >>> model = FineTunedTextModel.load()                                  # doctest: +SKIP
    >>> p = model.predict_proba(["Oh my God!"], context=[["Ross is back."]])  # doctest: +SKIP
    >>> p.shape, model.backend                                             # doctest: +SKIP
    ((1, 7), 'onnx')
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.minilm_onnx import ONNX_FILE, export_dir, find_export
from ..errors import DataError, UsageError
from ..labels import CANONICAL
from ..utils.ort import onnxruntime_available
from .artifact import WEIGHTS_FILE, ModelMeta, load_meta, save_model
from .calibration import softmax
from .text_base import base_folder, load_tokenizer
from .text_finetuned_config import FineTunedConfig
from .text_finetuned_inputs import (
    DOMAINS,
    Item,
    batched_logits,
    encode_inputs,
    pad_id,
    pad_items,
    read_context,
)

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "weights" / "text"
ARCHITECTURE = "text_finetuned"
#: the cache sub-folder of the exports (beside MiniLM's ``minilm/``)
EXPORT_KIND = "text_finetuned"


def read_config(meta: ModelMeta, base_path: str | Path | None = None) -> FineTunedConfig:
    """The network config of ``meta`` (``base_path`` replaces its base folder)."""
    config = FineTunedConfig(**meta.config)
    if base_path is not None:
        config.base = str(base_path)
    if not config.base_sha256:  # artefacts that record the base only in preprocessing
        config.base_sha256 = (meta.preprocessing.get("base") or {}).get("sha256", "")
    return config


def delta_identity(directory: str | Path, config: FineTunedConfig) -> dict[str, str]:
    """What an export adds to the base weights: sha256 of the delta and of the config."""
    weights = Path(directory) / WEIGHTS_FILE
    if not weights.is_file():
        raise DataError(f"no {WEIGHTS_FILE} in {directory}")
    spec = json.dumps(dataclasses.asdict(config), sort_keys=True).encode()
    return {
        "delta_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "config_sha256": hashlib.sha256(spec).hexdigest(),
    }


def onnx_export_dir(
    directory: str | Path = DEFAULT_DIR, root: str | Path | None = None, base_path=None
) -> Path:
    """The user-cache folder of the ONNX export of the model in ``directory``."""
    config = read_config(load_meta(directory), base_path)
    extra = delta_identity(directory, config)
    return export_dir(base_folder(config.base), root, EXPORT_KIND, extra)


def find_onnx_export(
    directory: str | Path = DEFAULT_DIR, root: str | Path | None = None, base_path=None
) -> Path | None:
    """That folder if it holds a finished export matching the base, delta and config now."""
    config = read_config(load_meta(directory), base_path)
    extra = delta_identity(directory, config)
    return find_export(base_folder(config.base), root, EXPORT_KIND, extra)


class FineTunedTextModel:
    """A loaded fine-tuned text model: network (torch ``net`` or an onnxruntime ``session``)
    + tokenizer (+ TF-IDF branch) + per-domain lexical weight, logit bias and temperature
    -> probabilities."""

    def __init__(
        self,
        net: Any,
        tokenizer: Any,
        meta: ModelMeta,
        lexical: Any = None,
        session: Any = None,
    ):
        if net is None and session is None:
            raise UsageError("a fine-tuned text model needs a network or an onnxruntime session")
        self.net = net.eval() if net is not None else None
        self.tokenizer = tokenizer  # Hugging Face's, or a ``tokenizers.Tokenizer``
        self.meta = meta
        self.lexical = lexical  # optional TF-IDF branch (emofuse.models.text_lexical)
        #: an onnxruntime session of the merged network (:mod:`.onnx.finetuned_export`);
        #: when set, it runs the network instead of ``net``
        self.session = session
        self.config: FineTunedConfig = net.config if net is not None else read_config(meta)
        if list(meta.labels) != list(CANONICAL):
            raise DataError(f"text model labels {meta.labels} are not {list(CANONICAL)}")

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    @property
    def uses_context(self) -> bool:
        return self.config.max_context_tokens > 0

    @property
    def backend(self) -> str:
        """What runs the network: ``"onnx"`` or ``"torch"``."""
        return "onnx" if self.session is not None else "torch"

    @classmethod
    def find_onnx_export(cls, directory: str | Path = DEFAULT_DIR) -> Path | None:
        """The current ONNX export of the model in ``directory`` (see :func:`find_onnx_export`)."""
        return find_onnx_export(directory)

    @classmethod
    def load(
        cls,
        directory: str | Path = DEFAULT_DIR,
        base_path: str | Path | None = None,
        backend: str = "auto",
        batch: int | None = None,
    ) -> FineTunedTextModel:
        """Load from ``directory``: the network on onnxruntime from its export in the user
        cache when one matches (``backend="auto"``; ``"onnx"`` insists), else rebuilt in
        torch from the installed base weights (or ``base_path``) + the saved delta, refusing
        base weights whose sha256 differs from the one recorded at training. ``batch`` is
        accepted for a uniform loader signature (one runtime serves every batch size)."""
        from .onnx.runtime import check_backend

        directory = Path(directory)
        meta = load_meta(directory)
        if meta.architecture != ARCHITECTURE:
            raise DataError(
                f"{directory} holds a {meta.architecture!r} model, not {ARCHITECTURE!r}"
            )
        config = read_config(meta, base_path)
        lexical = None
        if meta.preprocessing.get("lexical"):
            from .text_lexical import LexicalModel

            lexical = LexicalModel.load(directory)
        if check_backend(backend) != "torch":
            found = None
            if onnxruntime_available():
                found = find_onnx_export(directory, base_path=base_path)
            if found is not None:
                from ..utils.ort import make_session

                tokenizer = fast_tokenizer(base_folder(config.base))
                model = cls(None, tokenizer, meta, lexical, make_session(found / ONNX_FILE))
                model.config = config
                return model
            if backend == "onnx":
                raise DataError(
                    f"no ONNX export of the text model in {directory} (looked in "
                    f"{onnx_export_dir(directory, base_path=base_path)}): run `emofuse "
                    "export-onnx --only text` (or use backend='torch')"
                )
        tokenizer = load_tokenizer(base_folder(config.base))
        return cls(_torch_net(directory, config), tokenizer, meta, lexical)

    def save(self, directory: str | Path) -> Path:
        """``model.safetensors`` (the delta) + ``model.json`` (+ ``lexical.*``), atomically."""
        if self.net is None:
            raise UsageError("this model runs on onnxruntime: load it with backend='torch' to save")
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
        c = self.config
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
        pad = pad_id(self.tokenizer)
        if self.session is None:
            return batched_logits(self.net, items, batch_size, pad)
        out = np.zeros((len(items), self.config.n_classes), dtype=np.float32)
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


def _torch_net(directory: Path, config: FineTunedConfig) -> Any:
    """The network in torch: the base weights (checked) + the saved delta."""
    from safetensors.torch import load_file

    from .text_finetuned_net import FineTunedTextNet

    net = FineTunedTextNet(config)
    try:
        net.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    except (OSError, RuntimeError) as e:
        raise DataError(f"{directory / WEIGHTS_FILE} does not fit the network: {e}") from None
    return net


def fast_tokenizer(folder: Path) -> Any:
    """The base's ``tokenizer.json`` read by ``tokenizers`` alone (no transformers): the
    same word pieces as its Hugging Face tokenizer. The file's own padding and truncation
    (all-MiniLM-L6-v2's pads and cuts to 128) are turned off: :func:`encode_inputs` cuts
    each segment itself and :func:`pad_items` pads each batch."""
    from tokenizers import Tokenizer

    path = folder / "tokenizer.json"
    if not path.is_file():
        raise DataError(f"no tokenizer.json in {folder}")
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer
