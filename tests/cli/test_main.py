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


def test_predict_allow_outside(tmp_path):
    (tmp_path / "job").mkdir()
    write_speech_wav(tmp_path / "a.wav", seconds=1.0)
    (tmp_path / "job" / "m.csv").write_text("id,modality,input\nv,voice,../a.wav\n")
    args = ["predict", "--manifest", str(tmp_path / "job" / "m.csv"), "-o", str(tmp_path / "p.csv")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "1 failed" in res.output, res.output
    assert "--allow-outside" in pd.read_csv(tmp_path / "p.csv")["error"][0]
    res = runner.invoke(app, [*args, "--allow-outside"])
    assert res.exit_code == 0 and "1 predicted, 0 failed" in res.output, res.output
    assert not list(tmp_path.glob(".p.csv*"))  # the journal is gone once the CSV is written


def test_info_lists_models():
    res = runner.invoke(app, ["info"])
    assert res.exit_code == 0 and "neutral" in res.output


@pytest.mark.parametrize(
    ("option", "value"),
    [("--fps", "nan"), ("--fps", "inf"), ("--window", "nan"), ("--window", "-inf")],
)
def test_non_finite_options_are_one_line_usage_errors(video, option, value):
    res = runner.invoke(app, ["analyze", str(video), option, value])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "must be a finite number > 0" in res.output


def test_output_folder_is_a_one_line_error(video, tmp_path):
    res = runner.invoke(app, ["analyze", str(video), "--format", "json", "-o", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert "is a folder; give a file name" in res.output and "Traceback" not in res.output
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,modality,input\nt1,text,hello\n")
    res = runner.invoke(app, ["predict", "--manifest", str(manifest), "-o", str(tmp_path)])
    assert res.exit_code == 2 and "is a folder" in res.output, res.output


def test_undecodable_text_argument_is_cleaned():
    res = runner.invoke(app, ["analyze", "--text", "caf\udce9 was lovely"])  # non-UTF-8 argv
    assert res.exit_code == 0, res.output
    assert "caf\ufffd was lovely" in res.stdout


def test_silent_audio_exits_1(tmp_path):
    import wave

    path = tmp_path / "silent.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(bytes(2 * 16000 * 2))
    res = runner.invoke(app, ["analyze", str(path), "--format", "json"])
    assert res.exit_code == 1, res.output
    assert "nothing to recognise" in res.output and "voice: silent" in res.output


def test_warnings_go_to_stderr(tmp_path):
    from tests.fixtures import truncate

    full = write_speech_wav(tmp_path / "full.wav", seconds=2.0)
    cut = truncate(full, 0.6, tmp_path / "cut.wav")
    res = runner.invoke(app, ["analyze", str(cut), "--window", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "warning: truncated file" in res.stderr
    assert json.loads(res.stdout)["info"]["warnings"]


def test_analyze_timeline_plot_and_html(video, tmp_path):
    png, page = tmp_path / "timeline.png", tmp_path / "timeline.html"
    args = ["analyze", str(video), "--window", "1", "--plot", str(png)]
    res = runner.invoke(app, [*args, "--format", "html", "-o", str(page)])
    assert res.exit_code == 0, res.output
    assert png.read_bytes().startswith(b"\x89PNG")
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
