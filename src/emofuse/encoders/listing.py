"""``emofuse encoders``: a table of registered encoders, their modality and dimension."""

from __future__ import annotations

from ..errors import MissingExtraError
from .base import build_encoder, encoder_names, get_entry


def encoder_rows() -> list[tuple[str, str, str]]:
    """``(name, modality, dim)`` per registered encoder; dim with the default config, or
    ``"model-dependent"`` where it needs a model that the defaults do not name."""
    rows = []
    for name in encoder_names():
        try:
            dim = str(build_encoder(name).dim)
        except MissingExtraError as e:
            dim = f"needs {str(e).split('pip install ')[-1]}"
        except Exception:  # a missing model or extra: the dim is not known without one
            dim = "model-dependent"
        rows.append((name, get_entry(name).modality, dim))
    return rows


def encoders_text() -> str:
    rows = [("name", "modality", "dim"), *encoder_rows()]
    widths = [max(len(r[k]) for r in rows) for k in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
