"""Checks of user-given numbers, shared by the library's entry points (CLI and server call them).

>>> positive("fps", 2)
2.0
>>> positive("fps", float("nan"))
Traceback (most recent call last):
...
emofuse.errors.UsageError: fps must be a finite number > 0, got nan
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import UsageError


def positive(name: str, value: Any, minimum: float = 0.0) -> float:
    """``value`` as a float when it is finite and > 0 (and >= ``minimum``); else UsageError."""
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise UsageError(f"{name} must be a finite number > 0, got {value!r}")
    if x < minimum:
        raise UsageError(f"{name} must be at least {minimum:g}, got {value!r}")
    return x
