"""Text normalisation shared by corpora and models: repair cp1252 mojibake, ASCII quotes.

>>> normalize_text("I\\x92m fine \\u2026")
"I'm fine ..."
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from ..errors import DataError, UsageError

# C1 control characters (U+0080-U+009F) are cp1252 bytes decoded as latin-1: restore them.
_C1 = {cp: bytes([cp]).decode("cp1252", errors="ignore") or None for cp in range(0x80, 0xA0)}
_ASCII = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2026": "...",
        "\u00a0": " ",
    }
)
# UTF-8 read as cp1252: a lead byte (Â-ß, à-ï) then 1 or 2 continuation bytes (0x80-0xBF).
_CONT = "".join(
    chr(b) if 0x80 <= b < 0xA0 and not c else c
    for b in range(0x80, 0xC0)
    for c in [bytes([b]).decode("cp1252", errors="ignore")]
)
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df][{re.escape(_CONT)}]|[\u00e0-\u00ef][{re.escape(_CONT)}]{{2}}"
)


def _fix_mojibake(match: re.Match[str]) -> str:
    try:
        return match.group(0).encode("cp1252").decode("utf-8")
    except UnicodeError:  # not mojibake after all (e.g. a real "â")
        return match.group(0)


def normalize_text(text: str) -> str:
    """Repair mis-encoded characters, make quotes/apostrophes ASCII, collapse whitespace."""
    text = _MOJIBAKE.sub(_fix_mojibake, text).translate(_C1).translate(_ASCII)
    return " ".join(text.split())


T = TypeVar("T")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_unicode(text: T) -> T:
    """``text`` with lone surrogates (undecodable bytes in argv, ``"\\ud800"`` in JSON) as U+FFFD.

    Such a string cannot be encoded as UTF-8, so tokenizers and writers would fail on it.
    Anything but a string comes back as it is.

    >>> clean_unicode("caf\\udce9")
    'caf\\ufffd'
    """
    return _SURROGATE.sub("\ufffd", text) if isinstance(text, str) else text  # type: ignore[return-value]


def check_texts(texts: Any, context: Sequence | None = None) -> None:
    """A text model's input: a list of non-blank strings (and one context per text)."""
    if isinstance(texts, str):
        raise UsageError("predict_proba takes a list of texts, not one string")
    if any(not isinstance(t, str) or not t.strip() for t in texts):
        raise DataError("empty text")
    if context is not None and len(context) != len(texts):
        raise UsageError(f"{len(context)} contexts for {len(texts)} texts")
