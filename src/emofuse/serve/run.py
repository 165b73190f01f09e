"""Start the server with uvicorn (what ``emofuse serve`` calls)."""

from __future__ import annotations

from ..errors import MissingExtraError
from ..inference.recognizer import Recognizer
from ..models.bundled import DEFAULT_WEIGHTS


def load_recognizer(model: str = "default", backend: str = "auto") -> Recognizer:
    """``default`` -> the bundled models; anything else is a model folder.

    ``backend`` (auto, torch, onnx) picks what runs the face and voice networks.
    """
    return Recognizer(DEFAULT_WEIGHTS if model == "default" else model, backend=backend)


def run(
    host: str = "127.0.0.1", port: int = 8000, model: str = "default", backend: str = "auto"
) -> None:
    """Load the models, then serve until interrupted."""
    try:
        import uvicorn
    except ImportError:
        raise MissingExtraError("uvicorn", "serve") from None
    from .app import create_app

    rec = load_recognizer(model, backend)
    for modality in ("face", "voice"):  # load before the first client, not during its stream
        rec.model(modality)
    uvicorn.run(create_app(rec), host=host, port=port, log_level="info")
