"""Raw items for end-to-end methods: manifest rows whose media are read on demand.

End-to-end methods (the bi-encoder, the real-time audio-visual model) read media, not
features. Their ``X`` is ``{"items": rows}``: one mapping per item with any of ``text``,
``image``, ``audio``, ``video`` (absolute paths, or already decoded arrays: an image, a
16 kHz wave), ``start``/``end`` (seconds) and ``id``. A manifest becomes such rows with
:func:`manifest_items`.

>>> items = Items([{"text": "so happy"}, {"text": None}])
>>> items.text(0), items.text(1)
('so happy', None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..data.clips import SAMPLE_RATE, Clip, ClipSpec, load_clip
from ..errors import DataError, EmofuseError

COLUMNS = ("id", "text", "image", "audio", "video", "start", "end")


def _null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


class Items:
    """Rows of raw inputs; see the module docstring."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]):
        self.rows = [dict(r) for r in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def value(self, i: int, column: str) -> Any:
        v = self.rows[i].get(column)
        return None if _null(v) else v

    def text(self, i: int) -> str | None:
        t = self.value(i, "text")
        return t if isinstance(t, str) and t.strip() else None

    def image(self, i: int) -> np.ndarray | None:
        """The item's face image (RGB or gray array), or ``None``."""
        from ..media import decode

        v = self.value(i, "image")
        if v is None:
            return None
        return np.asarray(v) if isinstance(v, np.ndarray) else decode.load_image(v)

    def wave(self, i: int) -> np.ndarray | None:
        """The item's 16 kHz mono wave (``audio``, else the video's track), or ``None``.

        ``start``/``end`` cut it, except an ``audio`` next to a ``video`` (IEMOCAP: the
        turn's own wav; the span locates the turn in the dialogue's video).
        """
        from ..media import decode

        v = self.value(i, "audio")
        if isinstance(v, np.ndarray):
            return v.astype(np.float32, copy=False)
        start, end = float(self.value(i, "start") or 0.0), self.value(i, "end")
        if v is not None and self.value(i, "video") is not None:
            start, end = 0.0, None
        path = v if v is not None else self.value(i, "video")
        if path is None:
            return None
        try:
            wave = decode.load_audio(path, SAMPLE_RATE, start=start, end=end)
        except EmofuseError:
            if v is not None:
                raise
            return None  # a video without sound
        return wave if wave.size else None

    def clip(self, i: int, spec: ClipSpec, rng: np.random.Generator | None = None) -> Clip:
        """The item as an audio-visual clip (decoded video, or a synthesised one)."""
        row = self.rows[i]
        if isinstance(row.get("image"), np.ndarray) or isinstance(row.get("audio"), np.ndarray):
            from ..data.clips import synthesize

            image = self.image(i)
            if image is None:
                raise DataError(f"item {i}: an in-memory item needs an image")
            return synthesize(image, self.wave(i), spec, rng, text=self.text(i))
        return load_clip(row, lambda column: row[column], spec, rng)


def as_items(X: Any) -> Items:
    """``{"items": rows}``, a list of rows or :class:`Items` -> :class:`Items`."""
    if isinstance(X, Items):
        return X
    if isinstance(X, Mapping):
        if "items" not in X:
            raise DataError(f"an end-to-end method reads X={{'items': rows}}, got keys {list(X)}")
        X = X["items"]
    rows = list(X)
    if any(not isinstance(r, Mapping) for r in rows):
        raise DataError("items are mappings (text, image, audio, video, start, end)")
    return Items(rows)


def manifest_items(manifest: Any) -> list[dict[str, Any]]:
    """One row per manifest item, media columns as absolute paths (what ``X["items"]`` holds)."""
    out = []
    for _, row in manifest.frame.iterrows():
        item: dict[str, Any] = {}
        for column in COLUMNS:
            value = row.get(column)
            if _null(value):
                continue
            if column in ("image", "audio", "video"):
                value = str(manifest.media_path(row, column))
            item[column] = value
        out.append(item)
    return out
