"""VoiceCNN / VoiceModel: tiny builds, artefact round trip, variable lengths, chunking, errors."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from emofuse.errors import DataError, UsageError
from emofuse.labels import CANONICAL, MAPPINGS
from emofuse.models.artifact import ModelMeta, save_model
from emofuse.models.calibration import softmax
from emofuse.models.registry import ARCHITECTURES
from emofuse.models.voice_cnn import (
    DEFAULT_DIR,
    VoiceCNN,
    VoiceCNNConfig,
    VoiceModel,
    chunk_wave,
    join_networks,
    pad_batch,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
RAVDESS = SHARED / "data" / "ravdess"
SR = 16000
TINY = VoiceCNNConfig(n_mels=16, channels=[4, 8], embed=8, attention=4)
PREP = {
    "sample_rate": SR,
    "n_fft": 400,
    "hop": 160,
    "n_mels": 16,
    "trim_top_db": 40.0,
    "max_seconds": 2.0,
}


def _wave(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype("f4")


@pytest.fixture
def tiny_model() -> VoiceModel:
    torch.manual_seed(0)
    net = VoiceCNN(TINY)
    meta = ModelMeta(
        name="tiny",
        modality="voice",
        architecture="voice_cnn",
        config=asdict(TINY),
        labels=list(CANONICAL),
        preprocessing=dict(PREP),
        temperature=1.7,
    )
    return VoiceModel(net, meta)


def test_joined_networks_average_their_probabilities_and_keep_padding_masked(tmp_path):
    torch.manual_seed(1)
    a, b = VoiceCNN(TINY).eval(), VoiceCNN(TINY).eval()
    joined = join_networks([a, b])
    x, lengths = pad_batch([torch.randn(16, 40), torch.randn(16, 25)])
    with torch.no_grad():
        mean = (a(x, lengths).softmax(-1) + b(x, lengths).softmax(-1)) / 2
        out = joined(x, lengths)
        alone = joined(x[1:, :, :, :25], lengths[1:])
    assert torch.allclose(out.exp(), mean, atol=1e-6)
    assert torch.allclose(out[1], alone[0], atol=1e-5)
    meta = ModelMeta(
        name="tiny-ensemble",
        modality="voice",
        architecture="voice_cnn",
        config=asdict(joined.config),
        labels=list(CANONICAL),
        preprocessing=dict(PREP),
    )
    save_model(joined, meta, tmp_path / "ens")
    loaded = VoiceModel.load(tmp_path / "ens", backend="torch")
    assert loaded.module.config.members == 2
    wave = _wave(1.0)
    one = VoiceModel(a, ModelMeta(**{**asdict(meta), "config": asdict(TINY)}))
    other = VoiceModel(b, ModelMeta(**{**asdict(meta), "config": asdict(TINY)}))
    expected = (one.predict_proba([wave]) + other.predict_proba([wave])) / 2
    assert np.allclose(loaded.predict_proba([wave]), expected, atol=1e-5)


def test_only_single_networks_of_one_shape_join():
    other = VoiceCNNConfig(n_mels=16, channels=[4, 8], embed=12, attention=4)
    with pytest.raises(DataError, match="same config"):
        join_networks([VoiceCNN(TINY), VoiceCNN(other)])
    with pytest.raises(DataError, match="two or more"):
        join_networks([VoiceCNN(TINY)])


def test_registered_and_tiny_forward():
    assert ARCHITECTURES["voice_cnn"] is VoiceCNN
    net = VoiceCNN(TINY).eval()
    assert net(torch.randn(2, 1, 16, 50)).shape == (2, 7)
    assert net(torch.randn(3, 16, 37), torch.tensor([37, 20, 8])).shape == (3, 7)


def test_padding_is_masked_in_pooling():
    net = VoiceCNN(TINY).eval()
    x, lengths = pad_batch([torch.randn(16, 40), torch.randn(16, 24)])
    assert x.shape == (2, 1, 16, 40) and lengths.tolist() == [40, 24]
    with torch.no_grad():
        a = net(x, lengths)
        x[1, :, :, 24:] = 100.0  # garbage in the padded frames: normalisation must ignore it
        b = net(x, lengths)
    torch.testing.assert_close(a, b)
    assert torch.isfinite(b).all()


def test_save_load_round_trip(tiny_model, tmp_path):
    save_model(tiny_model.module, tiny_model.meta, tmp_path / "voice")
    loaded = VoiceModel.load(tmp_path / "voice")
    assert loaded.labels == list(CANONICAL)
    assert loaded.meta.temperature == pytest.approx(1.7)
    waves = [_wave(1.0), _wave(2.5, 1)]
    np.testing.assert_array_equal(tiny_model.predict_proba(waves), loaded.predict_proba(waves))


def test_variable_lengths_independent_of_batch(tiny_model):
    waves = [_wave(0.4), _wave(1.3, 1), _wave(5.0, 2)]
    probs = tiny_model.predict_proba(waves)
    assert probs.shape == (3, 7) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    for w, p in zip(waves, probs, strict=True):
        np.testing.assert_allclose(tiny_model.predict_proba([w])[0], p, atol=1e-6)
    assert tiny_model.predict_proba(np.stack([_wave(1.0), _wave(1.0, 3)])).shape == (2, 7)


def test_long_wave_is_chunked_and_averaged(tiny_model):
    wave = _wave(30.0)
    assert [len(c) for c in chunk_wave(wave, 2 * SR)] == [2 * SR] * 29
    logits = tiny_model.chunk_logits([wave])[0]
    assert logits.shape == (29, 7)
    expected = softmax(logits, tiny_model.meta.temperature).mean(axis=0)
    np.testing.assert_allclose(tiny_model.predict_proba([wave])[0], expected, atol=1e-6)


def test_too_short_empty_and_bad_input(tiny_model):
    assert tiny_model.predict_proba([]).shape == (0, 7)
    with pytest.raises(DataError, match="audio too short"):
        tiny_model.predict_proba([_wave(1.0), _wave(0.1)])
    with pytest.raises(DataError, match="audio too short"):
        tiny_model.predict_proba([np.zeros(0, dtype="f4")])
    with pytest.raises(DataError, match="mono"):
        tiny_model.predict_proba([np.zeros((2, SR), dtype="f4")])
    with pytest.raises(UsageError):
        tiny_model.predict_proba(_wave(1.0))


def test_silent_wave_is_not_trimmed_away(tiny_model):
    probs = tiny_model.predict_proba([np.zeros(SR, dtype="f4")])
    assert np.isfinite(probs).all()


def test_default_config_under_10_mb(tmp_path):
    net = VoiceCNN(VoiceCNNConfig())
    n_bytes = sum(p.numel() * p.element_size() for p in net.state_dict().values())
    assert n_bytes < 10e6
    meta = ModelMeta(
        name="x",
        modality="voice",
        architecture="voice_cnn",
        config=asdict(VoiceCNNConfig()),
        labels=list(CANONICAL),
    )
    save_model(net, meta, tmp_path)
    assert (tmp_path / "model.safetensors").stat().st_size < 10e6


def test_missing_folder_is_data_error(tmp_path):
    with pytest.raises(DataError):
        VoiceModel.load(tmp_path)


@pytest.mark.integration
def test_shipped_weights_beat_chance_on_unseen_actors():
    if not (DEFAULT_DIR / "model.json").is_file():
        pytest.skip(f"no shipped voice weights in {DEFAULT_DIR}")
    if not RAVDESS.is_dir():
        pytest.skip(f"RAVDESS not found at {RAVDESS} (../shared is absent)")
    from emofuse.train.voice import evaluate_voice

    cv = VoiceModel.load(DEFAULT_DIR).meta.metrics.get("cv")
    if cv is not None:  # trained on all 20 actors: its unseen-actor figure is the CV one
        assert cv["n"] == 1200 and cv["canonical7"]["accuracy_mean"] > 0.35
        assert evaluate_voice(DEFAULT_DIR, RAVDESS, actors=[20])["n"] == 60  # plumbing only
        return
    metrics = evaluate_voice(DEFAULT_DIR, RAVDESS, actors=range(17, 21))
    assert metrics["n"] == 240
    assert metrics["accuracy"] > 0.35  # chance is 1/7 (0.24 always guessing neutral)


MERGE = dict(MAPPINGS["ravdess"])  # native RAVDESS label -> canonical (calm -> neutral)
NATIVE = list(MERGE)


@pytest.fixture
def native_model() -> VoiceModel:
    torch.manual_seed(1)
    config = VoiceCNNConfig(n_mels=16, channels=[4, 8], embed=8, attention=4, n_classes=8)
    meta = ModelMeta(
        name="tiny-native",
        modality="voice",
        architecture="voice_cnn",
        config=asdict(config),
        labels=list(CANONICAL),
        preprocessing={**PREP, "native_labels": NATIVE, "label_merge": MERGE},
        temperature=1.3,
    )
    return VoiceModel(VoiceCNN(config), meta)


def test_native_network_merges_calm_into_neutral(native_model):
    waves = [_wave(1.0), _wave(2.5, 1), _wave(5.0, 2)]
    native = native_model.predict_native_proba(waves)
    probs = native_model.predict_proba(waves)
    assert native.shape == (3, 8) and probs.shape == (3, 7)
    assert native_model.labels == list(CANONICAL) and native_model.native_labels == NATIVE
    np.testing.assert_allclose(probs[:, 0], native[:, 0] + native[:, 1], atol=1e-6)
    np.testing.assert_allclose(probs[:, 1:], native[:, 2:], atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    logits = native_model.chunk_logits(waves)
    assert all(lg.shape[1] == 8 for lg in logits)
    expected = softmax(logits[2], 1.3).mean(axis=0)  # temperature on the native logits
    np.testing.assert_allclose(native[2], expected, atol=1e-6)
    assert native_model.predict_proba([]).shape == (0, 7)
    assert native_model.predict(waves)[0] in CANONICAL


def test_native_artefact_round_trip(native_model, tmp_path):
    save_model(native_model.module, native_model.meta, tmp_path / "voice")
    loaded = VoiceModel.load(tmp_path / "voice")
    assert loaded.native_labels == NATIVE and loaded.meta.preprocessing["label_merge"] == MERGE
    waves = [_wave(1.2), _wave(3.0, 4)]
    np.testing.assert_array_equal(loaded.predict_proba(waves), native_model.predict_proba(waves))


def test_old_seven_class_artefact_behaves_as_before(tiny_model, tmp_path):
    save_model(tiny_model.module, tiny_model.meta, tmp_path / "voice")
    loaded = VoiceModel.load(tmp_path / "voice")
    assert loaded.native_labels is None and loaded.output_labels == list(CANONICAL)
    np.testing.assert_array_equal(loaded.merge_matrix(), np.eye(7))
    waves = [_wave(1.0), _wave(2.0, 5)]
    expected = np.stack([softmax(lg, 1.7).mean(axis=0) for lg in loaded.chunk_logits(waves)])
    np.testing.assert_allclose(loaded.predict_proba(waves), expected, atol=1e-6)
    with pytest.raises(UsageError, match="no native labels"):
        loaded.predict_native_proba(waves)


def test_bad_label_merge_is_data_error(native_model):
    native_model.meta.preprocessing["label_merge"] = {**MERGE, "calm": "serenity"}
    with pytest.raises(DataError, match="calm"):
        native_model.predict_proba([_wave(1.0)])


def test_native_network_on_onnx_backend(native_model, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from emofuse.models.onnx import export as onnx_export

    save_model(native_model.module, native_model.meta, tmp_path / "m" / "voice")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(onnx_export, "BENCH_SECONDS", 0.05)
        onnx_export.export_onnx(tmp_path / "m")
    waves = [_wave(1.0), _wave(9.0, 2)]
    torch_model = VoiceModel.load(tmp_path / "m" / "voice", backend="torch")
    onnx_model = VoiceModel.load(tmp_path / "m" / "voice", backend="onnx")
    np.testing.assert_allclose(
        onnx_model.predict_proba(waves), torch_model.predict_proba(waves), atol=1e-4
    )
    assert onnx_model.predict_native_proba(waves).shape == (2, 8)
