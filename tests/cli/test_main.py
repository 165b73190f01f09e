"""The CLI end to end (Typer runner) with tiny random models."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from emofuse import __version__
from emofuse.cli import app
from emofuse.inference.recognizer import Recognizer
from tests.fixtures import write_speech_wav, write_tiny_video

runner = CliRunner()


@pytest.fixture(autouse=True)
def tiny_default(tiny_models, monkeypatch):
    monkeypatch.setattr(Recognizer, "default", classmethod(lambda cls: cls(tiny_models)))


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "clip.mp4"
    return write_tiny_video(path, seconds=2, with_audio=True, speech=True)


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and __version__ in res.output


def test_analyze_json_and_csv(video, tmp_path):
    res = runner.invoke(app, ["analyze", str(video), "--window", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (
        len(data["segments"]) == 2 and data["segments"][0]["modalities"]["voice"]["status"] == "ok"
    )

    out = tmp_path / "t.csv"
    res = runner.invoke(app, ["analyze", str(video), "--format", "csv", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "label" in pd.read_csv(out).columns


def test_analyze_table_and_text():
    res = runner.invoke(app, ["analyze", "--text", "We won the cup!"])
    assert res.exit_code == 0, res.output
    assert "We won the cup!" in res.stdout
    assert all(label in res.stdout for label in Recognizer.default().labels)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["analyze", "nope.mp4"], 1, "file not found"),
        (["analyze", "pyproject.toml"], 2, "unsupported"),
        (["analyze", "--text", "   "], 1, "empty text"),
        (["analyze"], 2, "file or --text"),
        (["analyze", "nope.mp4", "--modalities", "smell"], 2, "unknown modalities"),
    ],
)
def test_bad_input_is_one_line_not_a_traceback(args, code, message):
    res = runner.invoke(app, args)
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    assert message in res.output.lower()


def test_predict_manifest_carries_on_after_bad_rows(tmp_path):
    write_speech_wav(tmp_path / "a.wav", seconds=1.0)
    (tmp_path / "corrupt.wav").write_bytes(b"not audio")
    pd.DataFrame(
        {
            "id": ["t1", "t2", "v1", "v2", "x"],
            "modality": ["text", "text", "voice", "voice", "smell"],
            "input": ["so happy!", "", "a.wav", "corrupt.wav", "rose"],
        }
    ).to_csv(tmp_path / "m.csv", index=False)
    res = runner.invoke(
        app, ["predict", "--manifest", str(tmp_path / "m.csv"), "-o", str(tmp_path / "p.csv")]
    )
    assert res.exit_code == 0, res.output
    preds = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert list(preds["id"]) == ["t1", "t2", "v1", "v2", "x"]
    errors = dict(zip(preds["id"], preds["error"]))
    assert errors["t1"] == errors["v1"] == ""
    assert "empty text" in errors["t2"] and "corrupt.wav" in errors["v2"] and "smell" in errors["x"]
    assert {f"p_{lab}" for lab in Recognizer.default().labels} <= set(preds.columns)
    assert "3 failed" in res.output


def test_info_lists_models():
    res = runner.invoke(app, ["info"])
    assert res.exit_code == 0 and "neutral" in res.output
