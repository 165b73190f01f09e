"""TF-IDF text features (optionally reduced by a truncated SVD, i.e. LSA): a *fitted* encoder.

Unlike a pretrained encoder, TF-IDF learns its vocabulary, IDF weights and SVD basis from
texts, so it must be fitted on training texts only. :func:`fit_tfidf` writes that state
as ``tfidf.json`` (vocabulary, config) + ``tfidf.safetensors`` (idf, components) and
returns a config naming it; the encoder then transforms any text. The state's content
hash is part of the fingerprint, so features of differently fitted states never mix in
the feature store::

    >>> cfg = fit_tfidf(["so happy", "so sad", "happy day"], "state", min_df=1)  # doctest: +SKIP
    >>> build_encoder("tfidf", cfg).encode(["happy"]).shape                      # doctest: +SKIP
    (1, 4)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import DataError, UsageError
from ..utils.io import write_atomic
from .base import EncoderConfig, as_float32, config_fingerprint, empty, register_encoder

STATE_JSON, STATE_ARRAYS = "tfidf.json", "tfidf.safetensors"
MAX_FEATURES = 200_000


@dataclass
class TfidfConfig(EncoderConfig):
    """``state``: folder of a fitted state (required to encode); the rest sets the fit.

    Word n-grams ``1..ngram_max``, at most ``max_features`` terms seen in ``min_df`` texts,
    sublinear term frequency, L2-normalised rows; ``svd_dim`` > 0 reduces them to that many
    dimensions (fitted on the same texts).
    """

    runtime_fields: ClassVar[tuple[str, ...]] = ("batch_size", "state")  # state: by content

    state: str | None = None
    max_features: int = 20000
    ngram_max: int = 2
    min_df: int = 2
    sublinear_tf: bool = True
    svd_dim: int = 0
    seed: int = 0


def _vectorizer(config: TfidfConfig, vocabulary: dict[str, int] | None = None) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        ngram_range=(1, config.ngram_max),
        min_df=1 if vocabulary is not None else config.min_df,
        max_features=None if vocabulary is not None else config.max_features,
        vocabulary=vocabulary,
        lowercase=True,
        dtype=np.float32,
    )


def _weigh(counts: Any, idf: np.ndarray, sublinear: bool) -> Any:
    """Counts (sparse) -> L2-normalised (sublinear) tf * idf."""
    from sklearn.preprocessing import normalize

    x = counts.tocsr().astype(np.float32)
    if sublinear:
        np.log(x.data, out=x.data)
        x.data += 1
    return normalize(x.multiply(idf.astype(np.float32)).tocsr(), copy=False)


def fit_tfidf(texts: list[str], directory: str | Path, **config: Any) -> dict[str, Any]:
    """Fit on ``texts``, write the state to ``directory`` and return the encoder config."""
    from safetensors.numpy import save

    cfg = TfidfConfig(**{**config, "state": None})
    if not 1 <= cfg.max_features <= MAX_FEATURES or cfg.ngram_max < 1 or cfg.svd_dim < 0:
        raise UsageError(f"tfidf: bad config {asdict(cfg)}")
    texts = [str(t) for t in texts]
    vec = _vectorizer(cfg)
    try:
        counts = vec.fit_transform(texts)
    except ValueError as e:  # an empty vocabulary
        raise DataError(f"tfidf: cannot fit on {len(texts)} texts: {e}") from None
    df = np.bincount(counts.nonzero()[1], minlength=counts.shape[1])
    idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)  # sklearn's smooth idf
    arrays = {"idf": idf}
    if cfg.svd_dim:
        from sklearn.decomposition import TruncatedSVD

        dim = min(cfg.svd_dim, counts.shape[1] - 1, len(texts) - 1)
        if dim < 1:
            raise DataError(f"tfidf: too few texts or terms for an SVD ({len(texts)} texts)")
        svd = TruncatedSVD(dim, random_state=cfg.seed).fit(_weigh(counts, idf, cfg.sublinear_tf))
        arrays["components"] = svd.components_.astype(np.float32)
    directory = Path(directory)
    vocab = {term: int(i) for term, i in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])}
    fit_info = {"n_texts": len(texts), "n_terms": len(vocab)}
    doc = {"config": {**asdict(cfg), "state": None}, "vocabulary": vocab, "fit": fit_info}
    write_atomic(directory / STATE_ARRAYS, save(arrays))
    write_atomic(directory / STATE_JSON, json.dumps(doc, ensure_ascii=False).encode())
    return {**asdict(cfg), "state": str(directory)}


@register_encoder("tfidf", TfidfConfig)
class Tfidf:
    """TF-IDF (or LSA with ``svd_dim``) of a fitted state: ``(N, terms or svd_dim)``."""

    modality = "text"
    needs_fit = True  # fitted on training texts by :func:`fit_tfidf`
    fit_state = staticmethod(fit_tfidf)

    def __init__(self, config: TfidfConfig | None = None):
        self.config = config or TfidfConfig()

    def _state(self) -> tuple[dict, dict[str, np.ndarray]]:
        state = getattr(self, "state_", None)
        if state is None:
            from safetensors.numpy import load_file

            if self.config.state is None:
                raise UsageError("tfidf is fitted on training texts first (fit_tfidf)")
            folder = Path(self.config.state)
            if not (folder / STATE_JSON).is_file() or not (folder / STATE_ARRAYS).is_file():
                raise DataError(f"no fitted tfidf state in {folder}")
            doc = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
            state = self.state_ = (doc, load_file(str(folder / STATE_ARRAYS)))
        return state

    @property
    def dim(self) -> int:
        doc, arrays = self._state()
        comp = arrays.get("components")
        return int(comp.shape[0]) if comp is not None else len(doc["vocabulary"])

    def encode(self, batch: list[str]) -> np.ndarray:
        if any(not isinstance(t, str) for t in batch):
            raise DataError("tfidf encodes strings")
        doc, arrays = self._state()
        if not batch:
            return empty(self.dim)
        cfg = TfidfConfig(**doc["config"])
        counts = _vectorizer(cfg, doc["vocabulary"]).transform(list(batch))
        x = _weigh(counts, arrays["idf"], cfg.sublinear_tf)
        comp = arrays.get("components")
        out = x @ comp.T if comp is not None else x.toarray()
        return as_float32(out, len(batch), self.dim)

    def fingerprint(self) -> str:
        if self.config.state is None:
            raise UsageError("tfidf is fitted on training texts first (fit_tfidf)")
        folder = Path(self.config.state)
        h = hashlib.sha256()
        for name in (STATE_JSON, STATE_ARRAYS):
            if not (folder / name).is_file():
                raise DataError(f"no fitted tfidf state in {folder}")
            h.update((folder / name).read_bytes())
        ident = {k: v for k, v in asdict(self.config).items() if k != "state"}
        return config_fingerprint(TfidfConfig(**ident), h.hexdigest())
