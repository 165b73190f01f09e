"""The HTTP API and the live page: thin FastAPI routes over :class:`~emofuse.Recognizer`.

>>> app = create_app()                          # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8000); docs at http://127.0.0.1:8000/docs

Endpoints: ``POST /v1/analyze`` (a media file, optional transcript -> ``Result.to_dict()``),
``POST /v1/text`` (``{"texts": [...]}`` -> predictions), ``GET /v1/health``,
``GET /v1/models``, ``WebSocket /v1/stream`` (see :mod:`emofuse.serve.stream`), and the web
page at ``/``. Errors come back as ``{"error": "one-line message"}``.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from ..errors import DataError, EmofuseError, MissingExtraError, UsageError
from ..inference.recognizer import Recognizer
from ..inference.result import MODALITIES
from ..media import decode
from .stream import StreamSession, StreamSettings, error

try:
    from fastapi import FastAPI, File, Form, Request, UploadFile, WebSocket, WebSocketDisconnect
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles
    from pydantic import BaseModel
except ImportError as e:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError(e.name or "fastapi", "serve") from None

STATIC = Path(__file__).parent / "static"
CHUNK = 1 << 20


@dataclass
class ServeSettings:
    """Limits of the server. ``stream`` holds the live sessions' settings."""

    max_upload_mb: float = 100
    max_duration_s: float = 600
    max_texts: int = 256
    stream: StreamSettings = field(default_factory=StreamSettings)


class TooLarge(EmofuseError):
    """An upload over the size or duration limit (HTTP 413)."""


class TextRequest(BaseModel):
    texts: list[str]


STATUS = {TooLarge: 413, DataError: 422, UsageError: 400}


def create_app(
    recognizer: Recognizer | None = None,
    *,
    max_upload_mb: float = 100,
    max_duration_s: float = 600,
    stream: StreamSettings | None = None,
) -> FastAPI:
    """The FastAPI app. ``recognizer`` defaults to :meth:`Recognizer.default`."""
    rec = recognizer or Recognizer.default()
    settings = ServeSettings(max_upload_mb, max_duration_s, stream=stream or StreamSettings())
    app = FastAPI(
        title="emofuse",
        summary="Multimodal emotion recognition: text, voice, face and video.",
        version=_version(),
    )
    app.state.recognizer, app.state.settings = rec, settings
    for modality in ("face", "voice"):  # load now: lazy loading is not thread-safe
        with suppress(DataError):
            rec.model(modality)

    @app.exception_handler(EmofuseError)
    async def _emofuse_error(request: Request, exc: EmofuseError) -> JSONResponse:
        code = next((c for t, c in STATUS.items() if isinstance(exc, t)), 500)
        return JSONResponse({"error": str(exc)}, status_code=code)

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": _version()}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return describe_models(rec)

    @app.post("/v1/text")
    def text(body: TextRequest) -> dict[str, Any]:
        return predict_texts(rec, body.texts, settings)

    @app.post("/v1/analyze")
    def analyze(
        file: Annotated[UploadFile, File(description="Video, audio or image file.")],
        transcript: Annotated[
            UploadFile | None, File(description="SRT, WebVTT or CSV (start,end,text).")
        ] = None,
        window: Annotated[float, Form()] = 4.0,
        fps: Annotated[float, Form()] = 2.0,
        modalities: Annotated[str, Form(description="Comma-separated.")] = ",".join(MODALITIES),
    ) -> dict[str, Any]:
        return analyze_upload(rec, settings, file, transcript, window, fps, modalities)

    @app.websocket("/v1/stream")
    async def live(ws: WebSocket) -> None:
        await pump(ws, StreamSession(rec, settings.stream))

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


# -- what the routes call ---------------------------------------------------------------------


def describe_models(rec: Recognizer) -> dict[str, Any]:
    """Name, labels, architecture and metrics of each model, plus the fusion weights."""
    out: dict[str, Any] = {}
    for m in MODALITIES:
        try:
            meta = rec.model(m).meta
        except DataError as e:
            out[m] = {"error": str(e)}
            continue
        out[m] = {
            "name": meta.name,
            "architecture": meta.architecture,
            "labels": list(meta.labels),
            "metrics": meta.metrics,
            "training": meta.training,
        }
    return {"labels": rec.labels, "models": out, "fusion": rec.fusion_info()}


def predict_texts(rec: Recognizer, texts: list[str], settings: ServeSettings) -> dict[str, Any]:
    if not texts:
        raise UsageError("'texts' is empty")
    if len(texts) > settings.max_texts:
        raise TooLarge(f"{len(texts)} texts is over the limit of {settings.max_texts}")
    preds = rec.predict_text(texts)
    return {"labels": rec.labels, "predictions": [asdict(p) for p in preds]}


def analyze_upload(
    rec: Recognizer,
    settings: ServeSettings,
    file: UploadFile,
    transcript: UploadFile | None,
    window: float,
    fps: float,
    modalities: str,
) -> dict[str, Any]:
    """Save the uploads to a temporary folder (streamed, size-checked) and analyse them."""
    limit = int(settings.max_upload_mb * 1024 * 1024)
    name = Path(file.filename or "upload").name
    with tempfile.TemporaryDirectory(prefix="emofuse-") as tmp:
        media = Path(tmp) / f"media{Path(name).suffix.lower()}"
        _save(file.file, media, limit, name)
        script = None
        if transcript is not None and transcript.filename:
            tname = Path(transcript.filename).name
            script = Path(tmp) / f"transcript{Path(tname).suffix.lower()}"
            _save(transcript.file, script, limit, tname)
        try:
            info = decode.probe(media)
            if info.duration > settings.max_duration_s:
                raise TooLarge(
                    f"{name} lasts {info.duration:.0f} s, over the limit of "
                    f"{settings.max_duration_s:.0f} s"
                )
            result = rec.analyze(
                media, script, window=window, fps=fps, modalities=modalities.split(",")
            )
        except EmofuseError as e:  # name the upload, not the temporary file
            msg = str(e).replace(str(media), name)
            if script is not None:
                msg = msg.replace(str(script), Path(transcript.filename).name)
            e.args = (msg,)
            raise
    out = result.to_dict()
    out["source"] = name
    return out


def _save(src: BinaryIO, dest: Path, limit: int, name: str) -> None:
    size = 0
    with dest.open("wb") as f:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"{name} is over the upload limit of {limit / 2**20:.0f} MB")
            f.write(chunk)


async def pump(ws: WebSocket, session: StreamSession) -> None:
    """Move messages between a WebSocket and a session; model work runs in a thread pool."""
    await ws.accept()
    send_lock = asyncio.Lock()
    wake = asyncio.Event()

    async def send(obj: dict[str, Any]) -> None:
        async with send_lock:
            await ws.send_json(obj)

    async def work() -> None:
        while True:
            await wake.wait()
            wake.clear()
            while session.pending():
                try:
                    update = await run_in_threadpool(session.step)
                except EmofuseError as e:
                    update = error(str(e))
                if update is not None:
                    await send(update)

    await send(session.hello())
    worker = asyncio.create_task(work())
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                break
            data = msg.get("bytes")
            for reply in session.feed(data if data is not None else msg.get("text")):
                await send(reply)
            wake.set()
            if worker.done():
                worker.result()  # surface a crash of the model loop
    except WebSocketDisconnect:
        pass
    finally:
        worker.cancel()


def _version() -> str:
    from .._version import __version__

    return __version__
