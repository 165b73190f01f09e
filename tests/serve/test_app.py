"""The HTTP API with FastAPI's TestClient and tiny random models."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from emofuse.inference.recognizer import Recognizer
from emofuse.serve.app import create_app
from tests.fixtures import write_tiny_video

LOCAL = "http://127.0.0.1:8000"  # the app accepts loopback hosts by default


@pytest.fixture(scope="module")
def client(tiny_models):
    with TestClient(create_app(Recognizer(tiny_models), max_upload_mb=1), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_tiny_video(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=2, speech=True)


def test_health(client):
    res = client.get("/v1/health")
    assert res.status_code == 200 and res.json()["status"] == "ok"


def test_models(client):
    body = client.get("/v1/models").json()
    assert body["models"]["face"]["name"] == "tiny-face"
    assert body["models"]["voice"]["labels"] == body["labels"]
    assert body["fusion"]["weights"] == {"face": 0.3, "voice": 0.3, "text": 0.4}


def test_text(client):
    res = client.post("/v1/text", json={"texts": ["what a lovely day", "I hate this"]})
    assert res.status_code == 200
    preds = res.json()["predictions"]
    assert len(preds) == 2 and set(preds[0]) == {"label", "confidence", "probabilities"}


def test_text_errors_are_json(client):
    res = client.post("/v1/text", json={"texts": ["  "]})
    assert res.status_code == 422 and res.json() == {"error": "empty text"}
    assert client.post("/v1/text", json={"texts": []}).status_code == 400


def test_analyze_matches_result_dict(client, video, tiny_models):
    with video.open("rb") as f:
        res = client.post(
            "/v1/analyze",
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"window": "1", "modalities": "face,voice"},
        )
    assert res.status_code == 200, res.text
    body = res.json()
    expected = Recognizer(tiny_models).analyze(video, window=1, modalities=["face", "voice"])
    want = json.loads(expected.to_json())
    assert body["source"] == "clip.mp4"
    assert set(body) == set(want)
    assert len(body["segments"]) == len(want["segments"]) == 2
    for got, exp in zip(body["segments"], want["segments"]):
        assert got["label"] == exp["label"]
        assert got["modalities"]["voice"]["status"] == exp["modalities"]["voice"]["status"]


def test_analyze_with_transcript(client, video, tmp_path):
    srt = tmp_path / "clip.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,500\nWhat a wonderful surprise!\n")
    with video.open("rb") as f, srt.open("rb") as t:
        res = client.post(
            "/v1/analyze",
            files={"file": ("clip.mp4", f), "transcript": ("clip.srt", t)},
        )
    assert res.status_code == 200, res.text
    seg = res.json()["segments"]
    assert len(seg) == 1 and seg[0]["modalities"]["text"]["status"] == "ok"


def test_oversized_upload_is_413(client):
    blob = b"\0" * (1024 * 1024 + 10)
    res = client.post("/v1/analyze", files={"file": ("big.mp4", blob)})
    assert res.status_code == 413
    assert "upload limit" in res.json()["error"]


def test_too_long_is_413(tiny_models, video):
    with TestClient(create_app(Recognizer(tiny_models), max_duration_s=1), base_url=LOCAL) as c:
        res = c.post("/v1/analyze", files={"file": ("clip.mp4", video.read_bytes())})
    assert res.status_code == 413 and "limit of 1 s" in res.json()["error"]


def test_corrupt_file_is_422_one_line(client):
    res = client.post("/v1/analyze", files={"file": ("broken.mp4", b"not a video at all" * 50)})
    assert res.status_code == 422
    msg = res.json()["error"]
    assert "\n" not in msg and "broken.mp4" in msg and "/tmp" not in msg


def test_unsupported_type_is_400(client):
    res = client.post("/v1/analyze", files={"file": ("notes.txt", b"hello")})
    assert res.status_code == 400 and "unsupported file type" in res.json()["error"]


def test_page_and_docs(client):
    page = client.get("/")
    assert page.status_code == 200 and "emofuse" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 200
    assert "/v1/analyze" in client.get("/openapi.json").json()["paths"]


def test_cli_serve_calls_run(monkeypatch):
    from typer.testing import CliRunner

    from emofuse.cli import app
    from emofuse.serve import run as run_module

    calls = []
    monkeypatch.setattr(run_module, "run", lambda **kw: calls.append(kw))
    res = CliRunner().invoke(app, ["serve", "--port", "8123", "--model", "some/dir"])
    assert res.exit_code == 0, res.output
    assert calls == [
        {
            "host": "127.0.0.1",
            "port": 8123,
            "model": "some/dir",
            "backend": "auto",
            "api_key": None,
            "allow_hosts": [],
        }
    ]


def test_load_recognizer_missing_folder():
    from emofuse.errors import DataError
    from emofuse.serve.run import load_recognizer

    with pytest.raises(DataError, match="model folder not found"):
        load_recognizer("/nonexistent/models")


# -- careless and hostile calls ----------------------------------------------------------------


def test_validation_errors_are_one_line_json(client):
    res = client.post("/v1/analyze", data={"window": "abc"})
    assert res.status_code == 400 and set(res.json()) == {"error"}
    assert "file: Field required" in res.json()["error"] and "window:" in res.json()["error"]
    res = client.post(
        "/v1/text", content=b"{texts: [", headers={"Content-Type": "application/json"}
    )
    assert res.status_code == 400 and res.json() == {"error": "the body is not valid JSON"}
    res = client.post("/v1/text", json={"texts": "not a list"})
    assert res.status_code == 400 and res.json()["error"].startswith("texts:")
    assert client.get("/nowhere").json() == {"error": "Not Found"}


def test_empty_filename_does_not_echo_the_upload(client):
    res = client.post("/v1/analyze", files={"file": ("", b"PRIVATE-BYTES" * 100)})
    assert res.status_code == 400, res.text
    assert "PRIVATE" not in res.text and "file:" in res.json()["error"]


@pytest.mark.parametrize(("field", "value"), [("fps", "nan"), ("window", "inf"), ("fps", "-1")])
def test_non_finite_options_are_400(client, video, field, value):
    res = client.post("/v1/analyze", files={"file": ("clip.mp4", video.read_bytes())},
                      data={field: value})  # fmt: skip
    assert res.status_code == 400, res.text
    assert f"{field} must be a finite number > 0" in res.json()["error"]


def test_lone_surrogates_in_text_are_cleaned(client):
    body = b'{"texts": ["I am \\ud800 glad", "\\udcff"]}'  # valid JSON, not valid Unicode
    res = client.post("/v1/text", content=body, headers={"Content-Type": "application/json"})
    assert res.status_code == 200, res.text
    assert len(res.json()["predictions"]) == 2


def test_text_caps(client):
    res = client.post("/v1/text", json={"texts": ["x"] * 257})
    assert res.status_code == 413 and "over the limit of 256" in res.json()["error"]
    res = client.post("/v1/text", json={"texts": ["fine", "y" * 2001]})
    assert res.status_code == 413
    assert res.json()["error"] == "text 1 has 2001 characters, over the limit of 2000"


def test_silent_audio_is_422(client, tmp_path):
    import wave

    path = tmp_path / "quiet.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(bytes(2 * 16000))
    res = client.post("/v1/analyze", files={"file": ("quiet.wav", path.read_bytes())})
    assert res.status_code == 422
    assert res.json()["error"].startswith("nothing to recognise in quiet.wav: ")
    assert "voice: too short" in res.json()["error"] or "voice: silent" in res.json()["error"]


def test_image_bomb_upload_is_refused_from_its_header(client):
    from tests.fixtures import png_bytes

    res = client.post("/v1/analyze", files={"file": ("bomb.png", png_bytes(20000, 20000, 4))})
    assert res.status_code == 422
    assert res.json()["error"] == (
        "bomb.png: 20000x20000 pixels is over the limit of 50 megapixels"
    )


def test_warnings_reach_the_json(client, video, tmp_path):
    srt = tmp_path / "late.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhi\n\n2\n00:00:09,000 --> 00:00:10,000\nx\n")
    with video.open("rb") as f, srt.open("rb") as t:
        res = client.post(
            "/v1/analyze", files={"file": ("clip.mp4", f), "transcript": ("late.srt", t)}
        )
    assert res.status_code == 200, res.text
    assert any("after the end of the media" in w for w in res.json()["info"]["warnings"])
