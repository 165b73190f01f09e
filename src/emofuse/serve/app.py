"""The HTTP API and the live page: thin FastAPI routes over :class:`~emofuse.Recognizer`.

>>> app = create_app()                          # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8000); docs at http://127.0.0.1:8000/docs

Endpoints: ``POST /v1/analyze`` (a media file, optional transcript -> ``Result.to_dict()``),
``POST /v1/text`` (``{"texts": [...]}`` -> predictions), ``GET /v1/health``,
``GET /v1/models``, ``WebSocket /v1/stream`` (see :mod:`emofuse.serve.stream`), and the web
page at ``/``. Errors come back as ``{"error": "one-line message"}``: 400 for a wrong call
(validation included), 401 without the API key, 403 for a foreign Origin, 413 over a limit,
422 for unusable media, 503 when busy. Who may call and how much is in
:mod:`emofuse.serve.guard`; how many jobs run at once, in :mod:`emofuse.serve.jobs`.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from ..errors import DataError, EmofuseError, MissingExtraError, UsageError
from ..inference.recognizer import Recognizer
from ..inference.result import MODALITIES
from ..media import decode
from .guard import LOOPBACK, BodyLimit, Guard
from .jobs import Busy, Cancelled, Jobs
from .stream import StreamSession, StreamSettings, error

try:
    from fastapi import FastAPI, File, Form, Request, UploadFile, WebSocket, WebSocketDisconnect
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles
    from pydantic import BaseModel
    from starlette.exceptions import HTTPException
except ImportError as e:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError(e.name or "fastapi", "serve") from None

STATIC = Path(__file__).parent / "static"
CHUNK = 1 << 20
ENVELOPE = 64 * 1024  # multipart headers and small form fields around the uploads
TEXT_BATCH = 32  # /v1/text checks for a departed client between batches


@dataclass
class ServeSettings:
    """Limits of the server. ``stream`` holds the live sessions' settings.

    ``max_upload_mb`` bounds a ``/v1/analyze`` body (media + transcript), ``max_json_mb``
    any other body; ``workers`` requests run the models at once and ``queue`` more wait.
    ``allowed_hosts``: ``name`` or ``name:port`` entries the ``Host`` and ``Origin`` headers
    must match (``*``: any); ``api_key``: required on ``/v1/*`` when set.
    """

    max_upload_mb: float = 100
    max_duration_s: float = 600
    max_texts: int = 256
    max_text_chars: int = 2000
    max_json_mb: float = 4
    workers: int = 2
    queue: int = 8
    api_key: str | None = None
    allowed_hosts: tuple[str, ...] = LOOPBACK
    stream: StreamSettings = field(default_factory=StreamSettings)

    def body_limit(self, path: str) -> int:
        """Bytes a request body to ``path`` may hold."""
        if path == "/v1/analyze":
            return int(self.max_upload_mb * 2**20) + ENVELOPE
        return int(self.max_json_mb * 2**20)


class TooLarge(EmofuseError):
    """An upload over the size or duration limit (HTTP 413)."""


class TextRequest(BaseModel):
    texts: list[str]


STATUS = {TooLarge: 413, DataError: 422, UsageError: 400, Busy: 503, Cancelled: 499}


def create_app(
    recognizer: Recognizer | None = None,
    *,
    max_upload_mb: float = 100,
    max_duration_s: float = 600,
    stream: StreamSettings | None = None,
    api_key: str | None = None,
    allowed_hosts: tuple[str, ...] | list[str] = LOOPBACK,
    settings: ServeSettings | None = None,
) -> FastAPI:
    """The FastAPI app. ``recognizer`` defaults to :meth:`Recognizer.default`.

    ``settings`` (all limits) wins over the keyword shortcuts when given.
    """
    rec = recognizer or Recognizer.default()
    settings = settings or ServeSettings(
        max_upload_mb,
        max_duration_s,
        api_key=api_key,
        allowed_hosts=tuple(allowed_hosts),
        stream=stream or StreamSettings(),
    )
    app = FastAPI(
        title="emofuse",
        summary="Multimodal emotion recognition: text, voice, face and video.",
        version=_version(),
    )
    jobs = Jobs(settings.workers, settings.queue)
    app.state.recognizer, app.state.settings, app.state.jobs = rec, settings, jobs
    app.state.streams = 0
    for modality in ("face", "voice"):  # load now, not in the first request (text: on use)
        with suppress(DataError):
            rec.model(modality)
    app.add_middleware(BodyLimit, limit=settings.body_limit)
    app.add_middleware(Guard, allowed_hosts=settings.allowed_hosts, api_key=settings.api_key)

    @app.exception_handler(EmofuseError)
    async def _emofuse_error(request: Request, exc: EmofuseError) -> JSONResponse:
        code = next((c for t, c in STATUS.items() if isinstance(exc, t)), 500)
        return JSONResponse({"error": str(exc)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": validation_message(exc.errors())}, status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": _version()}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return describe_models(rec)

    @app.post("/v1/text")
    async def text(request: Request, body: TextRequest) -> dict[str, Any]:
        return await jobs.run(request, predict_texts, rec, body.texts, settings)

    @app.post("/v1/analyze")
    async def analyze(
        request: Request,
        file: Annotated[UploadFile, File(description="Video, audio or image file.")],
        transcript: Annotated[
            UploadFile | None, File(description="SRT, WebVTT or CSV (start,end,text).")
        ] = None,
        window: Annotated[float, Form()] = 4.0,
        fps: Annotated[float, Form()] = 2.0,
        modalities: Annotated[str, Form(description="Comma-separated.")] = ",".join(MODALITIES),
    ) -> dict[str, Any]:
        args = (rec, settings, file, transcript, window, fps, modalities)
        return await jobs.run(request, analyze_upload, *args)

    @app.websocket("/v1/stream")
    async def live(ws: WebSocket) -> None:
        if app.state.streams >= settings.stream.max_streams:
            await ws.accept()
            await ws.send_json(error(f"busy: {app.state.streams} live streams; try again later"))
            await ws.close(code=1013)
            return
        app.state.streams += 1
        try:
            await pump(ws, StreamSession(rec, settings.stream))
        finally:
            app.state.streams -= 1

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


def validation_message(errors: list[dict[str, Any]]) -> str:
    """One line from FastAPI's validation errors; never echoes the values sent."""
    parts = []
    for e in errors[:5]:
        if e.get("type") == "json_invalid":
            parts.append("the body is not valid JSON")
            continue
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query"))
        msg = str(e.get("msg", "invalid"))
        if "UploadFile" in msg:
            msg = "must be an uploaded file with a file name"
        parts.append(f"{where or 'request'}: {msg}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def predict_texts(
    rec: Recognizer,
    texts: list[str],
    settings: ServeSettings,
    cancelled: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Predictions for ``texts`` within the settings' caps, in batches (``cancelled`` between)."""
    if not texts:
        raise UsageError("'texts' is empty")
    if len(texts) > settings.max_texts:
        raise TooLarge(f"{len(texts)} texts is over the limit of {settings.max_texts}")
    long = next((i for i, t in enumerate(texts) if len(t) > settings.max_text_chars), None)
    if long is not None:
        raise TooLarge(
            f"text {long} has {len(texts[long])} characters, over the limit of "
            f"{settings.max_text_chars}"
        )
    preds = []
    for i in range(0, len(texts), TEXT_BATCH):
        cancelled()
        preds += rec.predict_text(texts[i : i + TEXT_BATCH])
    return {"labels": rec.labels, "predictions": [asdict(p) for p in preds]}


def analyze_upload(
    rec: Recognizer,
    settings: ServeSettings,
    file: UploadFile,
    transcript: UploadFile | None,
    window: float,
    fps: float,
    modalities: str,
    cancelled: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Save the uploads to a temporary folder (streamed, size-checked) and analyse them.

    ``cancelled`` is called between frames and windows; it raises to stop the work.
    """
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
            cancelled()
            result = rec.analyze(
                media,
                script,
                window=window,
                fps=fps,
                modalities=modalities.split(","),
                progress=lambda *_: cancelled(),
            ).require_prediction()
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
