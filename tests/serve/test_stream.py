"""Live sessions: StreamSession directly, then WebSocket /v1/stream through TestClient."""

from __future__ import annotations

import base64
import json
import struct

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from emofuse.inference.recognizer import Recognizer
from emofuse.serve.app import create_app
from emofuse.serve.stream import StreamSession, StreamSettings
from tests.fixtures import make_face_image, speechlike

WS = "ws://127.0.0.1:8000/v1/stream"  # the app accepts loopback hosts by default
UPDATE_KEYS = {
    "type", "t", "face", "voice", "voice_status", "fused", "latency_ms", "dropped_frames"
}  # fmt: skip


def jpeg(image: np.ndarray | None = None) -> bytes:
    if image is None:
        image = np.full((240, 320, 3), 90, np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def frame_msg(t: float, image: np.ndarray | None = None) -> bytes:
    return b"F" + struct.pack("<d", t) + jpeg(image)


def audio_msg(t: float, seconds: float = 0.5, amp: float = 0.3, tone: bool = False) -> bytes:
    """PCM16 of [t, t + seconds) of one speech-like recording (or of a 220 Hz tone)."""
    n, start = round(seconds * 16000), round(t * 16000)
    if tone:
        x = amp * np.sin(2 * np.pi * 220 * (start + np.arange(n)) / 16000)
    else:
        x = speechlike(t + seconds, 16000, amp)[0][start : start + n]
    return b"A" + struct.pack("<d", t) + (x * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def rec(tiny_models):
    return Recognizer(tiny_models)


# -- the session alone ----------------------------------------------------------------------


def test_frame_without_face(rec):
    s = StreamSession(rec)
    assert s.feed(frame_msg(0.5)) == []
    u = s.step()
    assert set(u) == UPDATE_KEYS and u["type"] == "update" and u["t"] == 0.5
    assert u["face"] == {"box": None, "probs": None, "frame": {"w": 320, "h": 240}}
    assert u["fused"] is None and u["voice"] is None
    assert s.step() is None and not s.pending()


def test_voice_every_half_second_and_fusion(rec):
    s = StreamSession(rec, StreamSettings(voice_every_s=0.5))
    s.feed(audio_msg(0.0, 0.25))
    assert not s.pending()  # not yet half a second of audio
    s.feed(audio_msg(0.25, 0.5))
    u = s.step()
    assert u["voice_status"] == "ok" and u["face"] is None
    assert set(u["voice"]["probs"]) == set(rec.labels)
    assert u["fused"]["label"] in rec.labels
    assert sum(u["fused"]["probs"].values()) == pytest.approx(1.0, abs=1e-3)
    assert u["fused"]["probs"] == u["voice"]["probs"]  # voice alone: fused equals it
    assert not s.pending()


def test_silence_is_not_voice(rec):
    s = StreamSession(rec)
    s.feed(audio_msg(0.0, 1.0, amp=0.0))
    u = s.step()
    assert u["voice_status"] == "silent" and u["voice"] is None and u["fused"] is None


def test_voice_activity_not_level_decides(rec):
    loud_tone = StreamSession(rec)
    loud_tone.feed(audio_msg(0.0, 1.0, amp=0.5, tone=True))  # loud, but not speech
    assert loud_tone.step()["voice_status"] == "silent"
    quiet = StreamSession(rec)
    quiet.feed(audio_msg(0.0, 1.0, amp=0.002))  # speech at about -60 dBFS
    assert quiet.step()["voice_status"] == "ok"


def test_audio_buffer_is_bounded(rec):
    s = StreamSession(rec, StreamSettings(audio_window_s=1.0))
    for i in range(10):
        s.feed(audio_msg(i * 0.5, 0.5))
    assert s._audio.size == 16000


def test_newest_frame_wins(rec):
    s = StreamSession(rec, StreamSettings(frame_queue=2))
    for i in range(5):
        s.feed(frame_msg(i / 10))
    u = s.step()
    assert u["t"] == 0.4 and u["dropped_frames"] == 4
    assert s.step() is None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("{not json", "malformed JSON"),
        ('{"type": "video"}', "unknown message type 'video'"),
        ("[1, 2]", "must be an object"),
        ('{"type": "frame", "t": 1}', "needs 'data'"),
        ('{"type": "frame", "t": 1, "data": "@@@"}', "not valid base64"),
        ('{"type": "audio", "t": -1, "data": ""}', "'t' must be a media time"),
        (b"F12", "binary message too short"),
        (b"X" + struct.pack("<d", 0.0) + b"abc", "unknown binary message kind"),
        (b"A" + struct.pack("<d", 0.0) + b"abc", "even number of bytes"),
        (b"F" + struct.pack("<d", 0.0), "empty frame"),
        (b"F" + struct.pack("<d", 0.0) + b"\0" * 2000, "over the limit"),
    ],
)
def test_bad_messages_are_errors(rec, message, expected):
    s = StreamSession(rec, StreamSettings(max_message_bytes=1000))
    [reply] = s.feed(message)
    assert reply["type"] == "error" and expected in reply["message"]
    assert not s.pending()


