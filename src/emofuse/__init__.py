"""emofuse: multimodal emotion recognition from text, voice, face and video.

>>> from emofuse import Recognizer
>>> rec = Recognizer.default()                       # doctest: +SKIP
>>> rec.predict_text(["I can't believe we won!"])[0].label  # doctest: +SKIP
'happiness'
"""

from __future__ import annotations

from ._version import __version__
from .labels import CANONICAL as LABELS

__all__ = [
    "LABELS",
    "Manifest",
    "Recognizer",
    "Result",
    "__version__",
    "load_features",
    "load_model",
]


def __getattr__(name: str):
    # Lazy: `import emofuse` stays cheap (no torch) until a model is needed.
    if name == "Recognizer":
        from .inference.recognizer import Recognizer

        return Recognizer
    if name == "Manifest":
        from .data.manifest import Manifest

        return Manifest
    if name == "Result":
        from .inference.result import Result

        return Result
    if name == "load_features":
        from .features import load_features

        return load_features
    if name == "load_model":
        from .models.artifact import load_model

        return load_model
    raise AttributeError(f"module 'emofuse' has no attribute {name!r}")
