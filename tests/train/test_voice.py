"""Smoke test of the voice recipe on a generated RAVDESS-layout folder of synthetic tones."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from safetensors.numpy import load_file

from emofuse.errors import DataError
from emofuse.models.voice_cnn import VoiceCNNConfig, VoiceModel
from emofuse.train.voice import evaluate_voice, train_voice

SR = 16000
TINY = VoiceCNNConfig(channels=[4, 8], embed=8, attention=4)


def _tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = 0.4 * np.sin(2 * np.pi * freq * t)
    x[: SR // 5] = 0.0  # leading silence, trimmed by the recipe
    return x.astype(np.float32)


def _write(path: Path, x: np.ndarray) -> None:
    pcm = (x * 32767).astype("<i2")
    if path.suffix == ".wav":
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SR)
            w.writeframes(pcm.tobytes())
        return
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=SR)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = SR
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture(scope="module")
def ravdess_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ravdess")
    for actor in (1, 2, 3):
        (root / f"Actor_{actor:02d}").mkdir()
        for emo in range(1, 9):
            ext = ".flac" if (emo + actor) % 2 else ".wav"
            name = f"03-01-{emo:02d}-01-01-01-{actor:02d}{ext}"
            _write(root / f"Actor_{actor:02d}" / name, _tone(150.0 * emo + 10 * actor))
    return root


def _train(root: Path, out: Path) -> dict:
    return train_voice(
        root,
        out,
        train_actors=[1, 2],
        val_actors=[3],
        epochs=1,
        batch_size=8,
        config=TINY,
        progress=False,
    )


def test_one_epoch_writes_a_loadable_artefact(ravdess_root, tmp_path):
    summary = _train(ravdess_root, tmp_path / "voice")
    assert {p.name for p in (tmp_path / "voice").iterdir()} == {"model.json", "model.safetensors"}
    meta = json.loads((tmp_path / "voice" / "model.json").read_text())
    assert meta["architecture"] == "voice_cnn" and meta["modality"] == "voice"
    assert meta["labels"][0] == "neutral" and len(meta["labels"]) == 7
    assert {"sample_rate", "n_fft", "hop", "n_mels", "max_seconds"} <= set(meta["preprocessing"])
    assert {"data", "selection", "label_mapping", "epochs", "recipe"} <= set(meta["training"])
    val = meta["metrics"]["validation"]
    expected = {"accuracy", "weighted_f1", "macro_f1", "per_class", "ece_before", "ece_after"}
    assert expected <= set(val)
    assert val["n"] == 8 and summary["validation"]["n"] == 8
    assert meta["temperature"] == pytest.approx(summary["temperature"])
    assert meta["temperature"] > 0

    model = VoiceModel.load(tmp_path / "voice")
    probs = model.predict_proba([_tone(300.0, 1.5)])
    assert probs.shape == (1, 7)
    metrics = evaluate_voice(tmp_path / "voice", ravdess_root, actors=[3])
    assert metrics["n"] == 8 and {"accuracy", "macro_f1", "ece"} <= set(metrics)
    assert metrics["accuracy"] == pytest.approx(val["accuracy"])


def test_deterministic_for_a_seed(ravdess_root, tmp_path):
    _train(ravdess_root, tmp_path / "a")
    _train(ravdess_root, tmp_path / "b")
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_overlapping_actors_rejected(ravdess_root, tmp_path):
    with pytest.raises(DataError, match="overlap"):
        train_voice(ravdess_root, tmp_path, train_actors=[1, 2], val_actors=[2], epochs=1)
