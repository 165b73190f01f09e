"""Batch prediction: engines agree, bad rows stay rows, manifests with segments, paths that
leave the folder, and resume after kill -9."""

import importlib.util
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from emofuse.errors import UsageError
from emofuse.inference.predict import predict_manifest
from emofuse.inference.recognizer import Recognizer
from emofuse.media.decode import load_audio, probe
from tests.features.test_store import ROOT, SUBPROCESS_ENV
from tests.fixtures import write_speech_wav, write_tiny_video


@pytest.fixture(scope="module")
def rec(tiny_models):
    return Recognizer(tiny_models)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("pred")
    write_speech_wav(root / "a.wav", seconds=1.0)
    (root / "bad.wav").write_bytes(b"not audio")
    ids = [f"t{i}" for i in range(5)] + ["v1", "v2", "empty"]
    modality = ["text"] * 5 + ["voice", "voice", "text"]
    inputs = ["so happy", "so sad", "how dare you", "oh no", "wow", "a.wav", "bad.wav", ""]
    pd.DataFrame({"id": ids, "modality": modality, "input": inputs}).to_csv(
        root / "m.csv", index=False
    )
    return root / "m.csv"


@pytest.fixture(scope="module")
def in_process(rec, manifest):
    return predict_manifest(rec, manifest, chunk=3)


def test_in_process_rows_and_errors(in_process):
    assert list(in_process["id"]) == ["t0", "t1", "t2", "t3", "t4", "v1", "v2", "empty"]
    errors = dict(zip(in_process["id"], in_process["error"]))
    assert errors["v1"] == "" and "bad.wav" in errors["v2"] and "empty text" in errors["empty"]
    assert in_process["modalities"].tolist()[:6] == ["text"] * 5 + ["voice"]


def test_rows_are_batched_by_modality_and_equal_one_at_a_time(rec, manifest, in_process):
    from emofuse.inference import predict as predict_module

    calls = []
    for name in ("predict_text", "predict_voice"):
        real = getattr(Recognizer, name)

        def spy(self, x, *a, _real=real, _name=name, **k):
            calls.append((_name, 1 if isinstance(x, str) else len(x)))
            return _real(self, x, *a, **k)

        setattr(rec, name, spy.__get__(rec))
    try:
        batched = predict_manifest(rec, manifest, chunk=8)
    finally:
        del rec.predict_text, rec.predict_voice
    assert sorted(calls) == [("predict_text", 5), ("predict_voice", 2)]  # one call each
    single = pd.DataFrame([predict_module.output_row(rec, item) for item in _items(manifest)])
    pd.testing.assert_frame_equal(batched, in_process)
    cols = [c for c in single.columns if c.startswith("p_")]
    np.testing.assert_allclose(
        batched[cols].to_numpy(float), single[cols].to_numpy(float), rtol=1e-5, atol=1e-6
    )
    assert list(batched["error"]) == list(single["error"].fillna(""))


def _items(manifest):
    from dataclasses import asdict

    from emofuse.inference.batch_input import read_items

    return [asdict(item) for item in read_items(manifest)]


def test_process_pool_equals_in_process(rec, manifest, in_process):
    pooled = predict_manifest(rec, manifest, workers=2, chunk=3)
    pd.testing.assert_frame_equal(pooled, in_process)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_equals_in_process(rec, manifest, in_process):
    rayed = predict_manifest(rec, manifest, engine="ray", workers=2, chunk=3)
    pd.testing.assert_frame_equal(rayed, in_process)


def test_unknown_engine_and_output_folder(rec, manifest, tmp_path):
    with pytest.raises(UsageError, match="engine"):
        predict_manifest(rec, manifest, engine="spark")
    with pytest.raises(UsageError, match="is a folder"):
        predict_manifest(rec, manifest, output=tmp_path)


