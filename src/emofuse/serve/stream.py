"""Live recognition sessions: webcam frames and microphone audio in, emotion updates out.

A :class:`StreamSession` holds one client's state; it knows nothing about FastAPI or
WebSockets, so the route in :mod:`emofuse.serve.app` only pumps messages (and tests can drive
a session directly). ``feed`` is cheap (parse, queue) and runs on the event loop; ``step``
does the model work and runs in a worker thread.

Wire format (``WebSocket /v1/stream``)
--------------------------------------
Client -> server, either form:

* **binary** message: 1 byte kind, 8 bytes media time in seconds (float64, little-endian),
  then the payload. Kind ``F`` (0x46): a video frame, JPEG bytes. Kind ``A`` (0x41): audio,
  PCM16 little-endian mono at 16 kHz; the time is that of the chunk's first sample.
* **JSON** text message: ``{"type": "frame", "t": 1.25, "data": "<base64 JPEG>"}`` or
  ``{"type": "audio", "t": 1.25, "data": "<base64 PCM16>"}``; ``{"type": "ping"}`` is
  answered with ``{"type": "pong"}``.

Server -> client:

* on connect: ``{"type": "hello", "labels": [...], "sample_rate": 16000,
  "max_message_bytes": ..., "audio_window_s": 3.0, "voice_every_s": 0.5}``
* after model work: ``{"type": "update", "t": media time, "face": {"box": {"x", "y", "w",
  "h"} | null, "probs": {label: p} | null, "frame": {"w", "h"}} | null, "voice": {"probs":
  {label: p}, "t": end of the audio window} | null, "voice_status": "ok" | "silent" | "too
  short" | "no audio", "fused": {"label", "confidence", "probs"} | null, "latency_ms":
  receive-to-update milliseconds, "dropped_frames": frames replaced by newer ones so far}``.
  ``face`` is null when no frame was processed in this update; ``face.box`` is null when
  the frame had no face. ``voice`` is the latest voice prediction while it is no older than
  the audio window.
* ``{"type": "error", "message": "..."}`` for a malformed, unknown or oversized message, or a
  frame that is not a decodable JPEG (checked by its magic bytes on arrival; its size is read
  from the header and capped before it is decoded); the session carries on.
* when the server already holds ``max_streams`` sessions: ``{"type": "error", "message":
  "busy: ..."}``, then the socket closes (code 1013).

Frames queue per session with a small bound (default 1): when the models fall behind, the
newest frame wins and older ones are dropped. Audio goes to a rolling buffer (the last 3 s);
the voice model runs on it every 0.5 s of media time unless voice activity detection finds no
speech in it (at any level: the level is normalised first).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError, EmofuseError
from ..inference.realtime import AVStream
from ..inference.recognizer import SAMPLE_RATE, Recognizer
from ..media import vad
from ..media.faces import main_face
from ..media.images import decode_image

HEADER = struct.Struct("<cd")  # kind, media time (s)
KIND_FRAME, KIND_AUDIO = b"F", b"A"
JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass
class StreamSettings:
    """Per-session limits and rhythm."""

    max_message_bytes: int = 1_000_000
    frame_queue: int = 1
    audio_window_s: float = 3.0
    voice_every_s: float = 0.5
    max_frame_side: int = 1280  # larger frames are scaled down (JPEG: while decoding)
    max_frame_pixels: int = 3840 * 2160  # larger frames are refused before decoding
    max_streams: int = 16  # live sessions per server


class StreamSession:
    """One live client: queue frames and audio with :meth:`feed`, compute with :meth:`step`.

    >>> session = StreamSession(Recognizer.default())                    # doctest: +SKIP
    >>> session.feed(b"F" + struct.pack("<d", 0.0) + jpeg_bytes)        # doctest: +SKIP
    []
    >>> session.step()["fused"]["label"]                                 # doctest: +SKIP
    'happiness'
    """

    def __init__(self, recognizer: Recognizer, settings: StreamSettings | None = None):
        self.recognizer = recognizer
        self.settings = settings or StreamSettings()
        self.labels = list(recognizer.labels)
        self._lock = threading.Lock()
        self._frames: deque[tuple[float, bytes, float]] = deque(
            maxlen=max(1, self.settings.frame_queue)
        )
        self.dropped_frames = 0
        self._audio = np.zeros(0, np.float32)
        self._audio_end: float | None = None  # media time of the buffer's last sample
        self._audio_received: float = 0.0  # wall time the newest audio arrived
        self._voice_due: float | None = None
        self._voice: tuple[float, np.ndarray] | None = None  # (window end, probs)
        self._voice_status = "no audio"
        # an audio-visual model (``MODEL_DIR/av``) makes the fused row from frames + sound
        self._av = AVStream(recognizer.av) if getattr(recognizer, "av", None) else None

    # -- messages in -----------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        s = self.settings
        return {
            "type": "hello",
            "labels": self.labels,
            "sample_rate": SAMPLE_RATE,
            "max_message_bytes": s.max_message_bytes,
            "audio_window_s": s.audio_window_s,
            "voice_every_s": s.voice_every_s,
        }

    def feed(self, message: bytes | str | None) -> list[dict[str, Any]]:
        """Queue one client message; returns immediate replies (errors, pong), never raises."""
        try:
            return self._feed(message)
        except _BadMessage as e:
            return [error(str(e))]

    def _feed(self, message: bytes | str | None) -> list[dict[str, Any]]:
        if message is None:
            raise _BadMessage("empty message")
        if len(message) > self.settings.max_message_bytes:
            raise _BadMessage(
                f"message of {len(message)} bytes is over the limit of "
                f"{self.settings.max_message_bytes}"
            )
        if isinstance(message, (bytes, bytearray)):
            kind, t, payload = _parse_binary(bytes(message))
        else:
            kind, t, payload = _parse_json(message)
            if kind == b"P":
                return [{"type": "pong"}]
        if kind == KIND_FRAME:
            self._push_frame(t, payload)
        else:
            self._push_audio(t, payload)
        return []

    def _push_frame(self, t: float, jpeg: bytes) -> None:
        if not jpeg:
            raise _BadMessage("empty frame")
        if not jpeg.startswith(JPEG_MAGIC):
            raise _BadMessage(f"the frame at t={t:g} s is not a JPEG")
        with self._lock:
            if len(self._frames) == self._frames.maxlen:
                self.dropped_frames += 1  # the oldest one goes: the newest frame wins
            self._frames.append((t, jpeg, time.perf_counter()))

    def _push_audio(self, t: float, pcm: bytes) -> None:
        if len(pcm) % 2:
            raise _BadMessage("audio must be PCM16: an even number of bytes")
        chunk = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
        keep = round(self.settings.audio_window_s * SAMPLE_RATE)
        with self._lock:
            self._audio = np.concatenate([self._audio, chunk])[-keep:]
            self._audio_end = t + chunk.size / SAMPLE_RATE
            self._audio_received = time.perf_counter()
            if self._voice_due is None:
                self._voice_due = t + self.settings.voice_every_s

    # -- model work --------------------------------------------------------------------------

    def pending(self) -> bool:
        """Whether :meth:`step` has something to do (a queued frame or a voice window due)."""
        with self._lock:
            return bool(self._frames) or self._voice_is_due()

    def _voice_is_due(self) -> bool:
        return (
            self._audio_end is not None
            and self._voice_due is not None
            and self._audio_end >= self._voice_due
        )

    def step(self) -> dict[str, Any] | None:
        """Process the newest frame and/or a due voice window; an update, or None if idle."""
        with self._lock:
            frame = self._frames.pop() if self._frames else None
            if frame is not None:
                self.dropped_frames += len(self._frames)
                self._frames.clear()
            wave = end = None
            if self._voice_is_due():
                wave, end = self._audio.copy(), self._audio_end
                self._voice_due = end + self.settings.voice_every_s
            received = self._audio_received
        if frame is None and wave is None:
            return None
        if frame is not None:
            received = frame[2]
        if wave is not None:
            self._run_voice(wave, end)
        face = None
        if frame is not None:
            try:
                face = self._face(frame[1], f"the frame at t={frame[0]:g} s")
            except DataError as e:
                if wave is None:
                    return error(str(e))
                frame = None  # still report the voice window
        t = frame[0] if frame is not None else end
        return self._update(t, face, received)

    def _face(self, jpeg: bytes, name: str) -> dict[str, Any]:
        s = self.settings
        rgb = decode_image(jpeg, name, ("JPEG",), s.max_frame_pixels, s.max_frame_side)
        h, w = rgb.shape[:2]
        crop, box = self.recognizer.face_crop(rgb, crops=False)  # a frame: always detect
        if self._av is not None:  # the face as the audio-visual model's training clips framed it
            self._av.push(rgb, main_face(self._av.detector.detect(rgb)))
        probs = None
        if crop is not None and box is not None:
            probs = self.recognizer.model("face").predict_proba(crop[None])[0]
        return {
            "box": box.to_dict() if box is not None else None,
            "probs": probs,
            "frame": {"w": w, "h": h},
        }

    def _run_voice(self, wave: np.ndarray, end: float) -> None:
        self._voice_status = self.recognizer.voice_status(wave)  # voice activity, any level
        if self._voice_status == "ok":
            probs = self.recognizer.model("voice").predict_proba([vad.normalise_gain(wave)])[0]
            self._voice = (end, np.asarray(probs, np.float64))
            return
        self._voice = None

    def _update(self, t: float, face: dict[str, Any] | None, received: float) -> dict[str, Any]:
        voice = self._voice
        end = self._audio_end
        if voice is not None and end is not None and end - voice[0] > self.settings.audio_window_s:
            voice = self._voice = None
        parts: dict[str, np.ndarray | None] = {
            "face": face["probs"] if face else None,
            "voice": voice[1] if voice else None,
        }
        fused = None
        present = {m: p[None] for m, p in parts.items() if p is not None}
        p = self._av.probs(self._audio) if self._av is not None else None
        if p is None and present:
            p = self.recognizer.fusion.predict_proba(present)[0]
        if p is not None:
            i = int(np.argmax(p))
            fused = {
                "label": self.labels[i],
                "confidence": round(float(p[i]), 4),
                "probs": self._named(p),
            }
        if face is not None:
            face = {**face, "probs": self._named(face["probs"])}
        return {
            "type": "update",
            "t": round(float(t), 3),
            "face": face,
            "voice": {"probs": self._named(voice[1]), "t": round(voice[0], 3)} if voice else None,
            "voice_status": self._voice_status,
            "fused": fused,
            "latency_ms": round((time.perf_counter() - received) * 1000, 1),
            "dropped_frames": self.dropped_frames,
        }

    def _named(self, probs: np.ndarray | None) -> dict[str, float] | None:
        if probs is None:
            return None
        return {lab: round(float(p), 4) for lab, p in zip(self.labels, probs)}


def error(message: str) -> dict[str, Any]:
    return {"type": "error", "message": message}


class _BadMessage(EmofuseError):
    """A client message that cannot be used (answered with an error message, not raised)."""


def _parse_binary(message: bytes) -> tuple[bytes, float, bytes]:
    if len(message) < HEADER.size:
        raise _BadMessage(
            f"binary message too short: need {HEADER.size} header bytes (kind, float64 time)"
        )
    kind, t = HEADER.unpack_from(message)
    if kind not in (KIND_FRAME, KIND_AUDIO):
        raise _BadMessage(f"unknown binary message kind {kind!r}; expected b'F' or b'A'")
    return kind, _time(t), message[HEADER.size :]


def _parse_json(message: str) -> tuple[bytes, float, bytes]:
    try:
        obj = json.loads(message)
    except json.JSONDecodeError as e:
        raise _BadMessage(f"malformed JSON: {e}") from None
    if not isinstance(obj, dict):
        raise _BadMessage("a JSON message must be an object with a 'type'")
    kind = obj.get("type")
    if kind == "ping":
        return b"P", 0.0, b""
    if kind not in ("frame", "audio"):
        raise _BadMessage(f"unknown message type {kind!r:.40}; expected 'frame', 'audio' or 'ping'")
    data = obj.get("data")
    if not isinstance(data, str):
        raise _BadMessage(f"a {kind} message needs 'data': a base64 string")
    try:
        payload = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _BadMessage(f"{kind} 'data' is not valid base64") from None
    return (KIND_FRAME if kind == "frame" else KIND_AUDIO), _time(obj.get("t")), payload


def _time(t: Any) -> float:
    ok = isinstance(t, (int, float)) and not isinstance(t, bool)
    try:
        x = float(t) if ok else math.nan
    except OverflowError:  # an int too large for a float
        x = math.nan
    if not math.isfinite(x) or x < 0:
        raise _BadMessage(f"'t' must be a media time in seconds (a number >= 0), got {t!r:.40}")
    return x
