"""Start the server with uvicorn (what ``emofuse serve`` calls)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..errors import MissingExtraError
from ..inference.recognizer import Recognizer
from ..models.bundled import DEFAULT_WEIGHTS
from .guard import default_hosts, exposure_warning

log = logging.getLogger("emofuse.serve")


def load_recognizer(model: str = "default", backend: str = "auto") -> Recognizer:
    """``default`` -> the bundled models; anything else is a model folder.

    ``backend`` (auto, torch, onnx) picks what runs the face and voice networks.
    """
    return Recognizer(DEFAULT_WEIGHTS if model == "default" else model, backend=backend)


def run(
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str = "default",
    backend: str = "auto",
    api_key: str | None = None,
    allow_hosts: Sequence[str] = (),
) -> None:
    """Load the models, then serve until interrupted.

    ``api_key``: required on ``/v1/*`` when set. ``allow_hosts``: more ``Host``/``Origin``
    names than this server's own and its loopback names (e.g. a reverse proxy's).
    """
    try:
        import uvicorn
    except ImportError:
        raise MissingExtraError("uvicorn", "serve") from None
    from .app import ServeSettings, create_app

    warning = exposure_warning(host, api_key)
    if warning:
        log.warning("warning: %s", warning)
    settings = ServeSettings(api_key=api_key, allowed_hosts=default_hosts(host, port, allow_hosts))
    rec = load_recognizer(model, backend)
    for modality in ("face", "voice"):  # load before the first client, not during its stream
        rec.model(modality)
    uvicorn.run(
        create_app(rec, settings=settings),
        host=host,
        port=port,
        log_level="info",
        ws_max_size=settings.stream.max_message_bytes + 64 * 1024,  # uvicorn's own cap: 16 MB
        ws_max_queue=4,  # messages buffered per WebSocket before reading stops
        limit_concurrency=4 * (settings.workers + settings.queue + settings.stream.max_streams),
    )