def test_malformed_rows_and_escaping_paths_are_reported_per_row(rec, tmp_path):
    root = tmp_path / "job"
    root.mkdir()
    write_speech_wav(root / "a.wav", seconds=1.0)
    write_speech_wav(tmp_path / "outside.wav", seconds=1.0)
    (root / "link.wav").symlink_to(tmp_path / "outside.wav")
    lines = [
        b"id,modality,input",
        b"ok,voice,a.wav",
        b"fields,voice,a.wav,surplus",
        b"bytes,text,caf\xe9",
        b"smell,smell,rose",
        b"up,voice,../outside.wav",
        b"abs,voice," + str(tmp_path / "outside.wav").encode(),
        b"link,voice,link.wav",
        b'"quoted, ok",voice,a.wav',
    ]
    (root / "m.csv").write_bytes(b"\n".join(lines) + b"\n")
    out = predict_manifest(rec, root / "m.csv")
    errors = dict(zip(out["id"], out["error"]))
    assert list(out["id"]) == ["ok", "", "", "smell", "up", "abs", "link", "quoted, ok"]
    assert errors["ok"] == errors["quoted, ok"] == ""
    bad_fields, bad_bytes = out["error"][1], out["error"][2]
    assert "m.csv:3" in bad_fields and "4 fields" in bad_fields
    assert "m.csv:4" in bad_bytes and "not valid UTF-8" in bad_bytes
    assert "unknown modality 'smell'" in errors["smell"]
    for row in ("up", "abs", "link"):
        assert "outside the manifest's folder" in errors[row] and "--allow-outside" in errors[row]
    allowed = predict_manifest(rec, root / "m.csv", allow_outside=True)
    ok = dict(zip(allowed["id"], allowed["error"]))
    assert ok["up"] == ok["abs"] == ok["link"] == ""
    assert allowed.loc[allowed["id"] == "up", "label"].item() == (
        rec.predict_voice(tmp_path / "outside.wav").label
    )


def test_manifest_with_columns_segments_and_fusion(rec, tmp_path):
    write_speech_wav(tmp_path / "a.wav", seconds=2.0)
    write_tiny_video(tmp_path / "v.mp4", seconds=2, with_audio=True, speech=True)
    rows = [
        {"id": "seg", "audio": "a.wav", "start": 0.5, "end": 1.5},
        {"id": "whole", "audio": "a.wav"},
        {"id": "both", "audio": "a.wav", "text": "what a lovely day"},
        {"id": "video", "video": "v.mp4", "start": 0.0, "end": 1.5},
        {"id": "late", "audio": "a.wav", "start": 5.0, "end": 6.0},
        {"id": "backwards", "audio": "a.wav", "start": 1.0, "end": 0.5},
        {"id": "nothing", "label": "happy"},
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = predict_manifest(rec, tmp_path / "m.jsonl").set_index("id")
    assert out.loc[["seg", "whole", "both", "video"], "error"].tolist() == [""] * 4
    wave = load_audio(tmp_path / "a.wav", 16000, start=0.5, end=1.5)
    assert wave.size == 16000
    seg = rec.predict_voice(wave)
    assert out.loc["seg", "label"] == seg.label
    assert out.loc["seg", "p_anger"] == seg.probabilities["anger"]
    assert out.loc["both", "modalities"] == "text+voice"
    voice = rec.predict_voice(tmp_path / "a.wav").probabilities
    text = rec.predict_text(["what a lovely day"])[0].probabilities
    p = {
        m: np.array([d[lab] for lab in rec.labels])[None]
        for m, d in (("voice", voice), ("text", text))
    }
    fused = rec.fusion.predict_proba(p)[0]
    got = out.loc["both", [f"p_{lab}" for lab in rec.labels]].to_numpy(float)
    np.testing.assert_allclose(got, fused, atol=1e-6)
    assert out.loc["video", "modalities"] == "voice"  # the sliding square is not a face
    assert "too short" in out.loc["late", "error"] or "silent" in out.loc["late", "error"]
    assert "end 0.5 <= start 1.0" in out.loc["backwards", "error"]
    assert "no text, audio, image or video" in out.loc["nothing", "error"]


def test_video_row_equals_analyze(rec, tmp_path):
    write_tiny_video(tmp_path / "v.mp4", seconds=2, with_audio=True, speech=True)
    pd.DataFrame({"id": ["v"], "modality": ["video"], "input": ["v.mp4"]}).to_csv(
        tmp_path / "m.csv", index=False
    )
    row = predict_manifest(rec, tmp_path / "m.csv").iloc[0]
    duration = probe(tmp_path / "v.mp4").duration  # one window: the whole clip
    fused = rec.analyze(tmp_path / "v.mp4", window=duration).segments[0].fused
    assert row["error"] == "" and row["label"] == fused.label
    assert row["p_neutral"] == fused.probabilities["neutral"]


KILLED = """
import time
from emofuse.inference.recognizer import Recognizer
from emofuse.inference.predict import predict_manifest

slow = Recognizer.predict_voice
def predict_voice(self, *a, **k):
    time.sleep(0.3)
    return slow(self, *a, **k)
Recognizer.predict_voice = predict_voice
predict_manifest(Recognizer({models!r}), {manifest!r}, chunk=2, output={output!r})
"""


def _voice_manifest(root, n):
    write_speech_wav(root / "a.wav", seconds=1.0)
    write_speech_wav(root / "b.wav", seconds=1.5)
    (root / "bad.wav").write_bytes(b"not audio")
    inputs = [("a.wav", "b.wav", "bad.wav")[i % 3] for i in range(n)]
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "modality": "voice", "input": inputs})
    frame.loc[n + 1] = ["broken", "voice", "../../etc/passwd"]
    frame.to_csv(root / "m.csv", index=False)
    return root / "m.csv"


