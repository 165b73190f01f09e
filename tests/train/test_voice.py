"""Smoke tests of the voice recipe (training, CV, noise) on a generated RAVDESS-layout folder."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from emofuse.errors import DataError, UsageError
from emofuse.models.voice_cnn import VoiceCNNConfig, VoiceModel
from emofuse.train import voice as recipe
from emofuse.train.voice import cross_validate_voice, evaluate_voice, train_voice

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
    assert meta["config"]["n_classes"] == 8 and len(meta["preprocessing"]["native_labels"]) == 8
    assert meta["preprocessing"]["label_merge"]["calm"] == "neutral"
    assert {"sample_rate", "n_fft", "hop", "n_mels", "max_seconds"} <= set(meta["preprocessing"])
    assert {"data", "selection", "label_mapping", "epochs", "recipe"} <= set(meta["training"])
    val = meta["metrics"]["validation"]
    expected = {"accuracy", "weighted_f1", "macro_f1", "per_class", "ece_before", "ece_after"}
    assert expected <= set(val)
    assert val["n"] == 8 and summary["validation"]["n"] == 8
    assert {"accuracy", "macro_f1", "confusion_matrix"} <= set(val["native"])
    assert meta["temperature"] == pytest.approx(summary["temperature"])
    assert meta["temperature"] > 0

    model = VoiceModel.load(tmp_path / "voice")
    probs = model.predict_proba([_tone(300.0, 1.5)])
    assert probs.shape == (1, 7)
    metrics = evaluate_voice(tmp_path / "voice", ravdess_root, actors=[3])
    assert metrics["n"] == 8 and {"accuracy", "macro_f1", "ece"} <= set(metrics)
    assert metrics["accuracy"] == pytest.approx(val["accuracy"])
    assert metrics["native"]["accuracy"] == pytest.approx(val["native"]["accuracy"])
    noisy = evaluate_voice(tmp_path / "voice", ravdess_root, actors=[3], snr_db=10.0)
    assert noisy["snr_db"] == 10.0 and noisy["n"] == 8


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


def test_fixed_epochs_on_all_actors_takes_cv_temperature(ravdess_root, tmp_path):
    cv = {"protocol": {"folds": [[1], [2]]}, "summary": {"temperature": 1.8, "accuracy": 0.5}}
    (tmp_path / "cv.json").write_text(json.dumps(cv))
    summary = train_voice(
        ravdess_root,
        tmp_path / "voice",
        train_actors=[1, 2, 3],
        epochs=1,
        batch_size=8,
        config=TINY,
        n_variants=2,
        progress=False,
        cv_json=tmp_path / "cv.json",
    )
    assert summary["validation"] is None and summary["temperature"] == pytest.approx(1.8)
    meta = json.loads((tmp_path / "voice" / "model.json").read_text())
    assert meta["temperature"] == pytest.approx(1.8)
    assert meta["metrics"]["cv"] == cv["summary"]
    assert meta["training"]["selection"].startswith("none")
    assert "24 clips" in meta["training"]["data"]


def _cv(root: Path, out: Path, **kw) -> dict:
    args = {"folds": 3, "actors": [1, 2, 3], "epochs": 1, "batch_size": 8, "config": TINY}
    return cross_validate_voice(root, out, n_variants=2, progress=False, **{**args, **kw})


def test_cross_validation_writes_folds_summary_and_resumes(ravdess_root, tmp_path, monkeypatch):
    out = tmp_path / "cv" / "cv.json"
    calls = []
    fit = recipe._fit
    monkeypatch.setattr(recipe, "_fit", lambda *a, **k: calls.append(1) or fit(*a, **k))
    first = _cv(ravdess_root, out, only_folds=[2])
    assert set(first["folds"]) == {"2"} and len(calls) == 1
    result = _cv(ravdess_root, out)  # resumes: fold 2 is kept, folds 1 and 3 are trained
    assert len(calls) == 3
    assert result["folds"]["2"] == first["folds"]["2"]
    on_disk = json.loads(out.read_text())
    assert on_disk == json.loads(json.dumps(result))
    assert on_disk["protocol"]["folds"] == [[1], [2], [3]]
    for k, fold in on_disk["folds"].items():
        assert fold["test_actors"] == [int(k)] and int(k) not in fold["train_actors"]
        assert fold["n_test"] == 8 and fold["n_train"] == 16 and fold["temperature"] > 0
        assert set(fold["conditions"]) == {"clean", "snr_20db", "snr_10db"}
        clean = fold["conditions"]["clean"]
        assert np.array(clean["native"]["confusion_matrix"]).shape == (8, 8)
        assert np.array(clean["canonical"]["confusion_matrix"]).shape == (7, 7)
        assert clean["native"]["n"] == 8 and "weighted_f1" in clean["canonical"]
    summary = on_disk["summary"]
    assert summary["n_folds"] == 3
    acc = summary["clean"]["native"]["accuracy"]
    per_fold = [on_disk["folds"][k]["conditions"]["clean"]["native"]["accuracy"] for k in "123"]
    assert acc["mean"] == pytest.approx(np.mean(per_fold))
    assert acc["std"] == pytest.approx(np.std(per_fold, ddof=1))
    assert {"mean", "std"} <= set(summary["snr_10db"]["canonical"]["macro_f1"])
    calib = summary["calibration"]
    temps = [on_disk["folds"][k]["temperature"] for k in "123"]
    assert calib["temperature_applied"][0] == pytest.approx(np.mean(temps[1:]))  # cross-fitted
    assert {"ece_before", "ece_after"} <= set(calib["canonical"]) | set(calib["native"])
    assert summary["temperature"] == pytest.approx(np.mean(temps))
    assert summary["temperature_per_fold"] == pytest.approx(temps)
    native8 = summary["native8"]
    assert native8["accuracy_mean"] == pytest.approx(acc["mean"])
    assert native8["accuracy_std"] == pytest.approx(acc["std"])
    assert {"accuracy_snr20_mean", "accuracy_snr10_mean", "ece_after_mean"} <= set(native8)
    canon = summary["canonical7"]
    assert summary["accuracy"] == pytest.approx(canon["accuracy_mean"])
    assert summary["ece_after_mean"] == pytest.approx(calib["canonical"]["ece_after"]["mean"])
    assert summary["n"] == 24 and "3-fold" in summary["protocol"]

    _cv(ravdess_root, out)  # everything done: nothing is trained again
    assert len(calls) == 3
    with pytest.raises(UsageError, match="another protocol"):
        _cv(ravdess_root, out, epochs=2)


def test_actor_folds_are_contiguous_groups():
    folds = recipe.actor_folds(range(1, 21), 5)
    assert folds == [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
        [13, 14, 15, 16],
        [17, 18, 19, 20],
    ]
    assert all(sum(a % 2 for a in f) == 2 for f in folds)  # 2 male (odd) + 2 female
    with pytest.raises(UsageError):
        recipe.actor_folds([1, 2], 3)


@pytest.mark.parametrize("snr", [20.0, 10.0])
def test_noise_at_the_requested_snr(snr):
    rng = np.random.default_rng(0)
    waves = [rng.normal(0, 0.2, 16000).astype(np.float32), _tone(440.0, 2.0)]
    noisy = recipe._noisy(waves, snr, seed=3)
    for w, n in zip(waves, noisy, strict=True):
        ratio = np.mean(w.astype(np.float64) ** 2) / np.mean((n - w).astype(np.float64) ** 2)
        assert 10 * np.log10(ratio) == pytest.approx(snr, abs=0.01)
    again = recipe._noisy(waves, snr, seed=3)
    np.testing.assert_array_equal(noisy[0], again[0])  # seeded
    assert not np.array_equal(noisy[0], recipe._noisy(waves, snr, seed=4)[0])
    assert recipe._noisy(waves, None, seed=3)[1] is waves[1]


def test_merge_matrix_sums_calm_into_neutral():
    m = recipe.merge_matrix()
    assert m.shape == (8, 7) and (m.sum(axis=1) == 1).all()
    assert recipe.NATIVE[:2] == ("neutral", "calm") and m[:2, 0].tolist() == [1.0, 1.0]
    assert recipe.to_canonical_index(np.arange(8)).tolist() == [0, 0, 1, 2, 3, 4, 5, 6]


def test_feature_bank_first_variant_is_clean_and_seeded():
    waves = [_tone(300.0, 1.0), _tone(500.0, 1.5)]
    prep = recipe.PREPROCESSING
    bank = recipe.feature_bank(waves, prep, 3, seed=0)
    assert len(bank) == 2 and all(len(v) == 3 for v in bank)
    clean = recipe.log_mel(waves[1], 16000, prep["n_fft"], prep["hop"], prep["n_mels"])
    np.testing.assert_allclose(bank[1][0].float(), clean, atol=0.05)
    again = recipe.feature_bank(waves, prep, 3, seed=0)
    for a, b in zip(again[1], bank[1], strict=True):
        assert torch.equal(a, b)
