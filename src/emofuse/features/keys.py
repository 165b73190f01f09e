"""Feature keys: sha256 over what defines an item's features, nothing about how they ran.

An item's key covers the encoder name, its feature-defining config (sorted JSON of
``config.identity()``), ``encoder.fingerprint()``, the emofuse version, the item's
content hash (file bytes for media, the text for text) and its input tag (the row's
segment and the input options that change what the encoder sees, e.g. face crops; see
:func:`emofuse.features.inputs.input_tag`). Pooled vectors and sequences of one item
share its key; the store tells them apart by kind.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .._version import __version__
from ..errors import DataError


def encoder_identity(encoder: Any) -> dict[str, Any]:
    """Plain data that defines an encoder's features (config without runtime fields)."""
    cfg = encoder.config
    if hasattr(cfg, "identity"):
        ident = cfg.identity()
    elif hasattr(cfg, "to_dict"):
        ident = cfg.to_dict()
    else:
        import dataclasses

        ident = dataclasses.asdict(cfg)
    return {"name": encoder.name, "config": ident, "fingerprint": encoder.fingerprint()}


def encoder_prefix(encoder: Any) -> bytes:
    """The part of every key that depends on the encoder and toolkit version only."""
    ident = encoder_identity(encoder)
    parts = [ident["name"], json.dumps(ident["config"], sort_keys=True, default=str)]
    parts += [ident["fingerprint"], __version__]
    return b"\0".join(p.encode() for p in parts) + b"\0"


def content_hash(modality: str, ref: str) -> str:
    """sha256 of the text (text) or of the file's bytes (media); DataError if unreadable."""
    h = hashlib.sha256()
    if modality == "text":
        h.update(ref.encode("utf-8", "surrogatepass"))
        return h.hexdigest()
    try:
        with open(ref, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise DataError(f"cannot read {ref}: {e.strerror or e}") from None
    return h.hexdigest()


def item_key(prefix: bytes, content: str, tag: str = "") -> str:
    """sha256 over the encoder prefix, the content hash and the input tag (if any)."""
    data = prefix + content.encode() + (b"|" + tag.encode() if tag else b"")
    return hashlib.sha256(data).hexdigest()