def test_undecodable_jpeg_is_an_error(rec):
    s = StreamSession(rec)
    [reply] = s.feed(b"F" + struct.pack("<d", 3.0) + b"definitely not a jpeg")
    assert reply["type"] == "error" and "t=3 s is not a JPEG" in reply["message"]
    assert not s.pending()
    s.feed(b"F" + struct.pack("<d", 3.0) + b"\xff\xd8\xff but broken")
    reply = s.step()
    assert reply["type"] == "error" and "the frame at t=3 s: unreadable JPEG" in reply["message"]
    s.feed(frame_msg(3.5))
    assert s.step()["type"] == "update"


def test_json_envelopes(rec):
    s = StreamSession(rec)
    assert s.feed('{"type": "ping"}') == [{"type": "pong"}]
    data = base64.b64encode(jpeg()).decode()
    assert s.feed(json.dumps({"type": "frame", "t": 2.0, "data": data})) == []
    assert s.step()["t"] == 2.0


def test_real_face_gets_a_box(rec):
    image = make_face_image()  # skips without ../shared
    s = StreamSession(rec)
    s.feed(frame_msg(1.0, image))
    u = s.step()
    assert u["face"]["box"] is not None and set(u["face"]["probs"]) == set(rec.labels)
    assert u["fused"]["label"] in rec.labels


# -- over the WebSocket ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(rec):
    app = create_app(rec, stream=StreamSettings(max_message_bytes=200_000))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


def next_update(ws) -> dict:
    while True:
        msg = ws.receive_json()
        if msg["type"] == "update":
            return msg
        assert msg["type"] != "error", msg


def test_websocket_frames_and_audio(client, rec):
    with client.websocket_connect(WS) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["labels"] == rec.labels
        ws.send_bytes(frame_msg(0.1))
        u = next_update(ws)
        assert set(u) == UPDATE_KEYS and u["face"]["frame"] == {"w": 320, "h": 240}
        ws.send_bytes(audio_msg(0.0, 1.0))
        u = next_update(ws)
        assert u["voice"] is not None and u["fused"]["label"] in rec.labels
        assert u["latency_ms"] >= 0


def test_websocket_errors_keep_the_connection(client):
    with client.websocket_connect(WS) as ws:
        ws.receive_json()  # hello
        ws.send_text("{oops")
        assert ws.receive_json()["type"] == "error"
        ws.send_text('{"type": "subtitles", "t": 0}')
        assert "unknown message type" in ws.receive_json()["message"]
        ws.send_bytes(b"F" + struct.pack("<d", 0.0) + b"\xff" * 300_000)
        assert "over the limit" in ws.receive_json()["message"]
        ws.send_text('{"type": "ping"}')
        assert ws.receive_json() == {"type": "pong"}
        ws.send_bytes(frame_msg(1.0))
        assert next_update(ws)["t"] == 1.0


def test_two_clients_at_once(client):
    with (
        client.websocket_connect(WS) as a,
        client.websocket_connect(WS) as b,
    ):
        a.receive_json(), b.receive_json()
        a.send_bytes(frame_msg(1.0))
        b.send_bytes(frame_msg(2.0))
        a.send_bytes(audio_msg(0.0, 0.6))
        assert next_update(b)["t"] == 2.0
        first = next_update(a)  # the frame; the audio may come in the same step or the next
        assert first["t"] == 1.0
        assert first["voice"] is not None or next_update(a)["voice"] is not None


# -- hostile frames -----------------------------------------------------------------------------


def test_only_jpeg_frames_are_accepted(rec):
    from tests.fixtures import png_bytes

    s = StreamSession(rec)
    [reply] = s.feed(b"F" + struct.pack("<d", 1.0) + png_bytes(32, 24))
    assert reply == {"type": "error", "message": "the frame at t=1 s is not a JPEG"}
    assert not s.pending()


def test_frame_dimensions_are_capped_before_decoding(rec):
    from tests.fixtures import jpeg_bytes

    s = StreamSession(rec)
    assert s.feed(b"F" + struct.pack("<d", 2.0) + jpeg_bytes(claim=(20000, 20000))) == []
    reply = s.step()
    assert reply["type"] == "error"
    assert reply["message"] == (
        "the frame at t=2 s: 20000x20000 pixels is over the limit of 8.29 megapixels"
    )


def test_large_frames_are_scaled_down(rec):
    from tests.fixtures import jpeg_bytes

    s = StreamSession(rec, StreamSettings(max_frame_side=320))
    s.feed(b"F" + struct.pack("<d", 0.0) + jpeg_bytes(1600, 1200))
    assert s.step()["face"]["frame"] == {"w": 320, "h": 240}


def test_absurd_times_are_errors(rec):
    s = StreamSession(rec)
    for t in ("1e400", str(10**400), '"1"', "true", "null"):
        [reply] = s.feed(f'{{"type": "audio", "t": {t}, "data": ""}}')
        assert reply["type"] == "error" and "'t' must be a media time" in reply["message"]
        assert len(reply["message"]) < 200


def test_live_streams_are_capped(rec):
    app = create_app(rec, stream=StreamSettings(max_streams=1))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c, c.websocket_connect(WS) as a:
        assert a.receive_json()["type"] == "hello"
        with c.websocket_connect(WS) as b:
            msg = b.receive_json()
            assert msg["type"] == "error" and msg["message"].startswith("busy: 1 live streams")
        a.send_text('{"type": "ping"}')
        assert a.receive_json() == {"type": "pong"}
