"""A minimal embedding cache: one ``.npy`` per (encoder, weights, version, texts).

The key holds what defines the features (encoder name and weights fingerprint, the
emofuse version, every text) and nothing about how they were computed (batch size,
threads, progress bars)::

    >>> enc = MiniLMEncoder()                                              # doctest: +SKIP
    >>> x = cached_embeddings(enc, ["so happy"], ".cache/emofuse", "demo")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..utils.io import write_atomic


def cache_key(encoder: Any, texts: Sequence[str]) -> str:
    """sha256 over the encoder's name and fingerprint, the emofuse version and the texts."""
    h = hashlib.sha256()
    for part in (encoder.name, encoder.fingerprint(), __version__, str(len(texts))):
        h.update(part.encode() + b"\0")
    for text in texts:
        h.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def cached_embeddings(
    encoder: Any,
    texts: Sequence[str],
    cache_dir: str | Path,
    key: str = "texts",
    **encode_kwargs: Any,
) -> np.ndarray:
    """``encoder.encode(texts)``, read from / written to ``cache_dir/{key}-{hash}.npy``.

    ``key`` is a readable prefix only (e.g. ``"meld-train"``); the hash decides hits.
    """
    path = Path(cache_dir) / f"{key}-{cache_key(encoder, texts)[:24]}.npy"
    if path.is_file():
        try:
            emb = np.load(path, allow_pickle=False)
            if emb.shape[0] == len(texts):
                return emb
        except (OSError, ValueError):
            pass  # a corrupt entry is recomputed and overwritten
    emb = np.asarray(encoder.encode(list(texts), **encode_kwargs), dtype=np.float32)
    buf = io.BytesIO()
    np.save(buf, emb, allow_pickle=False)
    write_atomic(path, buf.getvalue())
    return emb