def test_kill_9_mid_run_then_resume(rec, tiny_models, tmp_path, monkeypatch):
    n = 14
    manifest = _voice_manifest(tmp_path, n)
    output = tmp_path / "out" / "preds.csv"
    journal = output.parent / ".preds.csv.partial.jsonl"
    script = KILLED.format(models=str(tiny_models), manifest=str(manifest), output=str(output))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=SUBPROCESS_ENV)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # header + the bad row + >= 2 chunks of 2 rows
        if journal.is_file() and len(journal.read_text().splitlines()) >= 6:
            break
        assert proc.poll() is None, "predict ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not output.exists()  # never a half-written output
    done = {json.loads(line)["i"] for line in journal.read_text().splitlines()[1:]}
    assert 5 <= len(done) < n + 1
    with journal.open("a") as f:
        f.write('{"i": 99, "row": {"id": "tor')  # a torn last line
    calls = []
    real = Recognizer.predict_voice
    monkeypatch.setattr(
        Recognizer, "predict_voice", lambda self, x, **k: calls.extend(x) or real(self, x, **k)
    )
    resumed = predict_manifest(rec, manifest, chunk=2, output=output)
    assert len(calls) == n + 1 - len(done)  # rows already written are not recomputed
    assert not journal.exists()
    monkeypatch.setattr(Recognizer, "predict_voice", real)
    fresh = predict_manifest(rec, manifest, chunk=5, output=tmp_path / "fresh.csv")
    assert output.read_bytes() == (tmp_path / "fresh.csv").read_bytes()
    pd.testing.assert_frame_equal(resumed, fresh)
    assert "outside the manifest's folder" in resumed["error"].iloc[-1]


def test_a_journal_of_another_job_is_not_reused(rec, tmp_path):
    manifest = _voice_manifest(tmp_path, 3)
    output = tmp_path / "p.csv"
    journal = tmp_path / ".p.csv.partial.jsonl"
    journal.write_text('{"journal": {"manifest": "other"}}\n{"i": 0, "row": {"id": "forged"}}\n')
    out = predict_manifest(rec, manifest, output=output)
    assert out["id"].iloc[0] == "r0" and not journal.exists()


def test_any_bytes_give_rows_or_errors_never_a_crash(tmp_path):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    from emofuse.errors import DataError
    from emofuse.inference.batch_input import read_items

    header = st.sampled_from([b"id,modality,input\n", b"id,text,audio,start,end\n", b""])
    cell = st.binary(max_size=12) | st.sampled_from([b'"a,b"', b"..", b"/etc/x", b"nan", b"-1"])
    line = st.lists(cell, max_size=6).map(lambda cs: b",".join(cs))

    @hypothesis.settings(max_examples=80, deadline=None)
    @hypothesis.given(header, st.lists(line, max_size=8), st.sampled_from([".csv", ".jsonl"]))
    def check(head, lines, suffix):
        path = tmp_path / f"m{suffix}"
        path.write_bytes(head + b"\n".join(lines))
        try:
            items = read_items(path)
        except DataError:
            return  # e.g. an empty file or no id column: one clear error
        for it in items:
            assert it.error or it.inputs
            for kind, value in it.inputs.items():
                if kind != "text":
                    assert value.startswith(str(tmp_path))  # never outside the folder

    check()
