"""Who may call the server and how much they may send: Host/Origin, API key, body limits."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from emofuse.inference.recognizer import Recognizer
from emofuse.serve.app import ServeSettings, create_app
from emofuse.serve.guard import (
    default_hosts,
    exposure_warning,
    host_allowed,
    is_loopback,
    key_matches,
    origin_allowed,
)

LOCAL = "http://127.0.0.1:8000"
WS = "ws://127.0.0.1:8000/v1/stream"


# -- the checks alone -----------------------------------------------------------------------


def test_loopback_and_the_warning():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert exposure_warning("127.0.0.1", None) is None
    assert exposure_warning("0.0.0.0", "k") is None
    assert "without an API key" in exposure_warning("0.0.0.0", None)


def test_hosts_and_origins():
    allowed = default_hosts("127.0.0.1", 8000, extra=["emo.example.com"])
    assert host_allowed("127.0.0.1:8000", allowed) and host_allowed("localhost:8000", allowed)
    assert host_allowed("[::1]:8000", allowed) and host_allowed("EMO.example.com", allowed)
    assert not host_allowed("localhost:9999", allowed)  # another local service's port
    assert not host_allowed("attacker.example:8000", allowed)  # DNS rebinding
    assert not host_allowed("", allowed) and not host_allowed("x:notaport", allowed)
    assert origin_allowed("http://localhost:8000", allowed)
    assert origin_allowed("https://emo.example.com", allowed)
    assert not origin_allowed("http://evil.example", allowed)
    assert not origin_allowed("null", allowed) and not origin_allowed("file://", allowed)
    assert host_allowed("anything:1", ["*"])


def test_key_compare():
    assert key_matches("s3cret", "s3cret")
    assert not key_matches("s3cre", "s3cret") and not key_matches(None, "s3cret")
    assert not key_matches("ключ", "s3cret")  # non-ASCII does not raise


# -- through the app -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rec(tiny_models):
    return Recognizer(tiny_models)


@pytest.fixture(scope="module")
def keyed(rec):
    with TestClient(create_app(rec, api_key="s3cret"), base_url=LOCAL) as c:
        yield c


def test_api_key_required_on_the_api(keyed):
    res = keyed.post("/v1/text", json={"texts": ["hi"]})
    assert res.status_code == 401 and res.json() == {"error": "missing or wrong API key"}
    assert keyed.get("/v1/models", headers={"X-API-Key": "wrong"}).status_code == 401
    assert keyed.get("/v1/models", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert keyed.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert keyed.get("/v1/models?key=s3cret").status_code == 200
    assert keyed.get("/v1/health").status_code == 200  # probes need no key
    assert keyed.get("/").status_code == 200  # the page itself holds no secret


def test_api_key_required_on_the_stream(keyed):
    with pytest.raises(WebSocketDisconnect) as refused, keyed.websocket_connect(WS):
        pass
    assert refused.value.code == 1008
    with keyed.websocket_connect(WS + "?key=s3cret") as ws:
        assert ws.receive_json()["type"] == "hello"


@pytest.fixture(scope="module")
def client(rec):
    with TestClient(create_app(rec), base_url=LOCAL) as c:
        yield c


def test_foreign_host_is_refused(client):
    res = client.get("/v1/health", headers={"Host": "attacker.example:8000"})
    assert res.status_code == 400 and "host 'attacker.example:8000' is not allowed" in res.text


def test_cross_site_origin_is_refused(client):
    res = client.post(
        "/v1/text", json={"texts": ["hi"]}, headers={"Origin": "https://evil.example"}
    )
    assert res.status_code == 403 and res.json()["error"].startswith("origin")
    assert client.get("/v1/models", headers={"Origin": LOCAL}).status_code == 200
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(WS, headers={"Origin": "https://evil.example"}),
    ):
        pass
    with client.websocket_connect(WS, headers={"Origin": LOCAL}) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_content_length_over_the_limit_is_refused_up_front(client):
    res = client.post(
        "/v1/text",
        content=b"{}",
        headers={"Content-Length": str(600 * 2**20), "Content-Type": "application/json"},
    )
    assert res.status_code == 413 and "over the limit of 4.0 MB" in res.json()["error"]


def _stream_upload(app, total: int, chunk: int = 1 << 20) -> tuple[int, dict, int]:
    """POST a chunked multipart body of ``total`` bytes straight to the ASGI app.

    Returns (status, JSON body, bytes the app pulled from the client).
    """
    head = (
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        b"Content-Type: video/mp4\r\n\r\n"
    )
    pulled, sent = 0, []

    async def receive():
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.request", "body": b"\r\n--XX--\r\n", "more_body": False}
        body = head if pulled == 0 else b"\0" * chunk
        pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/analyze",
        "raw_path": b"/v1/analyze",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"multipart/form-data; boundary=XX"),
            (b"transfer-encoding", b"chunked"),  # no Content-Length to trust
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), pulled


def test_streamed_upload_stops_at_the_limit(rec):
    """A 600 MB upload is cut off at the 2 MB limit: the rest is never read (nor written)."""
    app = create_app(rec, settings=ServeSettings(max_upload_mb=2))
    status, body, pulled = _stream_upload(app, total=600 * 2**20)
    assert status == 413 and "over the limit" in body["error"]
    assert pulled <= 2 * 2**20 + 64 * 1024 + 2**20  # the limit, the envelope, one chunk


def test_streamed_upload_under_the_limit_goes_through(rec):
    app = create_app(rec, settings=ServeSettings(max_upload_mb=2))
    status, body, pulled = _stream_upload(app, total=1 << 20)
    assert status == 422 and "big.mp4" in body["error"]  # zeros are not a video
    assert pulled >= 1 << 20  # read to the end
